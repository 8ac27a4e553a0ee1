"""`python -m bench.observe`: what the operator's instruments (harken.observe) cost a decision.

Two apps over one fresh SQLite hub with 300 customers who granted marketing by email: one as served
(the request middleware counting and logging every request, decisions counted, engine time observed),
one with none of it (the middleware left out, the counting functions replaced by no-ops). The same
`POST /v1/decisions` (20 candidates) goes to each through ASGI in this process, in blocks that
alternate on, off, off, on… in one run, so drift on a shared machine falls on both alike. Log lines
are rendered as JSON and written to /dev/null (a real server writes them to a pipe).

PROMETHEUS_MULTIPROC_DIR=$(mktemp -d) python -m bench.observe measures the multi-process mode of
`harken serve --workers N` (each value written to a memory-mapped file).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.routing import Route, Router

from harken import schema
from harken.app import create_app
from harken.clock import system_clock
from harken.config import Settings
from harken.db import create_db_engine, make_session_factory, session_scope
from harken.observe import logs, metrics
from harken.observe.middleware import Instruments
from harken.orgs import service as org_service

CUSTOMERS = 300
BODY_OFFERS = [{"id": f"o{j}", "title": "Tea", "topics": ["tea"]} for j in range(20)]


def _plain(app: FastAPI) -> FastAPI:
    """`app` without the request middleware (`harken.app.instrument` wraps the stack FastAPI builds)."""
    app.build_middleware_stack = partial(FastAPI.build_middleware_stack, app)  # type: ignore[method-assign]
    return app


@contextmanager
def _uncounted() -> Iterator[None]:
    """The counting calls in the routes (metrics.decided, metrics.timed) as no-ops."""
    saved = metrics.decided, metrics.timed
    metrics.decided = lambda decision: decision  # type: ignore[assignment]
    metrics.timed = lambda work: work  # type: ignore[assignment]
    try:
        yield
    finally:
        metrics.decided, metrics.timed = saved


@contextmanager
def _stderr_to_null() -> Iterator[None]:
    saved = sys.stderr
    with open(os.devnull, "w") as null:
        sys.stderr = null
        try:
            yield
        finally:
            sys.stderr = saved


def direct(calls: int = 20_000) -> tuple[float, float]:
    """(µs per request, µs per decision) of the instruments alone: the middleware around an app that
    answers at once, less that app alone; and a decision's counting (`timed` and `decided`, with three
    reason codes). A precise figure where the decisions' own noise hides the difference."""
    headers = [(b"authorization", b"Bearer hk_x"), (b"content-type", b"application/json")]
    scope: dict[str, Any] = {"type": "http", "method": "POST", "path": "/v1/decisions", "headers": headers}

    async def answer(_scope: Any, _receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(_message: Any) -> None:
        return None

    route = Route("/v1/decisions", answer, methods=["POST"])
    instrumented = Instruments(answer, router=Router([route]), log=logs.logger(Settings(log_format="json")))

    async def run(app: Any) -> float:
        began = time.process_time()
        for _ in range(calls):
            await app({**scope, "route": route}, receive, send)
        return (time.process_time() - began) / calls * 1e6

    async def both() -> float:
        await run(instrumented)
        on = [await run(instrumented) for _ in range(3)]
        off = [await run(answer) for _ in range(3)]
        return min(on) - min(off)

    with _stderr_to_null():
        middleware = asyncio.run(both())

    class Reason:
        code = "consent.granted"

    class Decision:
        allowed, reasons = True, [Reason(), Reason(), Reason()]

    work = metrics.timed(lambda: None)
    began = time.process_time()
    for _ in range(calls):
        metrics.decided(Decision())
        work()
    return middleware, (time.process_time() - began) / calls * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.observe", description=__doc__)
    parser.add_argument("--blocks", type=int, default=20, help="blocks per mode (alternated)")
    parser.add_argument("--calls", type=int, default=200, help="decisions per block")
    args = parser.parse_args(argv)

    data = tempfile.mkdtemp()
    engine = create_db_engine(f"sqlite:///{data}/bench.db")
    schema.upgrade(engine)
    with session_scope(make_session_factory(engine)) as session:
        _org, key = org_service.create(session, name="Org", now=system_clock())
    settings = Settings(
        database_url=str(engine.url),
        data_dir=data,
        rate_limit_per_key=0,
        rate_limit_per_address=0,
        rate_limit_failed_auth=0,
        log_format="json",
    )
    served, plain = create_app(settings, engine=engine), _plain(create_app(settings, engine=engine))
    headers = {"Authorization": f"Bearer {key}"}
    figures: dict[str, list[tuple[float, float]]] = {"on": [], "off": []}

    async def run() -> None:
        on = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=served), base_url="http://hub", headers=headers
        )
        off = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=plain), base_url="http://hub", headers=headers
        )
        async with on, off:
            for n in range(CUSTOMERS):
                (await on.put(f"/v1/subjects/c{n}")).raise_for_status()
                grant = {"status": "granted", "channels": ["email"]}
                (await on.put(f"/v1/subjects/c{n}/consents/marketing", json=grant)).raise_for_status()

            # The two apps differ as they should: only the instrumented one stamps a request id.
            assert "x-request-id" in (await on.get("/healthz")).headers
            assert "x-request-id" not in (await off.get("/healthz")).headers

            async def block(client: httpx.AsyncClient, start: int) -> tuple[float, float]:
                began, cpu = time.perf_counter(), time.process_time()
                for i in range(start, start + args.calls):
                    body: dict[str, Any] = {
                        "subject": f"c{i % CUSTOMERS}",
                        "purpose": "marketing",
                        "channels": ["email"],
                        "candidates": BODY_OFFERS,
                    }
                    answer = await client.post("/v1/decisions", json=body)
                    if answer.status_code != 200:
                        raise RuntimeError(f"{answer.status_code} {answer.text[:200]}")
                done = args.calls
                return (time.perf_counter() - began) / done * 1e6, (time.process_time() - cpu) / done * 1e6

            await block(on, 0)  # warm-up, both
            with _uncounted():
                await block(off, 0)
            for b in range(args.blocks):
                for mode in ("on", "off") if b % 2 == 0 else ("off", "on"):
                    if mode == "on":
                        figures["on"].append(await block(on, b * args.calls))
                    else:
                        with _uncounted():
                            figures["off"].append(await block(off, b * args.calls))

    with _stderr_to_null():
        asyncio.run(run())
    engine.dispose()
    report(figures, args, sys.stdout.write)
    middleware, counting = direct()
    median = statistics.median(c for _, c in figures["off"])
    sys.stdout.write(
        f"instruments alone: middleware (count + log line) {middleware:.1f} µs/request, a decision's counting "
        f"{counting:.1f} µs: {(middleware + counting) / median * 100:.1f} % of a decision's CPU ({median:.0f} µs)\n"
    )
    return 0


def report(
    figures: dict[str, list[tuple[float, float]]], args: argparse.Namespace, say: Callable[[str], None]
) -> None:
    mode = "multi-process (files)" if metrics.multiprocess_mode() else "single process (memory)"
    say(f"metrics mode: {mode}; {args.blocks} blocks of {args.calls} decisions per side, alternated\n")
    wall = {side: statistics.median(w for w, _ in rows) for side, rows in figures.items()}
    cpu = {side: statistics.median(c for _, c in rows) for side, rows in figures.items()}
    for name, median in (("wall µs/decision", wall), ("CPU µs/decision", cpu)):
        cost = median["on"] - median["off"]
        say(
            f"{name:>18}: instruments on {median['on']:7.0f}, off {median['off']:7.0f}, "
            f"cost {cost:+6.0f} ({cost / median['off'] * 100:+.1f} %)\n"
        )


if __name__ == "__main__":
    sys.exit(main())
