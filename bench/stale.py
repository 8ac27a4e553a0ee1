"""`python -m bench.stale`: does a withdrawal apply to the very next decision on every process?

Two `harken serve` processes with two workers each on one database (PostgreSQL when given, else
SQLite). Each round changes a customer's consent through one server — granted, then withdrawn — and
asks for a decision about them through the other immediately after the 2xx, so the decision lands on
whichever worker of the other server takes it, which may remember the customer from an earlier round.
An answer that does not reflect the consent just written is stale. Exits 1 on any stale answer.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import Progress

from bench.server import create_org, environment, run_cli, serve
from bench.stores import fresh_database, postgres_url

CUSTOMERS = 20  # few, so every worker soon remembers each one: the case a stale answer would come from


def stale_answers(rounds: int, backend: str, pg_url: str | None, console: Console) -> tuple[int, int, float]:
    """(rounds run, stale answers, seconds)."""
    with tempfile.TemporaryDirectory() as scratch, fresh_database(backend, Path(scratch), pg_url) as db:
        env = environment(db, Path(scratch) / "data")
        run_cli(["db", "upgrade"], env)
        key = create_org("Skyway Airlines", env)
        with ExitStack() as stack:
            servers = [
                stack.enter_context(serve(2, env, Path(scratch) / f"server-{i}.log")) for i in range(2)
            ]
            clients = [
                stack.enter_context(
                    httpx.Client(
                        base_url=f"http://{s.host}:{s.port}",
                        headers={"Authorization": f"Bearer {key}"},
                        timeout=30,
                    )
                )
                for s in servers
            ]
            for n in range(CUSTOMERS):
                clients[0].put(f"/v1/subjects/c{n}").raise_for_status()
            stale, began = 0, time.perf_counter()
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task(f"{backend}: withdraw, then decide elsewhere", total=rounds)
                for r in range(rounds):
                    writer, asker = clients[r % 2], clients[1 - r % 2]
                    ref, status = f"c{r % CUSTOMERS}", ("granted", "withdrawn")[(r // CUSTOMERS) % 2]
                    body = {"status": status, "channels": ["email"]}
                    writer.put(f"/v1/subjects/{ref}/consents/marketing", json=body).raise_for_status()
                    ask = {
                        "subject": ref,
                        "purpose": "marketing",
                        "channels": ["email"],
                        "candidates": [{"id": "tea", "title": "Tea sampler"}],
                    }
                    answer = asker.post("/v1/decisions", json=ask)
                    answer.raise_for_status()
                    said = {reason["code"] for reason in answer.json()["reasons"]}
                    stale += ("consent.withdrawn" in said) != (status == "withdrawn")
                    progress.advance(task)
            return rounds, stale, time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stale", description=__doc__)
    parser.add_argument(
        "--rounds", type=int, default=5_000, help="consent changes, each followed by a decision"
    )
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL (default $HARKEN_TEST_POSTGRES_URL)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite too (one file, two servers)")
    args = parser.parse_args(argv)
    console = Console()
    pg_url = postgres_url(args.postgres)
    chosen = (["postgresql"] if pg_url else []) + (["sqlite"] if args.sqlite or not pg_url else [])
    failed = False
    for backend in chosen:
        rounds, stale, seconds = stale_answers(args.rounds, backend, pg_url, console)
        console.print(
            f"{backend}: {rounds:,} withdrawals and grants through one server, each followed at once by a "
            f"decision through the other (two servers, two workers each): [bold]{stale} stale[/] ({seconds:.0f} s)"
        )
        failed |= stale > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
