"""Request dependencies: the hub's shared parts and the clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from harken.centre.mail import Mailer
from harken.clock import Clock
from harken.config import Settings
from harken.db import session_scope
from harken.ledger.keys import KeyRing
from harken.ledger.service import Notary
from harken.subjects import vault

T = TypeVar("T")


@dataclass(frozen=True)
class Hub:
    """Everything a request may need that outlives it; built once by create_app."""

    settings: Settings
    sessions: sessionmaker[Session]
    keys: KeyRing
    secret: bytes
    clock: Clock
    mailer: Mailer
    writer: ThreadPoolExecutor | None = None

    @property
    def notary(self) -> Notary:
        return Notary(keys=self.keys, checkpoint_every=self.settings.checkpoint_every)

    @property
    def issuer(self) -> str:
        """The hub as the `iss` of what it signs for others to verify: its public URL."""
        return self.settings.public_url.rstrip("/")

    async def run(self, work: Callable[[Session], T]) -> T:
        """Run `work` as one unit of work — one transaction on one thread, committed when it returns —
        so a 2xx means durable and nothing holds a lock while waiting for a thread. On SQLite every
        unit runs on the single writer thread."""
        if self.writer is not None:
            return await asyncio.get_running_loop().run_in_executor(self.writer, self._run, work)
        return await run_in_threadpool(self._run, work)

    def _run(self, work: Callable[[Session], T]) -> T:
        with session_scope(self.sessions) as session:
            return work(vault.bind(session, self.secret))


# Dependencies are `async def` and do no I/O: FastAPI would run a plain `def` in the thread pool,
# and a request that hops between pool threads while holding a transaction (and, on SQLite, the
# write lock) stalls every other writer behind the hops (measured with py-spy under load).


async def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def get_now(hub: Annotated[Hub, Depends(get_hub)]) -> datetime:
    return hub.clock()


HubDep = Annotated[Hub, Depends(get_hub)]
Now = Annotated[datetime, Depends(get_now)]
