"""The request-size limit: a body larger than HARKEN_MAX_BODY_BYTES is refused with 413 before it is
read, by its Content-Length, or, sent chunked or longer than it said, as soon as what came passes it."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harken import problems


class ContentTooLarge(HTTPException):
    """413; raised from `receive`, so whoever is reading the body stops there. The connection is closed
    after the answer rather than drained of the rest."""

    def __init__(self, limit: int) -> None:
        detail = f"the request body is larger than this hub accepts ({limit} bytes)"
        super().__init__(413, detail, headers={"Connection": "close"})


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await problems.http_problem(ContentTooLarge(self.max_bytes))(scope, receive, send)
                return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise ContentTooLarge(self.max_bytes)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except ContentTooLarge as refusal:  # read by a middleware, outside the app's own handlers
            if started:
                raise
            await problems.http_problem(refusal)(scope, receive, watched)
