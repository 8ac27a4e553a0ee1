"""Headers every answer of the API carries: `X-Content-Type-Options: nosniff` and
`Cache-Control: no-store` (a customer's data must not linger in a shared cache or a browser's).

Each is added only where the answer has none of its own: the Preference Centre sets its own (with its
Content-Security-Policy) and keeps them, a status list stays cacheable for its `max-age`. The centre's
pages and static files are left to the centre's caching, with nosniff added where missing.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NOSNIFF = (b"x-content-type-options", b"nosniff")
NO_STORE = (b"cache-control", b"no-store")
CENTRE = "/centre"


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = not scope["path"].startswith(CENTRE)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                names = {name.lower() for name, _ in headers}
                if NOSNIFF[0] not in names:
                    headers.append(NOSNIFF)
                if api and NO_STORE[0] not in names:
                    headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
