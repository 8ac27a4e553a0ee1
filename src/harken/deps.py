"""Request dependencies: the hub's shared parts, the clock, and who is calling."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from harken import authority
from harken.authority import Authority
from harken.centre.mail import Mailer
from harken.clock import Clock
from harken.config import Settings
from harken.db import session_scope
from harken.decisions.memory import Memory
from harken.errors import Unauthenticated, problem_response
from harken.ledger.keys import KeyRing
from harken.ledger.service import Notary
from harken.subjects import vault
from harken.writer import GroupWriter

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
    writer: GroupWriter | None = None
    memory: Memory = field(default_factory=Memory)

    @property
    def notary(self) -> Notary:
        return Notary(keys=self.keys, checkpoint_every=self.settings.checkpoint_every)

    @property
    def issuer(self) -> str:
        """The hub as the `iss` of what it signs for others to verify: its public URL."""
        return self.settings.public_url.rstrip("/")

    async def run(self, work: Callable[[Session], T]) -> T:
        """Run `work` as one unit of work — all or nothing, committed before this returns — so a 2xx
        means durable and nothing holds a lock while waiting for a thread. With a writer (on SQLite,
        every unit) the unit commits together with whatever else was waiting (`writer.GroupWriter`)."""
        if self.writer is not None:
            return await asyncio.wrap_future(self.writer.submit(work))
        return await run_in_threadpool(self._run, work)

    def read(self, work: Callable[[Session], T]) -> T:
        """Run `work` as a unit that only reads, on the calling thread and without taking SQLite's write
        lock (authentication, before the request's own unit)."""
        with self.sessions() as session:
            session.connection(execution_options={"harken_readonly": True})
            return work(vault.bind(session, self.secret))

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


# ---- who is calling -----------------------------------------------------------------------------


def authority_of(scope: Scope) -> Authority:
    """The authority `Authenticate` found for this request."""
    found = scope.get("state", {}).get(_KEY)
    if not isinstance(found, Authority):
        raise Unauthenticated("send an org API key or a customer token as `Authorization: Bearer …`")
    return found


_KEY = "harken.authority"
PUBLIC = ("/v1/purposes", "/v1/status-lists/", "/v1/ledger/heads")


class Authenticate:
    """Authenticates every `/v1/` request but the public ones before anything reads its body, and puts
    the authority in the request's state. Pure ASGI: nothing is buffered."""

    def __init__(self, app: ASGIApp, *, hub: Hub) -> None:
        self.app, self.hub = app, hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/v1/") or path.startswith(PUBLIC):
            await self.app(scope, receive, send)
            return
        bearer = _bearer(scope)
        try:
            if bearer is None:
                raise Unauthenticated(
                    "send an org API key (`hk_…`) or a customer token as `Authorization: Bearer …`"
                )
            authority = await run_in_threadpool(self.hub.read, self._check(bearer))
        except Unauthenticated as refused:
            response = problem_response(
                401, refused.slug, refused.title, refused.detail, headers={"WWW-Authenticate": "Bearer"}
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[_KEY] = authority
        await self.app(scope, receive, send)

    def _check(self, bearer: str) -> Callable[[Session], Authority]:
        hub = self.hub
        return lambda session: authority.authenticate(
            session, secret=hub.secret, bearer=bearer, now=hub.clock()
        )


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            return credential.strip() or None if scheme.lower() == "bearer" else None
    return None
