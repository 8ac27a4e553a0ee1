from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio


def run_apart(app: Any, *args: Any) -> None:
    """Call an ASGI app on an event loop of its own thread: the browser tests leave one running on
    the main thread."""
    with ThreadPoolExecutor(1) as thread:
        thread.submit(anyio.run, app, *args).result()
