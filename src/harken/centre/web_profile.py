"""The Preference Centre's Preferences and My data pages."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, time, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from harken.authority import Power, Tier
from harken.centre import export, signin
from harken.centre import service as centre
from harken.centre.forms import FormInvalid, problems
from harken.centre.visit import PageError, Visit, VisitDep, customer_zone, download, text_field
from harken.consent.schemas import Channel
from harken.context import service as context_service
from harken.context.schemas import PreferencesPatch, Situation, time_zones
from harken.context.service import StoredFact
from harken.decisions.gates import FITTING_CHANNELS
from harken.errors import Invalid
from harken.subjects import service as subject_service
from harken.subjects import tokens
from harken.subjects.viewer import Viewer

AFFINITY = {"like": 1.0, "dislike": -0.5, "never": -1.0}
NOVELTY = {"never": 0.0, "sometimes": 0.5, "often": 1.0}

TOKEN_LIFETIME = timedelta(hours=1)
router = APIRouter(prefix="/centre", include_in_schema=False)

# ---- preferences ---------------------------------------------------------------------------------


def _preferences(visit: Visit) -> Callable[[Session, Viewer], dict[str, Any]]:
    def build(session: Session, viewer: Viewer) -> dict[str, Any]:
        mine = centre.declared(centre.facts(session, viewer, visit.now))
        return {
            "interests": {
                k.partition(":")[2]: f.value["affinity"]
                for k, f in sorted(mine.items())
                if k.startswith("interest:")
            },
            "channels": {
                c.value: (mine[f"channel:{c.value}"].value if f"channel:{c.value}" in mine else None)
                for c in Channel
            },
            "quiet_hours": mine["quiet_hours"].value if "quiet_hours" in mine else None,
            "time_zone": mine["time_zone"].value["value"] if "time_zone" in mine else "",
            "life_events": {
                k.partition(":")[2]: f.value for k, f in sorted(mine.items()) if k.startswith("life_event:")
            },
            "novelty": mine["novelty"].value["value"] if "novelty" in mine else None,
            "situations": {
                s.value: {"channels": _suits(mine, s.value), "default": _key(s.value) not in mine}
                for s in Situation
            },
            "zones": sorted(z for z in time_zones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))),
        }

    return build


def _key(situation: str) -> str:
    return f"situation_channels:{situation}"


def _suits(mine: Mapping[str, StoredFact], situation: str) -> list[str]:
    """The channels that suit the customer in a situation: their word, else Harken's default."""
    said = mine.get(_key(situation))
    fitting = said.value["channels"] if said else FITTING_CHANNELS.get(situation, ())
    return [c.value for c in Channel if c.value in fitting]


@router.get("/preferences")
async def preferences_page(visit: VisitDep) -> Response:
    return await visit.page("preferences.html", _preferences(visit))


def _form_field(location: tuple[Any, ...]) -> str:
    """The Preferences form field a problem is about: `channels.sms.max_per_week` is `limit-sms`."""
    head, *rest = (str(part) for part in location)
    if head == "quiet_hours":
        return rest[0] if rest and rest[0] in ("start", "end") else "end"  # "start and end must differ"
    if head == "channels" and rest:
        return f"limit-{rest[0]}"
    if head == "life_events":
        return rest[1] if len(rest) > 1 and rest[1] in ("label", "topics", "until") else "label"
    if head == "interests":
        return "topic"
    if head == "situation_channels" and rest:
        return f"situation-{rest[0]}"
    return head


def _preference_form(
    visit: Visit, patch: Callable[[Mapping[str, Any], Mapping[str, StoredFact]], dict[str, Any]]
) -> Callable[[], Awaitable[Response]]:
    async def handle() -> Response:
        form = await visit.request.form()
        now = visit.now

        def work(session: Session, viewer: Viewer) -> str:
            mine = centre.declared(centre.facts(session, viewer, now))
            try:
                body = PreferencesPatch.model_validate(patch(form, mine))
                changes = context_service.preference_changes(body, now)
            except (ValidationError, Invalid) as refused:
                raise FormInvalid(problems(refused, _form_field)) from refused
            centre.declare(session, viewer, changes, visit.hub.notary, now)
            return "/centre/preferences?done=saved"

        return await visit.act(work, template="preferences.html", build=_preferences(visit))

    return handle


@router.post("/preferences/interests")
async def set_interest(visit: VisitDep) -> Response:
    def patch(form: Mapping[str, Any], _mine: Mapping[str, StoredFact]) -> dict[str, Any]:
        topic = (text_field(form.get("topic")) or "").strip().lower()
        choice = text_field(form.get("affinity"))
        if choice not in (*AFFINITY, "remove"):
            raise Invalid("affinity", "invalid.choose")
        return {"interests": {topic: AFFINITY.get(choice or "")}}

    return await _preference_form(visit, patch)()


@router.post("/preferences/channels")
async def set_channels(visit: VisitDep) -> Response:
    def patch(form: Mapping[str, Any], _mine: Mapping[str, StoredFact]) -> dict[str, Any]:
        channels = {}
        for channel in Channel:
            limit = (text_field(form.get(f"limit-{channel.value}")) or "").strip()
            channels[channel.value] = {
                "allowed": form.get(f"allowed-{channel.value}") == "on",
                "max_per_week": int(limit) if limit.isdigit() else (limit or None),
            }
        return {"channels": channels}

    return await _preference_form(visit, patch)()


