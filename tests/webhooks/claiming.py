"""A webhook worker process that only claims, for tests/webhooks/test_claim_race.py: a module of its own
so that a spawned process imports the worker and the database alone, not the app and the test fixtures."""

from __future__ import annotations

import queue
from datetime import datetime
from multiprocessing.synchronize import Barrier
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from harken.db import create_db_engine, make_session_factory, session_scope
from harken.subjects import tokens, vault
from harken.webhooks import worker
from harken.webhooks.models import Delivery

BATCH = 3  # small claims, so the two workers take turns many times
WAIT = 120  # seconds, for a worker to start and to finish


def claim_all(
    url: str,
    secret_file: str,
    now: datetime,
    start: Barrier,
    results: queue.Queue[list[tuple[str, str]] | str],
) -> None:
    """A worker process: claim BATCH at a time until nothing is left; report (delivery id, claim token)."""
    engine = create_db_engine(url)
    sessions = make_session_factory(engine)
    secret = tokens.load_or_create_secret(Path(secret_file))
    taken: list[tuple[str, str]] = []
    try:
        start.wait(timeout=WAIT)
        while True:
            with session_scope(sessions) as session:
                batch = worker.claim(vault.bind(session, secret), now=now, limit=BATCH)
            taken += [(str(c.delivery_id), c.claim) for c in batch]
            if not batch and unclaimed(sessions) == 0:
                break  # a claim comes back empty too when the other worker won all it had picked
        results.put(taken)
    except BaseException as exc:
        results.put(f"{type(exc).__name__}: {exc}")
        raise
    finally:
        engine.dispose()


def unclaimed(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        waiting = select(func.count()).where(Delivery.status == "pending", Delivery.claim.is_(None))
        return session.execute(waiting).scalar_one()
