from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from harken.db import session_scope
from harken.deps import Hub, HubDep
from harken.orgs import service as org_service
from harken.orgs.models import Org

T = TypeVar("T")

_bearer = HTTPBearer(
    auto_error=False, description="An org API key (`hk_…`), as printed by `harken org create`."
)


@dataclass(frozen=True)
class OrgCall:
    """An org API call's unit of work: authenticate the key, do the work, commit — in one transaction
    on one thread, so a 2xx means durable and nothing holds a lock while waiting for a thread."""

    hub: Hub
    key: str | None

    async def __call__(self, work: Callable[[Session, Org], T]) -> T:
        if self.hub.writer is not None:
            return await asyncio.get_running_loop().run_in_executor(self.hub.writer, self._run, work)
        return await run_in_threadpool(self._run, work)

    def _run(self, work: Callable[[Session, Org], T]) -> T:
        with session_scope(self.hub.sessions) as session:
            return work(session, org_service.authenticate(session, self.key))


async def org_call(
    hub: HubDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> OrgCall:
    return OrgCall(hub, credentials.credentials if credentials else None)


Call = Annotated[OrgCall, Depends(org_call)]
