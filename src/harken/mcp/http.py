"""`/mcp` on the hub: the tools over streamable HTTP, for an assistant that reaches the hub itself.

Each request is authenticated as `/v1/me` authenticates it (any customer-side token; an org key or no
valid token is a 401 with `WWW-Authenticate`), then each tool calls the hub's own `/v1/me` routes in
process with that same `Authorization`: through the same middleware, rate limits and refusals as the
person's app would meet. Stateless: no MCP session outlives its request, so a revoked token stops the
very next call and several workers need nothing shared."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from harken import authority
from harken.authority import Tier
from harken.deps import Hub, pointing_to_metadata
from harken.errors import Unauthenticated
from harken.mcp import tools
from harken.problems import error_response

PATH = "/mcp"
TIMEOUT = 30.0


def _leaving_logging_alone(build: Callable[[], MCPServer]) -> MCPServer:
    """The SDK's server configures the root logger as it is made (`logging.basicConfig`), which suits a
    process of its own (`harken mcp`) but not the hub, whose logs are its own (harken.observe.logs)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return build()
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


class Endpoint:
    """The ASGI app at `/mcp`. `hub_app` is the hub's whole application, which the tools call."""

    def __init__(self, hub: Hub, hub_app: ASGIApp) -> None:
        self.hub, self.hub_app = hub, hub_app
        self.manager: StreamableHTTPSessionManager | None = None

    def route(self) -> Route:
        """`/mcp`, every method (POST for messages; GET and DELETE answer as the transport says)."""
        return Route(PATH, self, include_in_schema=False)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """For the hub's lifespan: the MCP server is made here, not with the app (an app that never
        starts, as most tests' apps, pays nothing for it), and serves until the hub stops."""
        server = _leaving_logging_alone(lambda: tools.server(self._connect))
        # Makes the session manager the requests go to; the Starlette app it returns is not used (a
        # mounted app's lifespan never runs): this lifespan runs the manager instead.
        server.streamable_http_app(
            streamable_http_path=PATH,
            stateless_http=True,
            json_response=True,
            # DNS-rebinding protection guards servers that trust whoever reaches them; this one trusts
            # only a bearer token, which a page rebound to the hub's address does not have.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        async with server.session_manager.run():
            self.manager = server.session_manager
            try:
                yield
            finally:
                self.manager = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await run_in_threadpool(self._authenticate, Headers(scope=scope).get("authorization", ""))
        except Unauthenticated as refused:
            metadata = f"{self.hub.issuer}/.well-known/oauth-protected-resource/mcp"
            await error_response(refused)(scope, receive, pointing_to_metadata(send, metadata))
            return
        if self.manager is None:
            raise RuntimeError("/mcp serves only while the hub's lifespan runs (Endpoint.running)")
        await self.manager.handle_request(scope, receive, send)

    def _authenticate(self, header: str) -> None:
        scheme, _, bearer = header.partition(" ")
        if scheme.lower() != "bearer" or not bearer.strip():
            raise Unauthenticated("send your token as `Authorization: Bearer …` (the one /v1/me accepts)")
        hub = self.hub
        found = hub.read(
            lambda session: authority.authenticate(
                session, secret=hub.secret, bearer=bearer.strip(), now=hub.clock()
            )
        )
        if found.tier == Tier.org:
            raise Unauthenticated(
                "send your own token (`hp_…`, or your assistant's `ha_…`), not an org API key"
            )

    def _connect(self, ctx: Context) -> httpx.AsyncClient:
        """A client to the hub itself, in process, carrying this request's `Authorization` and its
        caller's address (so rate limits count the caller, not the hub)."""
        request: Any = ctx.request_context.request
        client = getattr(request, "client", None)
        transport = httpx.ASGITransport(
            app=self.hub_app, client=(client.host, client.port) if client else ("127.0.0.1", 0)
        )
        headers = {"Authorization": (ctx.headers or {}).get("authorization", "")}
        return httpx.AsyncClient(
            transport=transport, base_url="http://harken", headers=headers, timeout=TIMEOUT
        )
