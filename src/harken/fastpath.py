"""The hot org routes without FastAPI's per-request machinery (dependency solving, `json.loads` then
validation of Python objects, the answer validated again against its response model and converted
twice): a plain Starlette route validates the JSON body with the route's own pydantic model
(`model_validate_json`) and the route serialises its pydantic answer straight to JSON. `python -m
bench.web` measured it: 0.6-0.8 ms less server CPU for a decision that cost 2.1-2.6 ms through FastAPI,
as much as msgspec structs saved, without a second schema to keep in step (docs/benchmarks.md, "The web
layer").

Only an accepted request takes the fast path. Anything else — another content type, malformed JSON,
a body the model refuses, a caller that is not an org — is handed, body and all, to the route's
FastAPI twin, which stays the documented operation in `/openapi.json` and answers as every FastAPI
route does (`harken.problems`): the same problems naming the same fields, where JSON breaks, or the
media type it takes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from harken.idempotency import read_body, replaying

B = TypeVar("B")

Answer = Callable[[Scope, B], Awaitable[Response | None]]
"""The route's work for an accepted body: its response; or None for a request it leaves to the
FastAPI twin (a caller the twin refuses, say)."""


class FastRoute(Generic[B]):
    """An ASGI endpoint: decode the body and answer, or replay the request to the FastAPI twin.
    `decode` raises ValueError (pydantic's ValidationError is one) for a body it refuses."""

    def __init__(self, twin: APIRoute, decode: Callable[[bytes], B], answer: Answer[B]) -> None:
        self.twin, self.decode, self.answer = twin, decode, answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        if body is None:
            return  # the client left before it finished sending
        decoded = self._decode(scope, body)
        answered = None if decoded is None else await self.answer(scope, decoded)
        if answered is None:
            await self.twin.handle(scope, replaying(body, receive), send)
            return
        await answered(scope, receive, send)

    def _decode(self, scope: Scope, body: bytes) -> B | None:
        if not _json(scope):
            return None
        try:
            return self.decode(body)
        except ValueError:  # malformed or invalid: the twin says why, as it always did
            return None


Fast = Callable[[APIRoute], "FastRoute[Any]"]


def install(app: FastAPI, router: APIRouter, path: str, method: str, fast: Fast) -> None:
    """Put a fast route in front of `router`'s FastAPI route for `method path`, which it falls back
    to. The router must be included in the app as it is (no prefix, no dependencies added)."""
    for twin in router.routes:
        if isinstance(twin, APIRoute) and twin.path == path and method in (twin.methods or ()):
            app.router.routes.insert(0, Route(path, fast(twin), methods=[method], include_in_schema=False))
            return
    raise LookupError(f"no FastAPI route for {method} {path}")


def _json(scope: Scope) -> bool:
    """Whether the body is declared `application/json` (parameters aside). The twin reads `+json`
    types too, and refuses any other type (or none) with 415."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            kind: str = value.decode("latin-1").partition(";")[0].strip().lower()
            return kind == "application/json"
    return False
