"""Group commit: units that wait together commit together, each still all or nothing, and no caller
hears of success before the commit that holds its unit."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import Future
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from harken.db import make_session_factory
from harken.decisions.models import ChangeCounter
from harken.writer import GroupWriter
from tests.conftest import Database


def put(key: uuid.UUID, version: int = 1) -> Any:
    def work(session: Session) -> int:
        session.add(ChangeCounter(id=key, version=version))
        session.flush()
        return version

    return work


def stored(sessions: sessionmaker[Session], keys: list[uuid.UUID]) -> set[uuid.UUID]:
    with sessions() as session:
        return set(session.execute(select(ChangeCounter.id).where(ChangeCounter.id.in_(keys))).scalars())


def held(writer: GroupWriter) -> threading.Event:
    """Occupy the writer until the event is set, so what is submitted meanwhile waits as one batch."""
    release = threading.Event()
    writer.submit(lambda _session: release.wait(10))
    return release


def test_units_waiting_together_commit_in_one_transaction(fresh_database: Database) -> None:
    sessions = make_session_factory(fresh_database.engine)
    writer = GroupWriter(sessions, prepare=lambda s: s)
    release = held(writer)
    keys = [uuid.uuid4() for _ in range(20)]
    done = [writer.submit(put(key, i)) for i, key in enumerate(keys)]
    release.set()
    assert [d.result(timeout=30) for d in done] == list(range(20))
    assert stored(sessions, keys) == set(keys)
    assert writer.batches == 2 and writer.units == 21


def test_a_failing_unit_is_rolled_back_alone_and_told_its_own_error(fresh_database: Database) -> None:
    sessions = make_session_factory(fresh_database.engine)
    writer = GroupWriter(sessions, prepare=lambda s: s)
    release = held(writer)
    first, twin, last = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def half_then_fail(session: Session) -> None:
        session.add(ChangeCounter(id=twin, version=1))
        session.flush()
        raise LookupError("no such thing")

    done = [writer.submit(put(first)), writer.submit(half_then_fail), writer.submit(put(last))]
    release.set()
    assert done[0].result(timeout=30) == 1 and done[2].result(timeout=30) == 1
    with pytest.raises(LookupError, match="no such thing"):
        done[1].result(timeout=30)
    assert stored(sessions, [first, twin, last]) == {first, last}


def test_a_later_unit_sees_what_an_earlier_one_in_its_batch_wrote(fresh_database: Database) -> None:
    sessions = make_session_factory(fresh_database.engine)
    writer = GroupWriter(sessions, prepare=lambda s: s)
    release = held(writer)
    key = uuid.uuid4()
    count = select(func.count()).select_from(ChangeCounter).where(ChangeCounter.id == key)
    wrote = writer.submit(put(key))
    seen = writer.submit(lambda session: session.execute(count).scalar_one())
    release.set()
    assert wrote.result(timeout=30) == 1 and seen.result(timeout=30) == 1


def test_no_caller_hears_success_when_the_commit_fails(fresh_database: Database) -> None:
    sessions = make_session_factory(fresh_database.engine)

    class Failing(Session):
        def commit(self) -> None:
            raise OSError("disk full")

    writer = GroupWriter(sessionmaker(fresh_database.engine, class_=Failing), prepare=lambda s: s)
    key = uuid.uuid4()
    done: Future[Any] = writer.submit(put(key))
    with pytest.raises(OSError, match="disk full"):
        done.result(timeout=30)
    assert stored(sessions, [key]) == set()


def test_what_a_failed_unit_left_in_the_sessions_caches_is_gone_for_the_next(
    fresh_database: Database,
) -> None:
    """A data key a unit made and cached, then rolled back with it, must not seal the next unit's data."""
    sessions = make_session_factory(fresh_database.engine)
    writer = GroupWriter(sessions, prepare=lambda s: s)
    release = held(writer)

    def cache_then_fail(session: Session) -> None:
        session.info.setdefault("keys", {})["ana"] = b"made, then rolled back"
        raise LookupError("later in the same unit")

    failed = writer.submit(cache_then_fail)
    seen = writer.submit(lambda session: session.info.get("keys", {}).get("ana"))
    release.set()
    with pytest.raises(LookupError):
        failed.result(timeout=30)
    assert seen.result(timeout=30) is None


def test_a_batch_that_did_not_commit_is_reported_lost(fresh_database: Database) -> None:
    class Failing(Session):
        def commit(self) -> None:
            raise OSError("disk full")

    lost: list[bool] = []
    writer = GroupWriter(
        sessionmaker(fresh_database.engine, class_=Failing),
        prepare=lambda s: s,
        lost=lambda: lost.append(True),
    )
    with pytest.raises(OSError):
        writer.submit(put(uuid.uuid4())).result(timeout=30)
    assert lost == [True]