@router.post("/preferences/situations")
async def set_situations(visit: VisitDep) -> Response:
    """Which channels suit which situation. Only rows that differ from what the page showed are
    written, so a situation left as Harken's default keeps following the default; "reset" removes
    every one the customer set."""

    def patch(form: Mapping[str, Any], mine: Mapping[str, StoredFact]) -> dict[str, Any]:
        if form.get("reset"):
            return {"situation_channels": {s.value: None for s in Situation if _key(s.value) in mine}}
        chosen = {}
        for situation in Situation:
            picked = [c.value for c in Channel if form.get(f"suits-{situation.value}-{c.value}") == "on"]
            if picked != _suits(mine, situation.value):
                chosen[situation.value] = picked
        return {"situation_channels": chosen}

    return await _preference_form(visit, patch)()


@router.post("/preferences/quiet-hours")
async def set_quiet_hours(visit: VisitDep) -> Response:
    """Quiet hours and the time zone: both times, or neither (no quiet hours); the zone on its own too."""

    def patch(form: Mapping[str, Any], mine: Mapping[str, StoredFact]) -> dict[str, Any]:
        if form.get("clear"):
            return {"quiet_hours": None}
        start, end, zone = (
            (text_field(form.get(name)) or "").strip() for name in ("start", "end", "time_zone")
        )
        if bool(start) != bool(end):
            raise Invalid("end" if start else "start", "invalid.both_times")
        hours: dict[str, Any] = {}
        if start:
            hours = {"quiet_hours": {"start": start, "end": end}}
        elif "quiet_hours" in mine:  # both emptied: no quiet hours any more
            hours = {"quiet_hours": None}
        if not hours and not zone:
            raise Invalid("start", "invalid.quiet_hours_or_zone")
        return {**hours, **({"time_zone": zone} if zone else {})}

    return await _preference_form(visit, patch)()


@router.post("/preferences/life-events")
async def add_life_event(visit: VisitDep) -> Response:
    def patch(form: Mapping[str, Any], mine: Mapping[str, StoredFact]) -> dict[str, Any]:
        label = (text_field(form.get("label")) or "").strip()
        key = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:64] or "event"
        until, zone = text_field(form.get("until")) or "", customer_zone(mine)
        try:
            day = datetime.fromisoformat(until).date()
        except ValueError:
            raise Invalid("until", "invalid.date") from None
        return {
            "life_events": {
                key: {
                    "label": label,
                    "topics": [
                        t.strip().lower()
                        for t in (text_field(form.get("topics")) or "").split(",")
                        if t.strip()
                    ],
                    "until": datetime.combine(day, time(0, 0), tzinfo=zone).isoformat(),
                }
            }
        }

    return await _preference_form(visit, patch)()


@router.post("/preferences/life-events/{key}/remove")
async def remove_life_event(key: str, visit: VisitDep) -> Response:
    return await _preference_form(visit, lambda form, mine: {"life_events": {key: None}})()


@router.post("/preferences/surprise")
async def set_surprise(visit: VisitDep) -> Response:
    def patch(form: Mapping[str, Any], _mine: Mapping[str, StoredFact]) -> dict[str, Any]:
        choice = text_field(form.get("novelty")) or ""
        if choice not in NOVELTY:
            raise Invalid("novelty", "invalid.choose")
        return {"novelty": NOVELTY[choice]}

    return await _preference_form(visit, patch)()


# ---- my data -------------------------------------------------------------------------------------


def _data(visit: Visit) -> Callable[[Session, Viewer], dict[str, Any]]:
    def build(session: Session, viewer: Viewer) -> dict[str, Any]:
        return {"erasure": centre.erasure_requested(session, viewer), "token": None}

    return build


@router.get("/data")
async def data_page(visit: VisitDep) -> Response:
    return await visit.page("data.html", _data(visit))


@router.post("/data/token")
async def create_token(visit: VisitDep) -> Response:
    """A `/v1/me` token (`hp_…`) for the verified person's own app, valid for an hour: shown once, on
    this page (never in a URL), only its id stored."""
    form = await visit.request.form()
    visit.same_origin()
    hub, now = visit.hub, visit.now

    def build(session: Session, viewer: Viewer) -> dict[str, Any]:
        if not signin.same_token(text_field(form.get("csrf")), viewer.csrf):
            raise PageError(403, "error.csrf")
        viewer.require(Power.tokens)
        token = subject_service.issue_token(
            session,
            tier=Tier.person,
            subject_id=viewer.subject_id,
            org_id=None,
            ref=None,
            ttl=TOKEN_LIFETIME,
            now=now,
        )
        shown = {"token": tokens.mint(hub.secret, Tier.person, token.id), "expires_at": token.expires_at}
        return {**_data(visit)(session, viewer), "token": shown}

    return await visit.page("data.html", build)


@router.get("/data/export")
async def export_data(visit: VisitDep) -> Response:
    hub, now = visit.hub, visit.now

    def unit(session: Session) -> dict[str, Any]:
        viewer = visit.viewer_in(session)
        return export.document(session, viewer, now, issuer=hub.settings.public_url, keys=hub.keys)

    document = await visit.guarded(unit)
    return download(document, f"harken-my-data-{now:%Y-%m-%d}.json")


@router.post("/data/erase")
async def request_erasure(visit: VisitDep) -> Response:
    form = await visit.request.form()

    def work(session: Session, viewer: Viewer) -> str:
        if form.get("confirm") != "on":
            raise Invalid("confirm", "invalid.confirm")
        centre.request_erasure(session, viewer, notary=visit.hub.notary, now=visit.now)
        # Erased, the customer's sessions are gone with everything else; through an org's window, not.
        return "/centre/data?done=erasure" if viewer.org_id else "/centre/sign-in?done=erased"

    return await visit.act(work, template="data.html", build=_data(visit))
