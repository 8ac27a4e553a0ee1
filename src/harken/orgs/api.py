from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from harken.authority import Authority, Tier, org_of
from harken.deps import Hub, HubDep, authority_of
from harken.errors import Unauthenticated
from harken.orgs.models import Org

T = TypeVar("T")

_bearer = HTTPBearer(
    auto_error=False, description="An org API key (`hk_…`), as printed by `harken org create`."
)


@dataclass(frozen=True)
class OrgCall:
    """An org API call's unit of work: the org its key speaks for (authenticated before the request's
    body was read, `deps.Authenticate`), and the work, in one transaction."""

    hub: Hub
    authority: Authority

    async def __call__(self, work: Callable[[Session, Org], T]) -> T:
        return await self.hub.run(lambda session: work(session, org_of(session, self.authority)))


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
