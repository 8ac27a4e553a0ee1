from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.routing import APIRouter
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.types import Scope

from harken.authority import Authority, Tier, org_of
from harken.deps import Hub, HubDep, authority_of
from harken.errors import PROBLEM_RESPONSES, Unauthenticated
from harken.orgs import service as org_service
from harken.orgs.models import ApiKey, Org
from harken.orgs.schemas import KeyCreated, KeyRead, RotatePost

T = TypeVar("T")

_bearer = HTTPBearer(
    auto_error=False, description="An org API key (`hk_…`), as printed by `harken org create`."
)


@dataclass(frozen=True)
class OrgCall:
    """An org API call's unit of work: the org its key speaks for (authenticated before the request's
    body was read, `deps.Authenticate`, and found still live in this transaction, `org_of`), and the
    work, in one transaction."""

    hub: Hub
    authority: Authority

    async def __call__(self, work: Callable[[Session, Org], T]) -> T:
        hub, found = self.hub, self.authority
        return await hub.run(lambda session: work(session, org_of(session, found, hub.clock())))

    @staticmethod
    def of(scope: Scope) -> OrgCall | None:
        """The call of a request authenticated with an org API key; None for any other caller (the
        `org_call` dependency refuses those)."""
        try:
            found = authority_of(scope)
        except Unauthenticated:
            return None
        if found.tier != Tier.org:
            return None
        return OrgCall(scope["app"].state.hub, found)


async def org_call(
    hub: HubDep,
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> OrgCall:
    found = authority_of(request.scope)
    if found.tier != Tier.org:
        raise Unauthenticated("this call needs an org API key (`hk_…`), not a customer token")
    return OrgCall(hub, found)


Call = Annotated[OrgCall, Depends(org_call)]


# An org's own API keys. Listing never shows a key; issuing and rotating show the new key once.

router = APIRouter(tags=["keys"], responses=PROBLEM_RESPONSES)


def _key(
    found: ApiKey, now: datetime, clear: str | None = None, replaces: uuid.UUID | None = None
) -> KeyRead:
    read = KeyRead(
        id=found.id,
        prefix=found.prefix,
        created_at=found.created_at,
        revoked_at=found.revoked_at,
        status=org_service.status(found, now),
    )
    return read if clear is None else KeyCreated(**read.model_dump(), key=clear, replaces=replaces)


@router.get("/v1/keys", response_model=list[KeyRead])
async def list_keys(call: Call) -> list[KeyRead]:
    """Your API keys, live and revoked, oldest first: their prefixes, never the keys."""
    now = call.hub.clock()
    return await call(lambda session, org: [_key(k, now) for k in org_service.keys(session, org=org)])


@router.post("/v1/keys", response_model=KeyCreated, status_code=201)
async def issue_key(call: Call) -> KeyRead:
    """One more API key, shown in this answer only. Recorded in your ledger chain as `key.issued`."""
    hub, now = call.hub, call.hub.clock()

    def work(session: Session, org: Org) -> KeyRead:
        found, clear = org_service.issue_key(session, org=org, by="org", notary=hub.notary, now=now)
        return _key(found, now, clear)

    return await call(work)


@router.delete(
    "/v1/keys/{key_id}",
    status_code=204,
    responses={409: {**PROBLEM_RESPONSES[404], "description": "The org's last live key (see allow_last)"}},
)
async def revoke_key(key_id: uuid.UUID, call: Call, allow_last: bool = False) -> None:
    """Revoke a key: the very next call with it gets 401. The key you call with may revoke itself. Your
    last key without an end date is refused (409) unless `allow_last=true`: without a key only the hub's
    operator can let you in again. Revoking a revoked key changes nothing. Recorded as `key.revoked`."""
    hub, now = call.hub, call.hub.clock()

    def work(session: Session, org: Org) -> None:
        org_service.revoke_key(
            session, org=org, key_id=key_id, by="org", notary=hub.notary, now=now, allow_last=allow_last
        )

    await call(work)


@router.post(
    "/v1/keys/{key_id}/rotate",
    response_model=KeyCreated,
    status_code=201,
    responses={409: {**PROBLEM_RESPONSES[404], "description": "The key is revoked or rotated already"}},
)
async def rotate_key(key_id: uuid.UUID, call: Call, body: RotatePost | None = None) -> KeyRead:
    """A new key (shown this once) replacing `key_id`, which keeps working for `grace_seconds` (none by
    default) and gets 401 from then on. Recorded as `key.issued` and `key.revoked`."""
    hub, now = call.hub, call.hub.clock()
    grace = timedelta(seconds=body.grace_seconds if body else 0)

    def work(session: Session, org: Org) -> KeyRead:
        found, clear = org_service.rotate_key(
            session, org=org, key_id=key_id, by="org", notary=hub.notary, now=now, grace=grace
        )
        return _key(found, now, clear, replaces=key_id)

    return await call(work)
