"""A real HTTP endpoint receiving webhooks, for tests: it answers each request with the next scripted
status (200 once the script runs out) and keeps what it accepted, to be checked by the Standard Webhooks
reference library as it would have been on arrival."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock

import standardwebhooks
import standardwebhooks.webhooks


@dataclass
class Receiver:
    url: str
    clock: Callable[[], datetime]
    script: list[int] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # sent with every answer
    received: list[tuple[dict[str, str], bytes, datetime]] = field(default_factory=list)

    def events(self, secret: str) -> list[tuple[str, dict[str, Any]]]:
        """(webhook-id, payload) of every request, each checked by the reference library as it would
        have been on arrival (its 5-minute timestamp window is read on `clock`)."""
        checked = []
        for headers, body, arrived in self.received:
            with mock.patch.object(standardwebhooks.webhooks, "datetime", _clock_at(arrived)):
                checked.append(
                    (headers["webhook-id"], standardwebhooks.Webhook(secret).verify(body, headers))
                )
        return checked


def _clock_at(moment: datetime) -> type[datetime]:
    class Stopped(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Stopped:
            return cls.fromtimestamp(moment.timestamp(), tz)

    return Stopped


@contextmanager
def receiving(clock: Callable[[], datetime]) -> Iterator[Receiver]:
    """A receiver listening on a free local port until the block ends."""
    state = Receiver("", clock)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            status = state.script.pop(0) if state.script else 200
            if status == 200:
                state.received.append(({k.lower(): v for k, v in self.headers.items()}, body, state.clock()))
            self.send_response(status)
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Handler) as server:
        state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield state
        server.shutdown()
