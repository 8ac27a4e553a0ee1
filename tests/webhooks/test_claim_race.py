"""Two worker processes claiming from one database at the same moment: no delivery is claimed twice, and
between them they claim every one. On PostgreSQL the claims truly overlap (row locks decide); on SQLite
they queue for the writer lock, across processes."""

from __future__ import annotations

import multiprocessing
import queue
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from harken.app import create_app
from harken.centre.mail import MemoryMailer
from harken.config import Settings
from harken.db import make_session_factory
from harken.webhooks.models import Delivery
from tests.conftest import Database
from tests.factories import FixedClock, auth, make_org
from tests.webhooks.claiming import WAIT, claim_all

CUSTOMERS = 120  # one delivery each: a customer's second would wait for the first (per-customer order)


@pytest.mark.slow
def test_two_workers_never_claim_the_same_delivery(fresh_database: Database, settings: Settings) -> None:
    clock = FixedClock()
    sessions = make_session_factory(fresh_database.engine)
    app = create_app(
        settings, engine=fresh_database.engine, sessions=sessions, clock=clock, mailer=MemoryMailer()
    )
    with sessions() as session:
        _, key = make_org(session, "Chapter & Verse")
    client, headers = TestClient(app), auth(key)
    hook = {"url": "http://127.0.0.1:9/hooks", "events": ["consent.updated"]}  # never called: only claimed
    client.post("/v1/webhooks", headers=headers, json=hook).raise_for_status()
    for n in range(CUSTOMERS):
        client.put(f"/v1/subjects/c-{n}", headers=headers).raise_for_status()
        body = {"status": "granted", "channels": ["email"]}
        client.put(f"/v1/subjects/c-{n}/consents/marketing", headers=headers, json=body).raise_for_status()
    with sessions() as session:
        pending = set(session.scalars(select(Delivery.id).where(Delivery.status == "pending")))
    assert len(pending) == CUSTOMERS

    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: no engine, thread or lock forked
    start, results = spawn.Barrier(2), spawn.Queue()
    args = (fresh_database.url, str(settings.data_dir / "secret"), clock(), start, results)
    workers = [spawn.Process(target=claim_all, args=args) for _ in range(2)]
    for process in workers:
        process.start()
    try:
        reports = [results.get(timeout=WAIT) for _ in workers]
    except queue.Empty:
        pytest.fail(f"a worker reported nothing within {WAIT} s")
    finally:
        for process in workers:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    assert [r for r in reports if isinstance(r, str)] == [], "a worker failed"
    mine, theirs = ([(uuid.UUID(d), token) for d, token in r] for r in reports if isinstance(r, list))

    claimed_twice = {d for d, _ in mine} & {d for d, _ in theirs}
    assert claimed_twice == set(), f"{len(claimed_twice)} deliveries claimed by both workers"
    assert len(mine) + len(theirs) == CUSTOMERS, "a worker claimed one delivery twice"
    assert {d for d, _ in mine + theirs} == pending, "some deliveries were left unclaimed"
    assert mine and theirs, "one worker claimed everything: the two never raced"
    with sessions() as session:
        stored = {d: claim for d, claim in session.execute(select(Delivery.id, Delivery.claim))}
    assert all(stored[d] == token for d, token in mine + theirs), "a reported claim is not the stored one"
