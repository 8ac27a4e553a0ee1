"""Shares over HTTP: the customer makes, lists and takes back shares (`/v1/me/shares`); a business reads
the one it was told of (`GET /v1/shares/{id}`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.authority import PERSON_ONLY
from harken.deps import Now
from harken.errors import PROBLEM_RESPONSES
from harken.orgs.api import Call
from harken.orgs.models import Org
from harken.shares import service
from harken.shares.schemas import Business, SharedWithYou, SharePost, ShareRead
from harken.subjects.api import Me, MeShares
from harken.subjects.viewer import Viewer

router = APIRouter(tags=["shares"], responses=PROBLEM_RESPONSES)


@router.get("/v1/me/directory", response_model=list[Business], tags=["me"])
async def directory(me: Me) -> list[Business]:
    """The businesses on this hub, which I may share with."""

    def work(session: Session, _window: Viewer) -> list[Business]:
        return [
            Business(id=i, name=n) for i, n in session.execute(select(Org.id, Org.name).order_by(Org.name))
        ]

    return await me(work)


@router.post("/v1/me/shares", response_model=ShareRead, status_code=201, tags=["me"], responses=PERSON_ONLY)
async def create_share(body: SharePost, me: MeShares, now: Now) -> ShareRead:
    """Tell several businesses at once, each only the fields it needs for its purpose, until
    `expires_at`. Only the verified person may (a business's app may not). Each business gets
    `share.updated` and reads the share with GET /v1/shares/{id}."""

    def work(session: Session, window: Viewer) -> ShareRead:
        share = service.create(
            session,
            subject_id=window.subject_id,
            window_org_id=window.org_id,
            body=body,
            notary=me.hub.notary,
            now=now,
        )
        return service.shown(session, [share], now=now)[0]

    return await me(work)


@router.get("/v1/me/shares", response_model=list[ShareRead], tags=["me"], responses=PERSON_ONLY)
async def my_shares(me: MeShares, now: Now) -> list[ShareRead]:
    """My shares, newest first, with who may still read them and how often they did."""
    return await me(
        lambda session, window: service.listed(
            session, subject_id=window.subject_id, window_org_id=window.org_id, now=now
        )
    )


@router.delete("/v1/me/shares/{share_id}", status_code=204, tags=["me"], responses=PERSON_ONLY)
async def revoke_share(share_id: uuid.UUID, me: MeShares, now: Now) -> Response:
    """Take the share back from every business: from the next read on, none of them sees it."""
    await me(lambda session, window: _revoke(session, window, share_id, None, me, now))
    return Response(status_code=204)


@router.delete("/v1/me/shares/{share_id}/orgs/{org_id}", status_code=204, tags=["me"], responses=PERSON_ONLY)
async def revoke_share_from(share_id: uuid.UUID, org_id: uuid.UUID, me: MeShares, now: Now) -> Response:
    """Take the share back from one business; the others keep theirs."""
    await me(lambda session, window: _revoke(session, window, share_id, org_id, me, now))
    return Response(status_code=204)


@router.get("/v1/shares/{share_id}", response_model=SharedWithYou)
async def read_share(share_id: uuid.UUID, call: Call, now: Now) -> SharedWithYou:
    """What a customer shares with you: only your fields, for your purpose, while the share lasts. Once
    it expired or was taken back: 404, as for a share that never named you. Every read is in the
    customer's access log."""
    return await call(
        lambda session, org: service.read(
            session, org=org, share_id=share_id, notary=call.hub.notary, now=now
        )
    )


def _revoke(
    session: Session,
    window: Viewer,
    share_id: uuid.UUID,
    org_id: uuid.UUID | None,
    me: MeShares,
    now: datetime,
) -> None:
    service.revoke(
        session,
        subject_id=window.subject_id,
        window_org_id=window.org_id,
        share_id=share_id,
        org_id=org_id,
        notary=me.hub.notary,
        now=now,
    )
