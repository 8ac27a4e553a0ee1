"""Request dependencies: the hub's shared parts, the clock, and who is calling."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harken import authority
from harken.authority import Authority
from harken.centre.mail import Mailer
from harken.clock import Clock
from harken.config import Settings
from harken.db import session_scope
from harken.decisions.memory import Memory
from harken.errors import Unauthenticated
from harken.ledger.keys import KeyRing
from harken.ledger.service import Notary
from harken.problems import error_response
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


class Checked:
    """Credentials this process has checked, by their digest (never the credential), the most recently
    used kept: a bounded LRU. Only successes are kept, so unknown bearers cannot grow it. An entry says
    only that the credential was good once; whether it still is, each request's own unit of work says
    (`authority.org_of`, `authority.holder`). Used from the event loop only."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._known: OrderedDict[str, Authority] = OrderedDict()

    def get(self, name: str, now: datetime) -> Authority | None:
        """The authority remembered under `name`, unless it has expired by `now` (then it is checked
        afresh, and refused before the body is read)."""
        found = self._known.get(name)
        if found is None:
            return None
        if found.expires_at is not None and found.expires_at <= now:
            del self._known[name]
            return None
        self._known.move_to_end(name)
        return found

    def put(self, name: str, found: Authority) -> None:
        self._known[name] = found
        self._known.move_to_end(name)
        while len(self._known) > self.size:
            self._known.popitem(last=False)

    def forget(self, name: str) -> None:
        self._known.pop(name, None)

    def __len__(self) -> int:
        return len(self._known)


_RECHECK = frozenset({400, 401, 415, 422})  # refused by its unit of work, or the body before it ran
CHECKED = 4096  # credentials remembered per process: a few per org or live session is plenty


class Authenticate:
    """Authenticates every `/v1/` request but the public ones before anything reads its body, and puts
    the authority in the request's state. Pure ASGI: nothing is buffered.

    A credential seen for the first time (or unknown) is checked against the database on a pool thread;
    one checked before is taken from `checked` with no thread hop and no read. That is safe because the
    request's unit of work checks liveness again in its own transaction. A remembered credential revoked
    since reaches validation before its unit refuses it, so its answer may be a refusal of its body (400,
    415, 422) once: a 401 or such a refusal drops the credential here, and the next request with it is
    checked (and refused) before its body is read."""

    def __init__(self, app: ASGIApp, *, hub: Hub, remember: int = CHECKED) -> None:
        self.app, self.hub = app, hub
        self.checked = Checked(remember)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/v1/") or path.startswith(PUBLIC):
            await self.app(scope, receive, send)
            return
        if path.startswith("/v1/me"):
            send = pointing_to_metadata(send, f"{self.hub.issuer}/.well-known/oauth-protected-resource")
        bearer = _bearer(scope)
        name = "" if bearer is None else authority.digest(bearer)
        try:
            if bearer is None:
                raise Unauthenticated(
                    "send an org API key (`hk_…`) or a customer token as `Authorization: Bearer …`"
                )
            found = self.checked.get(name, self.hub.clock())
            if found is None:
                found = await run_in_threadpool(self.hub.read, self._check(bearer))
                self.checked.put(name, found)
        except Unauthenticated as refused:
            await error_response(refused)(scope, receive, send)
            return
        scope.setdefault("state", {})[_KEY] = found
        await self.app(scope, receive, self._forgetting_refused(name, send))

    def _check(self, bearer: str) -> Callable[[Session], Authority]:
        hub = self.hub
        return lambda session: authority.authenticate(
            session, secret=hub.secret, bearer=bearer, now=hub.clock()
        )

    def _forgetting_refused(self, name: str, send: Send) -> Send:
        async def forgetting(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in _RECHECK:
                self.checked.forget(name)
            await send(message)

        return forgetting


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            return credential.strip() or None if scheme.lower() == "bearer" else None
    return None


def pointing_to_metadata(send: Send, metadata: str) -> Send:
    """A 401 says where an agent finds how to get a token (RFC 9728 §5.1): `metadata`, the URL of the
    resource's protected-resource metadata."""
    pointer = f'resource_metadata="{metadata}"'.encode()

    async def pointing(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 401:
            headers = list(message.get("headers", []))
            said = next((v for k, v in headers if k.lower() == b"www-authenticate"), b"Bearer")
            challenge = b"Bearer " + pointer if said == b"Bearer" else said + b", " + pointer
            headers = [(k, v) for k, v in headers if k.lower() != b"www-authenticate"]
            message = {**message, "headers": [*headers, (b"www-authenticate", challenge)]}
        await send(message)

    return pointing
