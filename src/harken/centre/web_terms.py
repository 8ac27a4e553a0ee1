"""The Preference Centre's "My terms" page (MyTerms, IEEE 7012): choose an agreement of the roster and
offer it to every business you deal with or some; see who accepted what, who offered an alternative and
who declined; withdraw. Every change goes through `harken.terms.service`, so its signatures, ledger
entries and gates all apply."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from harken.authority import Power
from harken.centre.forms import FormInvalid, problems
from harken.centre.visit import Visit, VisitDep, path_id, text_field
from harken.errors import Invalid
from harken.subjects.viewer import Viewer
from harken.terms import roster
from harken.terms import service as terms_service

router = APIRouter(prefix="/centre", include_in_schema=False)
EVERY = "all"  # the form's choice of every business the person deals with


def _terms(visit: Visit, form: FormData | None = None) -> Callable[[Session, Viewer], dict[str, Any]]:
    """The page: the roster, the businesses to offer terms to, and each proffer with its answer."""

    def build(session: Session, viewer: Viewer) -> dict[str, Any]:
        businesses = terms_service.linked(session, viewer)
        return {
            "agreements": list(roster.AGREEMENTS.values()),
            "businesses": [(org.id, org.name) for org, _, _ in businesses],
            "proffers": terms_service.shown(session, terms_service.proffers_of(session, viewer)),
            "titles": {a.id: a.title for a in roster.AGREEMENTS.values()},
            "form": form or FormData({"to": EVERY}),
        }

    return build


@router.get("/terms")
async def terms_page(visit: VisitDep) -> Response:
    return await visit.page("terms.html", _terms(visit))


@router.post("/terms")
async def proffer(visit: VisitDep) -> Response:
    form = await visit.request.form()

    def work(session: Session, viewer: Viewer) -> str:
        viewer.require(Power.terms)  # as POST /v1/me/terms: a business's app may not
        try:
            chosen = text_field(form.get("agreement")) or ""
            if roster.find(chosen) is None:
                raise Invalid("agreement", "invalid.choose")
            org_ids = None
            if text_field(form.get("to")) != EVERY:
                org_ids = [_org_id(o) for o in form.getlist("orgs") if isinstance(o, str)]
                if not org_ids:
                    raise Invalid("orgs", "invalid.terms_to")
            terms_service.proffer(
                session,
                viewer,
                agreement_id=chosen,
                org_ids=org_ids,
                notary=visit.hub.notary,
                issuer=visit.hub.issuer,
                now=visit.now,
            )
        except Invalid as refused:
            raise FormInvalid(
                {name.split("[")[0]: found for name, found in problems(refused).items()}
            ) from refused
        return "/centre/terms?done=proffered"

    return await visit.act(work, template="terms.html", build=_terms(visit, form))


@router.post("/terms/{proffer_id}/withdraw")
async def withdraw(proffer_id: str, visit: VisitDep) -> Response:
    """Withdraw a proffer, answered or not; another person's is not found."""
    found: uuid.UUID = path_id(proffer_id)

    def work(session: Session, viewer: Viewer) -> str:
        viewer.require(Power.terms)
        terms_service.withdraw(session, viewer, found, notary=visit.hub.notary, now=visit.now)
        return "/centre/terms?done=withdrawn"

    return await visit.act(work, template="terms.html", build=_terms(visit))


def _org_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Invalid("orgs", "invalid.choose") from None
