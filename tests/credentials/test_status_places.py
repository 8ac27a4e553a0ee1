"""Places in the hub's status lists: drawn at random, each given once, also to issuers racing each other."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

from sqlalchemy.orm import Session, sessionmaker

from harken.credentials import service
from harken.db import session_scope
from tests.conftest import Database
from tests.factories import T0


def test_a_place_does_not_tell_the_order_of_issue(session: Session) -> None:
    drawn = [service.allocate(session, size=1000, now=T0)[1] for _ in range(20)]
    assert len(set(drawn)) == 20 and drawn != sorted(drawn)


def test_a_full_list_opens_another(session: Session) -> None:
    places = [service.allocate(session, size=4, now=T0) for _ in range(6)]
    first = places[0][0]
    assert sorted(idx for list_id, idx in places[:4] if list_id == first) == [0, 1, 2, 3]
    assert places[4][0] == places[5][0] != first


def test_racing_issuers_never_share_a_place(fresh_database: Database) -> None:
    sessions = sessionmaker(fresh_database.engine, expire_on_commit=False)
    placed: list[tuple[uuid.UUID, int]] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def issue() -> None:
        start.wait()
        for _ in range(8):
            with session_scope(sessions) as session:
                place = service.allocate(session, size=16, now=T0)
            with lock:
                placed.append(place)

    threads = [threading.Thread(target=issue) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(placed) == 48 and len(set(placed)) == 48
    assert all(0 <= idx < 16 for _, idx in placed)
    assert max(Counter(list_id for list_id, _ in placed).values()) <= 16
