"""Durable consent writes through a real `harken serve`, against the /healthz framework floor.

Per backend and worker count: a fresh database, `harken db upgrade`, ORGS orgs made with
`harken org create`, then one server process (group) that takes three closed-loop runs:
GET /healthz, consent writes on one org (one ledger chain: every write queues for its head),
and consent writes spread over ORGS orgs (ORGS chains). Each connection owns one subject and
alternates grant / withdraw, so every PUT is a real change: a record, a ledger entry, 201.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from bench import cpu as cpu_meter
from bench.loadgen import LoadResult, call, request, run_load
from bench.server import RunningServer, create_org, environment, run_cli, serve
from bench.stores import fresh_database

ORGS = 8
GRANT = json.dumps({"status": "granted", "channels": ["email"]}).encode()
WITHDRAW = json.dumps({"status": "withdrawn"}).encode()


@dataclass(frozen=True)
class WriteLoad:
    duration_s: float
    warmup_s: float
    concurrency: int
    settle_s: float = 0.0  # wait at most this long for a quiet machine before each run


@dataclass(frozen=True)
class WriteFigure:
    """One closed-loop run against one server."""

    backend: str
    workers: int
    scenario: str  # "healthz", "one org" or "8 orgs"
    concurrency: int
    duration_s: float
    completed: int
    rate: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]
    ok: bool  # every response had the expected status and no connection failed
    cpu: dict[str, float | None]
    server_processes: list[float]  # cores per server process (uvicorn's supervisor idles near 0)
    failures: list[str]

    @classmethod
    def of(
        cls,
        backend: str,
        workers: int,
        scenario: str,
        result: LoadResult,
        expected: int,
        share: cpu_meter.CpuShare,
    ) -> WriteFigure:
        return cls(
            backend=backend,
            workers=workers,
            scenario=scenario,
            concurrency=result.concurrency,
            duration_s=result.window_s,
            completed=result.completed,
            rate=round(result.rate, 1),
            p50_ms=round(result.percentile(50), 2),
            p99_ms=round(result.percentile(99), 2),
            statuses={str(k): v for k, v in sorted(result.statuses.items())},
            ok=result.only(expected),
            cpu=share.as_dict(),
            server_processes=share.server_processes,
            failures=result.failures[:5],
        )


def _run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def _headers(key: str, body: bool) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    return {**headers, "Content-Type": "application/json"} if body else headers


def _register(server: RunningServer, subjects: list[tuple[str, str]]) -> None:
    """PUT /v1/subjects/{ref} for each (key, ref): every one must be new (201)."""
    raws = [
        request("PUT", f"/v1/subjects/{ref}", host=server.host, headers=_headers(key, False))
        for key, ref in subjects
    ]
    answers = _run(call(server.host, server.port, raws))
    bad = [
        (ref, status, body[:200])
        for (_, ref), (status, body) in zip(subjects, answers, strict=True)
        if status != 201
    ]
    if bad:
        raise RuntimeError(f"registering subjects failed: {bad[:3]}")


def _consent_plans(server: RunningServer, subjects: list[tuple[str, str]]) -> list[list[bytes]]:
    plans = []
    for key, ref in subjects:
        path = f"/v1/subjects/{ref}/consents/marketing"
        headers = _headers(key, True)
        plans.append(
            [
                request("PUT", path, host=server.host, headers=headers, body=GRANT),
                request("PUT", path, host=server.host, headers=headers, body=WITHDRAW),
            ]
        )
    return plans


def _measure(
    server: RunningServer, plans: list[list[bytes]], load: WriteLoad, *, health: str = "/healthz"
) -> tuple[LoadResult, cpu_meter.CpuShare]:
    """One closed-loop run; each connection first asks `health` (the server's cheapest GET), uncounted."""
    samples: dict[str, cpu_meter.Sample] = {}

    def mark(edge: str) -> None:
        samples[edge] = cpu_meter.sample(server.pid)

    primer = request("GET", health, host=server.host)
    result: LoadResult = _run(
        run_load(
            server.host,
            server.port,
            plans,
            warmup_s=load.warmup_s,
            duration_s=load.duration_s,
            mark=mark,
            primer=primer,
        )
    )
    return result, cpu_meter.share(samples["start"], samples["end"])


def bench_server(
    backend: str, workers: int, server: RunningServer, keys: list[str], load: WriteLoad, console: Console
) -> list[WriteFigure]:
    """The three runs against one server: the floor, one chain, ORGS chains."""
    figures = []
    health = [[request("GET", "/healthz", host=server.host)] for _ in range(load.concurrency)]
    scenarios: list[tuple[str, list[list[bytes]] | None, int]] = [("healthz", health, 200)]
    one = [(keys[0], f"one-{i}") for i in range(load.concurrency)]
    many = [(keys[i % len(keys)], f"many-{i}") for i in range(load.concurrency)]
    _register(server, one + many)
    scenarios += [
        ("one org", _consent_plans(server, one), 201),
        (f"{len(keys)} orgs", _consent_plans(server, many), 201),
    ]
    for scenario, plans, expected in scenarios:
        assert plans is not None
        if load.settle_s:
            cpu_meter.settle(load.settle_s, lambda line: console.print(f"  [dim]{line}[/]"))
        result, share = _measure(server, plans, load)
        figure = WriteFigure.of(backend, workers, scenario, result, expected, share)
        verdict = "" if figure.ok else f"  [red]unexpected answers {figure.statuses} {figure.failures[:1]}[/]"
        spread = "+".join(f"{c:.2f}" for c in figure.server_processes if c >= 0.01)
        console.print(
            f"  {backend:<10} workers={workers} {scenario:<8} {figure.rate:>9,.1f}/s  "
            f"p50 {figure.p50_ms:.1f} ms  p99 {figure.p99_ms:.1f} ms  server CPU {spread}{verdict}"
        )
        if not figure.ok:
            console.print("[red]server log, last lines:[/]")
            console.print(server.log_tail(), markup=False, highlight=False)
        figures.append(figure)
    return figures


def _create_orgs(env: dict[str, str]) -> list[str]:
    """ORGS orgs through `harken org create`, a few at a time (each is a second of interpreter start-up)."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(create_org, [f"bench-org-{i}" for i in range(ORGS)], [env] * ORGS))


def bench_writes(
    backends: list[str], pg_url: str | None, workers: list[int], load: WriteLoad, console: Console
) -> list[WriteFigure]:
    """Every (backend, worker count): fresh database, migrate, orgs, serve, three runs."""
    figures: list[WriteFigure] = []
    with tempfile.TemporaryDirectory(prefix="harken-bench-") as scratch:
        directory = Path(scratch)
        for backend in backends:
            for count in workers:
                with fresh_database(backend, directory, pg_url) as database:
                    env = environment(database, directory / f"data-{backend}-{count}")
                    console.print(f"[dim]{backend}, {count} worker(s): migrating, creating {ORGS} orgs…[/]")
                    run_cli(["db", "upgrade"], env)
                    keys = _create_orgs(env)
                    with serve(count, env, directory / f"server-{backend}-{count}.log") as server:
                        figures += bench_server(backend, count, server, keys, load, console)
    return figures
