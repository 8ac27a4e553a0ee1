"""A cheap HTTP/1.1 keep-alive load generator over raw asyncio sockets, for loopback servers only.

Each of C connections sends one request at a time and waits for its response (closed loop).
After a warm-up, the requests that complete inside a fixed window are counted and timed; when
the window ends no new request is sent. Every run is bounded both in time and in request count.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

MAX_REQUESTS = 2_000_000  # a hard cap per run, whatever the duration
GRACE_SECONDS = 30.0  # how long in-flight requests may take after the window before the run is abandoned


class ProtocolError(RuntimeError):
    """The server answered with something this small client does not parse."""


def request(
    method: str, path: str, *, host: str, headers: dict[str, str] | None = None, body: bytes | None = None
) -> bytes:
    """The bytes of one HTTP/1.1 request, built once and sent many times."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body is not None or method in {"PUT", "POST"}:
        lines.append(f"Content-Length: {len(body or b'')}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + (body or b"")


class Connection:
    """One keep-alive connection: send a request, read the status line, headers and a Content-Length body."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the load generator only targets loopback addresses, not {host}")
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        return cls(reader, writer)

    async def exchange(self, raw: bytes) -> tuple[int, bytes]:
        self._writer.write(raw)
        head = await self._reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 "):
            raise ProtocolError(f"not an HTTP/1.1 response: {head[:40]!r}")
        status = int(head[9:12])
        lowered = head.lower()
        at = lowered.find(b"\r\ncontent-length:")
        if at < 0:
            if b"\r\ntransfer-encoding: chunked" in lowered:
                return status, await self._chunked()
            if b"\r\ntransfer-encoding:" in lowered:
                raise ProtocolError("only chunked transfer encoding is supported by the bench client")
            return status, b""
        end = lowered.index(b"\r\n", at + 17)
        length = int(lowered[at + 17 : end])
        return status, (await self._reader.readexactly(length) if length else b"")

    async def _chunked(self) -> bytes:
        """A chunked body (Go's net/http streams any response over 2 KiB so), trailers skipped."""
        parts: list[bytes] = []
        while True:
            line = await self._reader.readuntil(b"\r\n")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size line: {line[:40]!r}") from None
            if size == 0:
                while await self._reader.readuntil(b"\r\n") != b"\r\n":
                    pass
                return b"".join(parts)
            chunk = await self._reader.readexactly(size + 2)  # the data and its CRLF
            parts.append(chunk[:-2])

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()


@dataclass
class LoadResult:
    """What one closed-loop run measured: counts and latencies of the requests completed in the window."""

    concurrency: int
    window_s: float
    completed: int
    latencies_s: list[float]
    statuses: Counter[int] = field(default_factory=Counter)  # every response, warm-up and tail included
    failures: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.completed / self.window_s if self.window_s else 0.0

    def percentile(self, p: float) -> float:
        """The p-th percentile latency in milliseconds (nearest rank)."""
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        rank = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
        return ordered[rank] * 1000

    def only(self, status: int) -> bool:
        return not self.failures and set(self.statuses) == {status}


async def run_load(
    host: str,
    port: int,
    plans: Sequence[Sequence[bytes]],
    *,
    warmup_s: float,
    duration_s: float,
    mark: Callable[[str], None] | None = None,
    primer: bytes | None = None,
    max_requests: int = MAX_REQUESTS,
) -> LoadResult:
    """Drive one connection per plan; connection i sends plans[i][0], plans[i][1], … cyclically.

    `primer`, if given, is sent once on each new connection before the next one is opened (its answer
    is not counted): a server with several worker processes accepts on one shared socket, and a burst of
    connects would mostly land on whichever worker wakes first. `mark("start")` and `mark("end")` are
    called at the window's edges (to sample CPU counters).
    """
    connections = []
    for _ in plans:
        connection = await Connection.open(host, port)
        connections.append(connection)
        if primer is not None:
            await connection.exchange(primer)
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    latencies: list[float] = []
    sent = 0
    clock = time.perf_counter
    begin = clock()
    start, end = begin + warmup_s, begin + warmup_s + duration_s

    async def drive(connection: Connection, plan: Sequence[bytes]) -> None:
        nonlocal sent
        turn, size = 0, len(plan)
        while sent < max_requests:
            before = clock()
            if before >= end:
                return
            sent += 1
            try:
                status, _ = await connection.exchange(plan[turn % size])
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ProtocolError) as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
                return
            after = clock()
            statuses[status] += 1
            turn += 1
            if start <= after <= end:
                latencies.append(after - before)

    async def marker() -> None:
        await asyncio.sleep(max(0.0, start - clock()))
        if mark:
            mark("start")
        await asyncio.sleep(max(0.0, end - clock()))
        if mark:
            mark("end")

    try:
        await asyncio.wait_for(
            asyncio.gather(marker(), *(drive(c, p) for c, p in zip(connections, plans, strict=True))),
            timeout=warmup_s + duration_s + GRACE_SECONDS,
        )
    finally:
        for connection in connections:
            await connection.close()
    return LoadResult(len(plans), duration_s, len(latencies), latencies, statuses, failures)


async def call(host: str, port: int, raws: Sequence[bytes]) -> list[tuple[int, bytes]]:
    """Send requests one after another on one connection (setup steps, not measured)."""
    connection = await Connection.open(host, port)
    try:
        return [await connection.exchange(raw) for raw in raws]
    finally:
        await connection.close()
