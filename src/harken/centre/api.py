"""Access requests through the API: everything about a customer in one JSON document, for the
customer (`/v1/me/export`, through the window of the org whose app holds the token) and for an org
answering its customer's request (`/v1/subjects/{ref}/export`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from harken.centre import service as centre
from harken.deps import Now
from harken.errors import PROBLEM_RESPONSES
from harken.orgs.api import Call
from harken.orgs.models import Org
from harken.subjects import service as subject_service
from harken.subjects.api import Customer, Me
from harken.subjects.schemas import Ref

router = APIRouter(responses=PROBLEM_RESPONSES)


@router.get("/v1/me/export", tags=["me"])
async def export_me(me: Me, now: Now) -> dict[str, Any]:
    """Everything this business holds about me or may see, with provenance, times and consent receipts."""

    def work(session: Session, customer: Customer) -> dict[str, Any]:
        viewer = centre.Viewer(customer.subject.subject_id, customer.org.id, csrf="")
        return centre.export(session, viewer, now, issuer=me.hub.settings.public_url, keys=me.hub.keys)

    return await me(work)


@router.get("/v1/subjects/{ref}/export", tags=["subjects"])
async def export_subject(ref: Ref, call: Call, now: Now) -> dict[str, Any]:
    """A customer's access request: everything you hold about them or they share with you, with
    provenance, times and consent receipts, to hand to them."""

    def work(session: Session, org: Org) -> dict[str, Any]:
        subject = subject_service.get(session, org=org, ref=ref)
        viewer = centre.Viewer(subject.subject_id, org.id, csrf="")
        return centre.export(session, viewer, now, issuer=call.hub.settings.public_url, keys=call.hub.keys)

    return await call(work)
