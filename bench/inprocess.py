"""`python -m bench.inprocess`: what one request costs the hub in CPU, without a network or a server.

The app is called through ASGI in this process (httpx's ASGI transport, 8 callers at once), so the
figures are the hub's own work plus a small, equal client share: `/healthz` measured the same way is
the floor to compare with. Each kind runs on a fresh database with 300 customers; consent writes
alternate granted and withdrawn, so each is a new record; decisions weigh 20 candidates.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from bench.stores import postgres_url
from harken import schema
from harken.app import create_app
from harken.clock import system_clock
from harken.config import Settings
from harken.db import create_db_engine, make_session_factory, session_scope
from harken.orgs import service as org_service

CUSTOMERS, CALLERS = 300, 8
KINDS = ("healthz", "writes", "decisions")


def _request(kind: str, i: int) -> tuple[str, str, dict[str, object] | None]:
    ref = f"c{i % CUSTOMERS}"
    if kind == "writes":
        status = ("granted", "withdrawn")[(i // CUSTOMERS) % 2]
        return "PUT", f"/v1/subjects/{ref}/consents/marketing", {"status": status, "channels": ["email"]}
    if kind == "decisions":
        offers = [{"id": f"o{j}", "title": "Tea", "topics": ["tea"]} for j in range(20)]
        body = {"subject": ref, "purpose": "marketing", "channels": ["email", "sms"], "candidates": offers}
        return "POST", "/v1/decisions", body
    return "GET", "/healthz", None


def measure(url: str, kind: str, calls: int) -> tuple[float, float]:
    """(requests/s, CPU µs per request) for `calls` requests of `kind` after a warm-up."""
    data = Path(tempfile.mkdtemp())
    engine = create_db_engine(url)
    schema.upgrade(engine)
    with session_scope(make_session_factory(engine)) as session:
        _org, key = org_service.create(session, name="Org", now=system_clock())
    settings = Settings(
        database_url=url,
        data_dir=data,
        rate_limit_per_key=0,
        rate_limit_per_address=0,
        rate_limit_failed_auth=0,
    )
    app = create_app(settings, engine=engine)
    headers = {"Authorization": f"Bearer {key}"}

    async def run() -> tuple[float, float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub", headers=headers) as client:
            for n in range(CUSTOMERS):
                (await client.put(f"/v1/subjects/c{n}")).raise_for_status()

            async def one(i: int) -> None:
                method, path, body = _request(kind, i)
                answer = await client.request(method, path, json=body)
                if answer.status_code >= 300:
                    raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text[:200]}")

            await _callers(one, 0, calls // 2)
            began, cpu = time.perf_counter(), time.process_time()
            await _callers(one, calls // 2, calls)
            done = calls - calls // 2
            return done / (time.perf_counter() - began), (time.process_time() - cpu) / done * 1e6

    try:
        return asyncio.run(run())
    finally:
        engine.dispose()


async def _callers(one: Callable[[int], Awaitable[None]], start: int, end: int) -> None:
    async def caller(k: int) -> None:
        for i in range(start + k, end, CALLERS):
            await one(i)

    await asyncio.gather(*(caller(k) for k in range(CALLERS)))


def _fresh_postgres(pg_url: str) -> str:
    admin = create_db_engine(pg_url)
    with admin.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS harken_bench_inprocess CASCADE"))
        connection.execute(text("CREATE SCHEMA harken_bench_inprocess"))
    admin.dispose()
    separator = "&" if "?" in pg_url else "?"
    return f"{pg_url}{separator}options=-csearch_path%3Dharken_bench_inprocess"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess", description=__doc__)
    parser.add_argument("--calls", type=int, default=4_000, help="requests per kind (half of them warm-up)")
    parser.add_argument(
        "--postgres", metavar="URL", help="PostgreSQL too (default $HARKEN_TEST_POSTGRES_URL)"
    )
    args = parser.parse_args(argv)
    console = Console()
    pg_url = postgres_url(args.postgres)
    table = Table(
        title=f"One request's CPU in process ({CALLERS} callers, {args.calls // 2:,} measured each)"
    )
    for column in ("backend", "kind", "req/s", "CPU µs/request", "times /healthz"):
        table.add_column(column, justify="left" if column in ("backend", "kind") else "right")
    for backend in ["sqlite"] + (["postgresql"] if pg_url else []):
        floor = 0.0
        for kind in KINDS:
            url = _fresh_postgres(pg_url) if pg_url and backend == "postgresql" else ""
            url = url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
            rate, cpu = measure(url, kind, args.calls)
            floor = floor or cpu
            table.add_row(backend, kind, f"{rate:,.0f}", f"{cpu:,.0f}", f"{cpu / floor:.1f}")
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
