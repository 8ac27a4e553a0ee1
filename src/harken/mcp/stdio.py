"""`harken mcp`: the tools over stdio, for an assistant on the person's own machine. It speaks to a hub
over HTTP with one token (`HARKEN_URL`, `HARKEN_TOKEN`): whatever that token may do at `/v1/me`."""

from __future__ import annotations

import anyio
import httpx
from mcp.server.mcpserver import Context

from harken.mcp import tools

TIMEOUT = 30.0


def run(url: str, token: str) -> None:
    """Serve the tools on stdin/stdout until the client closes them."""

    def connect(_ctx: Context) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
        )

    anyio.run(tools.server(connect).run_stdio_async)
