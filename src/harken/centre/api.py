"""The customer's rights through the API. Access: everything about a customer in one JSON document,
for the customer (`/v1/me/export`, through the window of the org whose app holds the token) and for
an org answering its customer's request (`/v1/subjects/{ref}/export`). Erasure: an org passing on its
customer's request (`DELETE /v1/subjects/{ref}`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from harken import erasure
from harken.centre import export
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
        return export.document(session, viewer, now, issuer=me.hub.settings.public_url, keys=me.hub.keys)

    return await me(work)


@router.get("/v1/subjects/{ref}/export", tags=["subjects"])
async def export_subject(ref: Ref, call: Call, now: Now) -> dict[str, Any]:
    """A customer's access request: everything you hold about them or they share with you, with
    provenance, times and consent receipts, to hand to them."""

    def work(session: Session, org: Org) -> dict[str, Any]:
        subject = subject_service.get(session, org=org, ref=ref)
        viewer = centre.Viewer(subject.subject_id, org.id, csrf="")
        return export.document(session, viewer, now, issuer=call.hub.settings.public_url, keys=call.hub.keys)

    return await call(work)


@router.delete("/v1/subjects/{ref}", status_code=204, tags=["subjects"])
async def erase_subject(ref: Ref, call: Call, now: Now) -> Response:
    """Your customer asked to be erased: their data key is destroyed and everything they told or did
    deleted, at every business (each is told with `subject.erased`). Consent records and the ledger
    stay as proof, unreadable. Later decisions about them are "don't send" (`subject.erased`)."""

    def work(session: Session, org: Org) -> None:
        subject = subject_service.get(session, org=org, ref=ref)
        erasure.erase(session, subject_id=subject.subject_id, notary=call.hub.notary, now=now)

    await call(work)
    return Response(status_code=204)
