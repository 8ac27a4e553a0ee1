"""The customer's rights through the API. Access: everything about a customer in one JSON document,
for the customer (`/v1/me/export`, through the window of the org whose app holds the token) and for
an org answering its customer's request (`/v1/subjects/{ref}/export`). Erasure: an org passing on its
customer's request (`DELETE /v1/subjects/{ref}`)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from harken import erasure
from harken.centre import export
from harken.deps import Now
from harken.errors import PROBLEM_RESPONSES
from harken.orgs.api import Call
from harken.orgs.models import Org
from harken.subjects import service as subject_service
from harken.subjects.api import Me, MeErase
from harken.subjects.schemas import Ref
from harken.subjects.viewer import Viewer

router = APIRouter(responses=PROBLEM_RESPONSES)


class Erased(BaseModel):
    scope: Literal["this-business", "everywhere"] = Field(
        description="What was erased: one business's part (an org, or a customer token), or the whole "
        "person at every business they linked (only the verified person)."
    )
    businesses: list[str] = Field(description="The businesses whose records of the person were erased.")


@router.get("/v1/me/export", tags=["me"])
async def export_me(me: Me, now: Now) -> dict[str, Any]:
    """Everything held about me that this window may see — through a business's app, that business's
    part; as the verified person, everything — with provenance, times and consent receipts."""

    def work(session: Session, window: Viewer) -> dict[str, Any]:
        return export.document(session, window, now, issuer=me.hub.settings.public_url, keys=me.hub.keys)

    return await me(work)


@router.delete("/v1/me", response_model=Erased, tags=["me"])
async def erase_me(me: MeErase, now: Now) -> Erased:
    """Erase me. Through a business's app: what that business holds, and my relationship with it; as the
    verified person: everything, at every business I linked (each is told with `subject.erased`)."""

    def work(session: Session, window: Viewer) -> Erased:
        if window.org_id is None:
            told = erasure.erase_person(session, subject_id=window.subject_id, notary=me.hub.notary, now=now)
            return Erased(scope="everywhere", businesses=sorted({org.name for org, _ in told}))
        org = session.get_one(Org, window.org_id)
        ref = me.authority.ref
        assert ref is not None
        erasure.end_relationship(session, org=org, ref=ref, notary=me.hub.notary, now=now)
        return Erased(scope="this-business", businesses=[org.name])

    return await me(work)


@router.get("/v1/subjects/{ref}/export", tags=["subjects"])
async def export_subject(ref: Ref, call: Call, now: Now) -> dict[str, Any]:
    """A customer's access request: everything you hold about them or they share with you, with
    provenance, times and consent receipts, to hand to them."""

    def work(session: Session, org: Org) -> dict[str, Any]:
        subject = subject_service.alive(session, org=org, ref=ref)
        viewer = Viewer(subject.subject_id, org.id)
        return export.document(session, viewer, now, issuer=call.hub.settings.public_url, keys=call.hub.keys)

    return await call(work)


@router.delete("/v1/subjects/{ref}", response_model=Erased, tags=["subjects"])
async def erase_subject(ref: Ref, call: Call, now: Now) -> Erased:
    """Your customer asked you to erase them: everything held under your ref is erased (their data key
    destroyed, what they told or did with you deleted), your ref stays a tombstone (410 from now on),
    and you are told with `subject.erased`. This ends your relationship only: what the person keeps
    with other businesses is theirs to erase, from their Preference Centre. Consent records and the
    ledger stay as proof, unreadable."""

    def work(session: Session, org: Org) -> Erased:
        erasure.end_relationship(session, org=org, ref=ref, notary=call.hub.notary, now=now)
        return Erased(scope="this-business", businesses=[org.name])

    return await call(work)
