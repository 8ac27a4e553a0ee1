from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from harken.deps import Hub, HubDep
from harken.orgs import service as org_service
from harken.orgs.models import Org

T = TypeVar("T")

_bearer = HTTPBearer(
    auto_error=False, description="An org API key (`hk_…`), as printed by `harken org create`."
)


@dataclass(frozen=True)
class OrgCall:
    """An org API call's unit of work: authenticate the key and do the work in one transaction."""

    hub: Hub
    key: str | None

    async def __call__(self, work: Callable[[Session, Org], T]) -> T:
        return await self.hub.run(lambda session: work(session, org_service.authenticate(session, self.key)))


async def org_call(
    hub: HubDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> OrgCall:
    return OrgCall(hub, credentials.credentials if credentials else None)


Call = Annotated[OrgCall, Depends(org_call)]
