"""The Preference Centre's Shares page (the travel pass): tell several businesses at once, each only the
fields it needs for its purpose, until the share expires or is taken back; and who read them. Every
change goes through `harken.shares.service`, so its rules, ledger entries and webhooks all apply."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from harken.authority import Power
from harken.centre import service as centre
from harken.centre.forms import FormInvalid, Problem, dotted, problems
from harken.centre.visit import Visit, VisitDep, customer_zone, path_id, text_field
from harken.consent.purposes import CATALOGUE
from harken.errors import Invalid
from harken.shares import service as shares_service
from harken.shares.schemas import LIVE_FIELDS, TRIP_FIELDS, SharePost, TripStatus
from harken.subjects.viewer import Viewer

# How long a share lasts, as the form offers it; the longest is the service's limit.
LASTS = {
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
    "3d": timedelta(days=3),
    "1w": timedelta(weeks=1),
    "30d": shares_service.LONGEST,
}
DEFAULT_LASTS = "1d"
SHARED = (*(f"trip.{name}" for name in TRIP_FIELDS), *LIVE_FIELDS)
UPPER = ("flight", "origin", "destination")  # codes people type in lower case as often as not
RECENT_READS = 20
GRANT_ERROR = re.compile(r"grants(?:\.|\[)(\d+)\]?\.(\w+)")

router = APIRouter(prefix="/centre", include_in_schema=False)


def _shares(visit: Visit, form: FormData | None = None) -> Callable[[Session, Viewer], dict[str, Any]]:
    """The page: the customer's shares, the form to make one (as sent, when it was refused), who read."""

    def build(session: Session, viewer: Viewer) -> dict[str, Any]:
        mine = centre.declared(centre.facts(session, viewer, visit.now))
        return {
            "shares": shares_service.listed(
                session, subject_id=viewer.subject_id, window_org_id=viewer.org_id, now=visit.now
            ),
            "reads": shares_service.list_uses(
                session, subject_ids=viewer.subject_ids, org_id=viewer.org_id, limit=RECENT_READS
            ),
            "directory": centre.directory(session),
            "purposes": list(CATALOGUE),
            "shared_fields": SHARED,
            "trip_fields": TRIP_FIELDS,
            "trip_statuses": [s.value for s in TripStatus],
            "lasts": list(LASTS),
            "zone": customer_zone(mine).key,
            "now": visit.now,
            "form": form or FormData({"expires": DEFAULT_LASTS}),
        }

    return build


@router.get("/shares")
async def shares_page(visit: VisitDep) -> Response:
    return await visit.page("shares.html", _shares(visit))


@router.post("/shares")
async def make_share(visit: VisitDep) -> Response:
    form = await visit.request.form()
    now = visit.now
    # A business gets the share when at least one of its fields is ticked.
    orgs = list(dict.fromkeys(k.removeprefix("fields-") for k in form if k.startswith("fields-")))

    def work(session: Session, viewer: Viewer) -> str:
        mine = centre.declared(centre.facts(session, viewer, now))
        try:
            body = SharePost.model_validate(
                {
                    "label": (text_field(form.get("label")) or "").strip() or None,
                    "trip": _trip(form, customer_zone(mine)),
                    "grants": [
                        {
                            "org": org,
                            "purpose": text_field(form.get(f"purpose-{org}")),
                            "fields": [f for f in form.getlist(f"fields-{org}") if isinstance(f, str)],
                        }
                        for org in orgs
                    ],
                    "expires_at": now + _lasts(text_field(form.get("expires"))),
                }
            )
            viewer.require(Power.shares)
            shares_service.create(
                session,
                subject_id=viewer.subject_id,
                window_org_id=viewer.org_id,
                body=body,
                notary=visit.hub.notary,
                now=now,
            )
        except (ValidationError, Invalid) as refused:
            names = {str(org): name for org, name in centre.directory(session)}
            raise FormInvalid(_named(problems(refused, dotted), orgs, names)) from refused
        return "/centre/shares?done=shared"

    return await visit.act(work, template="shares.html", build=_shares(visit, form))


def _lasts(choice: str | None) -> timedelta:
    if choice not in LASTS:
        raise Invalid("expires", "invalid.choose")
    return LASTS[choice]


def _trip(form: FormData, zone: ZoneInfo) -> dict[str, Any] | None:
    """The trip as typed, without the empty fields; the arrival is on the customer's clock."""
    trip: dict[str, Any] = {}
    for name in TRIP_FIELDS:
        value = (text_field(form.get(f"trip.{name}")) or "").strip()
        if value:
            trip[name] = value.upper() if name in UPPER else value
    if "arrives_at" in trip:
        try:
            trip["arrives_at"] = datetime.fromisoformat(trip["arrives_at"]).replace(tzinfo=zone)
        except ValueError:
            raise Invalid("trip.arrives_at", "invalid.date_time") from None
    return trip or None


def _named(errors: dict[str, Problem], orgs: list[str], names: dict[str, str]) -> dict[str, Problem]:
    """Errors under the form's own field names: a grant's (`grants[1].fields`) as its business's
    (`fields-<org id>`, the message naming the business); nothing ticked for anyone as `businesses`."""
    named = {}
    for name, (key, values) in errors.items():
        found = GRANT_ERROR.fullmatch(name)
        if found and int(found[1]) < len(orgs):
            org = orgs[int(found[1])]
            named[f"{found[2]}-{org}"] = (key, {**values, "business": names[org]} if org in names else values)
        elif name == "grants":
            named["businesses"] = ("invalid.businesses", {})
        elif name == "expires_at":
            named["expires"] = (key, values)
        else:
            named[name] = (key, values)
    return named


@router.post("/shares/{share_id}/revoke")
async def revoke_share(share_id: str, visit: VisitDep) -> Response:
    return await _revoke(visit, path_id(share_id), None)


@router.post("/shares/{share_id}/orgs/{org_id}/revoke")
async def revoke_share_from(share_id: str, org_id: str, visit: VisitDep) -> Response:
    return await _revoke(visit, path_id(share_id), path_id(org_id))


async def _revoke(visit: Visit, share_id: uuid.UUID, org_id: uuid.UUID | None) -> Response:
    """Take a share back from one business or from all; another customer's share is not found."""

    def work(session: Session, viewer: Viewer) -> str:
        viewer.require(Power.shares)  # as DELETE /v1/me/shares/...: a business's app may not
        shares_service.revoke(
            session,
            subject_id=viewer.subject_id,
            window_org_id=viewer.org_id,
            share_id=share_id,
            org_id=org_id,
            notary=visit.hub.notary,
            now=visit.now,
        )
        return "/centre/shares?done=unshared"

    return await visit.act(work, template="shares.html", build=_shares(visit))
