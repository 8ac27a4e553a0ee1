"""Every request counted and logged once, fast routes (`harken.fastpath`) and refusals by the
middlewares (401, 413, 429) included: a pure ASGI middleware, outermost, that sees only the status and
the time, never a body.

A request is named by its route template, found after routing (`scope["route"]`, which Starlette and
FastAPI set), else matched here for what a middleware answered before routing, else "unmatched" (a
404 for a path the hub has no route for): the path itself may hold a customer's ref, and would make
every customer a metric series of its own.

The request id: the client's `X-Request-ID` when it is sane (1-128 of `A-Za-z0-9._-`), else a new
one; on every answer, in its log line, and in the scope's state (`request_id`) for the app.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterable, Iterator

from starlette.routing import BaseRoute, Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.typing import FilteringBoundLogger

from harken.deps import authority_of
from harken.errors import Unauthenticated
from harken.observe import metrics

SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
HEADER = b"x-request-id"
STATE_KEY = "harken.request_id"
UNMATCHED = "unmatched"


class Instruments:
    def __init__(self, app: ASGIApp, *, router: Router, log: FilteringBoundLogger) -> None:
        self.app, self.router, self.log = app, router, log
        self._routes: list[BaseRoute] | None = None

    @property
    def routes(self) -> list[BaseRoute]:
        """The app's routes, flattened once they are all added (on the first request)."""
        if self._routes is None:
            self._routes = list(flat(self.router.routes))
        return self._routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(scope)
        scope.setdefault("state", {})[STATE_KEY] = request_id
        status = 500  # what the server answers for an app that fails before it answers

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            route = template(scope, self.routes)
            method = scope["method"]
            metrics.observe_request(method, route, status, seconds)
            (self.log.error if status >= 500 else self.log.info)(
                "request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(seconds * 1000, 3),
                request_id=request_id,
                org=_org(scope),
            )


def request_id_of(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == HEADER:
            given: str = value.decode("latin-1")
            if SANE_ID.fullmatch(given):
                return given
            break
    return secrets.token_hex(16)


def template(scope: Scope, routes: Iterable[BaseRoute]) -> str:
    """The route template that answered (or would have answered) this request: the route routing
    chose, else the first of `routes` that matches it in full, else the first that matches its path
    (a 405)."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    partial = UNMATCHED
    for route in routes:
        match, _ = route.matches(scope)
        found = getattr(route, "path", None)
        if match is Match.NONE or not isinstance(found, str):
            continue
        if match is Match.FULL:
            return found
        if partial == UNMATCHED:
            partial = found
    return partial


def flat(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, those of included routers too: FastAPI keeps an included router whole, as one
    entry holding it (`original_router`)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if isinstance(inner, Router):
            yield from flat(inner.routes)
        else:
            yield route


def _org(scope: Scope) -> str | None:
    try:
        org_id = authority_of(scope).org_id
    except Unauthenticated:
        return None
    return None if org_id is None else str(org_id)
