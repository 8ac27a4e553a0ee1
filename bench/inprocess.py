"""`python -m bench.inprocess`: what one request costs the hub in CPU, without a network or a server.

The app is called through ASGI in this process (httpx's ASGI transport, 8 callers at once), so the
figures are the hub's own work plus a small, equal client share: `/healthz` measured the same way is
the floor to compare with. Each kind runs on a fresh database with 300 customers; consent writes
alternate granted and withdrawn, so each is a new record; decisions weigh 20 candidates. `me` reads
`GET /v1/me` with each person's own token (`hp_`), `me-agent` the same through a `read` grant to their
agent (`ha_`): what an agent's act costs on top (its record in the access log and the ledger).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bench.stores import postgres_url
from harken import schema
from harken.app import create_app
from harken.authority import Tier
from harken.clock import system_clock
from harken.config import Settings
from harken.db import create_db_engine, make_session_factory, session_scope
from harken.grants import tokens as agent_tokens
from harken.grants.models import Grant, GrantToken, OAuthClient
from harken.orgs import service as org_service
from harken.subjects import service as subject_service
from harken.subjects import tokens as subject_tokens
from harken.subjects.models import SubjectRef

REDIRECT = "http://127.0.0.1:8765/callback"

CUSTOMERS, CALLERS = 300, 8
KINDS = ("healthz", "writes", "decisions", "me", "me-agent")


def _request(kind: str, i: int) -> tuple[str, str, dict[str, object] | None]:
    ref = f"c{i % CUSTOMERS}"
    if kind == "writes":
        status = ("granted", "withdrawn")[(i // CUSTOMERS) % 2]
        return "PUT", f"/v1/subjects/{ref}/consents/marketing", {"status": status, "channels": ["email"]}
    if kind == "decisions":
        offers = [{"id": f"o{j}", "title": "Tea", "topics": ["tea"]} for j in range(20)]
        body = {"subject": ref, "purpose": "marketing", "channels": ["email", "sms"], "candidates": offers}
        return "POST", "/v1/decisions", body
    if kind.startswith("me"):
        return "GET", "/v1/me", None
    return "GET", "/healthz", None


def me_tokens(session: Session, kind: str, secret: bytes, org_id: uuid.UUID) -> list[str]:
    """For each customer, in order: their own `hp_` token, or their agent's `ha_` under a `read` grant."""
    now = system_clock()
    people = session.execute(
        select(SubjectRef.ref, SubjectRef.subject_id).where(SubjectRef.org_id == org_id)
    ).all()
    subject_of = {ref: subject_id for ref, subject_id in people}
    if kind == "me-agent":
        session.add(OAuthClient(id="bench", name="Bench", redirect_uris=[REDIRECT], created_at=now))
        session.flush()
    minted = []
    for n in range(CUSTOMERS):
        subject_id = subject_of[f"c{n}"]
        if kind == "me":
            token = subject_service.issue_token(
                session,
                tier=Tier.person,
                subject_id=subject_id,
                org_id=None,
                ref=None,
                ttl=timedelta(hours=1),
                now=now,
            )
            minted.append(subject_tokens.mint(secret, Tier.person, token.id))
            continue
        grant = Grant(
            subject_id=subject_id,
            client_id="bench",
            redirect_uri=REDIRECT,
            name="my assistant",
            scopes=["read"],
            orgs=None,
            created_at=now,
            expires_at=now + timedelta(days=1),
            revoked_at=None,
        )
        session.add(grant)
        session.flush()
        access = GrantToken(
            grant_id=grant.id,
            kind="access",
            created_at=now,
            expires_at=now + timedelta(hours=1),
            used_at=None,
            revoked_at=None,
        )
        session.add(access)
        session.flush()
        minted.append(agent_tokens.mint(secret, agent_tokens.ACCESS, access.id))
    return minted


def measure(url: str, kind: str, calls: int) -> tuple[float, float]:
    """(requests/s, CPU µs per request) for `calls` requests of `kind` after a warm-up."""
    data = Path(tempfile.mkdtemp())
    engine = create_db_engine(url)
    schema.upgrade(engine)
    with session_scope(make_session_factory(engine)) as session:
        org, key = org_service.create(session, name="Org", now=system_clock())
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
            people: list[str] = []
            if kind.startswith("me"):
                secret = subject_tokens.load_or_create_secret(data / "secret")  # the app's own
                with session_scope(make_session_factory(engine)) as session:
                    people = me_tokens(session, kind, secret, org.id)

            async def one(i: int) -> None:
                method, path, body = _request(kind, i)
                own = {"Authorization": f"Bearer {people[i % CUSTOMERS]}"} if people else None
                answer = await client.request(method, path, json=body, headers=own)
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
    parser.add_argument(
        "--kinds", default=",".join(KINDS[1:]), help=f"which, comma-separated, after healthz (of {KINDS[1:]})"
    )
    args = parser.parse_args(argv)
    kinds = ["healthz", *(k for k in args.kinds.split(",") if k in KINDS[1:])]
    console = Console()
    pg_url = postgres_url(args.postgres)
    table = Table(
        title=f"One request's CPU in process ({CALLERS} callers, {args.calls // 2:,} measured each)"
    )
    for column in ("backend", "kind", "req/s", "CPU µs/request", "times /healthz"):
        table.add_column(column, justify="left" if column in ("backend", "kind") else "right")
    for backend in ["sqlite"] + (["postgresql"] if pg_url else []):
        floor = 0.0
        for kind in kinds:
            url = _fresh_postgres(pg_url) if pg_url and backend == "postgresql" else ""
            url = url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
            rate, cpu = measure(url, kind, args.calls)
            floor = floor or cpu
            table.add_row(backend, kind, f"{rate:,.0f}", f"{cpu:,.0f}", f"{cpu / floor:.1f}")
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
