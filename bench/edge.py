"""What the outer defences (harken.edge: headers, size limit, rate limits) cost per request.

`python -m bench.edge [--postgres URL] [--rounds 6] [--duration 2] [--concurrency 8] [--calls 3000]`

The same hub twice on one database: as built, and without the edge middlewares. Rate limits are set
high enough never to trip, so every request is still counted. Two measurements, both as ratios:

- in-process: the two apps called directly through ASGI, one call each in turn, median per call;
- over HTTP: one server process serving both (the bare one under `/bare/`), closed-loop load
  alternating between the two in rounds, so both see the same machine.

And the counter store's one statement alone, in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from bench import loadgen
from bench.server import HOST, create_org, environment, free_port, run_cli
from bench.stores import backends, fresh_database, postgres_url

TARGETS = {  # name → (path, with the org's key)
    "/healthz": ("/healthz", False),
    "GET /v1/purposes": ("/v1/purposes", False),
    "GET /v1/subjects/{ref}": ("/v1/subjects/bench-customer", True),
}


def pair() -> tuple[FastAPI, FastAPI]:
    """The hub as built and the same hub without the edge middlewares, from the environment."""
    from harken.app import create_app
    from harken.config import Settings
    from harken.edge.headers import SecurityHeaders
    from harken.edge.limits import RateLimits
    from harken.edge.size import BodySizeLimit

    settings = Settings()
    full, bare = create_app(settings), create_app(settings)
    edge = (SecurityHeaders, BodySizeLimit, RateLimits)
    bare.user_middleware = [m for m in bare.user_middleware if m.cls not in edge]
    return full, bare


def paired_app() -> ASGIApp:
    """uvicorn factory: the hub as built, and under /bare/ without the edge middlewares."""
    full, bare = pair()

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/bare/"):
            path = scope["path"][len("/bare") :]
            await bare({**scope, "path": path, "raw_path": path.encode()}, receive, send)
        else:
            await full(scope, receive, send)  # the lifespan too: the bare hub counts nothing

    return route


def serve(port: int) -> None:
    import uvicorn

    uvicorn.run(
        "bench.edge:paired_app", factory=True, host=HOST, port=port, log_level="warning", proxy_headers=False
    )


async def _call(app: ASGIApp, path: str, headers: list[tuple[bytes, bytes]]) -> float:
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": (HOST, 80),
    }
    before = time.perf_counter()
    await app(scope, receive, send)
    elapsed = time.perf_counter() - before
    assert statuses == [200], (path, statuses)
    return elapsed


def in_process(key: str, calls: int) -> None:
    from harken.config import Settings
    from harken.db import create_db_engine
    from harken.edge.counters import open_counters

    full, bare = pair()
    auth = [(b"authorization", f"Bearer {key}".encode())]

    async def measure() -> None:
        async with full.router.lifespan_context(full):
            for name, (path, keyed) in TARGETS.items():
                headers = auth if keyed else []
                edge, plain = [], []
                for _ in range(calls):
                    edge.append(await _call(full, path, headers))
                    plain.append(await _call(bare, path, headers))
                e, b = statistics.median(edge) * 1e6, statistics.median(plain) * 1e6
                print(
                    f"  in-process {name:<24} edge {e:6.0f} µs  bare {b:6.0f} µs  {e - b:+5.0f} µs  ratio {e / b:.3f}"
                )
        settings = Settings()
        engine = create_db_engine(settings.database_url)
        counters = open_counters(settings, engine)
        await counters.open()
        buckets = {f"{n:032x}": 1 for n in range(3)}
        times = []
        for _ in range(calls):
            before = time.perf_counter()
            await counters.add(1_800_000_000, buckets)
            times.append(time.perf_counter() - before)
        await counters.close()
        engine.dispose()
        print(
            f"  the counter store alone, one statement of three buckets: {statistics.median(times) * 1e6:.0f} µs"
        )

    asyncio.run(measure())


def over_http(port: int, key: str, args: argparse.Namespace) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    for name, (path, keyed) in TARGETS.items():
        rates: dict[str, list[float]] = {"edge": [], "bare": []}
        for turn in range(args.rounds):
            for variant in ("edge", "bare") if turn % 2 == 0 else ("bare", "edge"):
                target = path if variant == "edge" else f"/bare{path}"
                raw = loadgen.request("GET", target, host=HOST, headers=auth if keyed else None)
                plans = [[raw]] * args.concurrency
                result = asyncio.run(
                    loadgen.run_load(HOST, port, plans, warmup_s=0.5, duration_s=args.duration)
                )
                assert not result.failures and set(result.statuses) == {200}, (target, result.statuses)
                rates[variant].append(result.rate)
        edge, bare = statistics.median(rates["edge"]), statistics.median(rates["bare"])
        print(f"  over HTTP  {name:<24} edge {edge:6.0f}/s  bare {bare:6.0f}/s  ratio {edge / bare:.3f}")


def bench_backend(backend: str, pg_url: str | None, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as directory, fresh_database(backend, Path(directory), pg_url) as db:
        env = environment(db, Path(directory) / "data")
        run_cli(["db", "upgrade"], env)
        key = create_org("Edge Bench", env)
        os.environ.update(env)  # the in-process hubs read their settings from it, as the server does
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.edge", "--serve", str(port)], env=env, start_new_session=True
        )
        try:
            while True:
                try:
                    asyncio.run(loadgen.call(HOST, port, [loadgen.request("GET", "/healthz", host=HOST)]))
                    break
                except OSError:
                    time.sleep(0.2)
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            put = loadgen.request(
                "PUT", "/v1/subjects/bench-customer", host=HOST, headers=headers, body=b"{}"
            )
            ((status, answer),) = asyncio.run(loadgen.call(HOST, port, [put]))
            assert status in (200, 201), answer
            print(
                f"\n{backend}: {args.calls} calls each in-process; {args.rounds} rounds x {args.duration} s"
            )
            print(f"over HTTP, {args.concurrency} connections, one worker")
            in_process(key, args.calls)
            over_http(port, key, args)
        finally:
            server.terminate()
            server.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.edge", description=__doc__)
    parser.add_argument("--postgres", default=None, help="PostgreSQL URL (default $HARKEN_TEST_POSTGRES_URL)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    pg_url = postgres_url(args.postgres)
    for backend in backends(pg_url):
        bench_backend(backend, pg_url, args)


if __name__ == "__main__":
    main()
