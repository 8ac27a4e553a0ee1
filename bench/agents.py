"""`python -m bench.agents`: the person's own reads against their agent's, through a real
`harken serve --workers N` (issue 18).

A fresh hub with one org and 300 customers, each with their own `hp_` token and an agent's `ha_` token
under a `read` grant (made as `bench.inprocess` makes them). `GET /v1/me` over C keep-alive connections,
closed loop, each connection cycling through its own customers: first with the people's tokens, then
with their agents', alternated `--rounds` times. An agent's call does the person's work and records its
act (the person's list, and an `agent.acted` entry on the hub's `centre` chain, whose head every agent
act locks): with several workers, what that lock costs shows beside the person's own call.

Point the server at other code with PYTHONPATH (it is passed on) to compare two versions in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from bench.inprocess import CUSTOMERS, me_tokens
from bench.loadgen import call, request, run_load
from bench.server import HOST, create_org, environment, run_cli, serve
from bench.stores import backends, fresh_database, postgres_url
from harken.db import create_db_engine, make_session_factory, session_scope
from harken.orgs.models import Org
from harken.subjects import tokens as subject_tokens


def measure(
    backend: str, pg_url: str | None, *, workers: int, concurrency: int, seconds: float, rounds: int
) -> list[tuple[str, float, float, float]]:
    """(kind, requests/s, p50 ms, p99 ms) for each kind in each round."""
    figures = []
    with tempfile.TemporaryDirectory() as directory, fresh_database(backend, Path(directory), pg_url) as db:
        data = Path(directory) / "data"
        env = environment(db, data)
        run_cli(["db", "upgrade"], env)
        key = create_org("Org", env)
        with serve(workers, env, Path(directory) / "server.log") as server:
            made = [
                request("PUT", f"/v1/subjects/c{n}", host=HOST, headers={"Authorization": f"Bearer {key}"})
                for n in range(CUSTOMERS)
            ]
            assert {status for status, _ in asyncio.run(call(server.host, server.port, made))} == {201}
            engine = create_db_engine(db.url)
            secret = subject_tokens.load_or_create_secret(data / "secret")  # the server's own
            with session_scope(make_session_factory(engine)) as session:
                org_id = session.scalars(select(Org.id)).one()
                tokens = {kind: me_tokens(session, kind, secret, org_id) for kind in ("me", "me-agent")}
            engine.dispose()
            for _ in range(rounds):
                for kind, minted in tokens.items():
                    plans = [
                        [
                            request("GET", "/v1/me", host=HOST, headers={"Authorization": f"Bearer {t}"})
                            for t in minted[c::concurrency]
                        ]
                        for c in range(concurrency)
                    ]
                    result = asyncio.run(
                        run_load(server.host, server.port, plans, warmup_s=2, duration_s=seconds)
                    )
                    if not result.only(200):
                        raise RuntimeError(f"{kind}: {dict(result.statuses)} {result.failures[:3]}")
                    figures.append((kind, result.rate, result.percentile(50), result.percentile(99)))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.agents", description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0, help="each measured window")
    parser.add_argument("--rounds", type=int, default=2, help="person, then agent, this many times")
    parser.add_argument(
        "--postgres", metavar="URL", help="PostgreSQL too (default $HARKEN_TEST_POSTGRES_URL)"
    )
    args = parser.parse_args(argv)
    pg_url = postgres_url(args.postgres)
    table = Table(
        title=f"GET /v1/me through `harken serve --workers {args.workers}`, {args.concurrency} connections"
    )
    for column in ("backend", "token", "req/s", "p50 ms", "p99 ms"):
        table.add_column(column, justify="left" if column in ("backend", "token") else "right")
    for backend in backends(pg_url):
        for kind, rate, p50, p99 in measure(
            backend,
            pg_url,
            workers=args.workers,
            concurrency=args.concurrency,
            seconds=args.seconds,
            rounds=args.rounds,
        ):
            token = "person (hp_)" if kind == "me" else "agent (ha_)"
            table.add_row(backend, token, f"{rate:,.0f}", f"{p50:.1f}", f"{p99:.1f}")
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
