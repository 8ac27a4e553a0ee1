"""Group commit: one thread runs the units of work waiting for it in one transaction, each inside a
savepoint of its own, commits once, and only then answers each caller.

A 2xx still means durable (no unit's caller hears of it before the COMMIT that holds it has
returned) and each unit is still all or nothing (a unit that raises is rolled back to its savepoint,
the others commit). What is shared is the cost that does not grow with the work: one BEGIN, one
COMMIT, one fsync for however many units waited. A unit sees the units before it in its batch, as it
would see them committed: a decision counts the contacts that decisions still pending allowed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
Unit = tuple[Callable[[Session], Any], "Future[Any]"]


IDLE = 5.0  # seconds without work after which the thread ends (the next unit starts another)


class GroupWriter:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        prepare: Callable[[Session], Session],
        lost: Callable[[], None] = lambda: None,
        largest: int = 128,
    ) -> None:
        """`prepare` readies each batch's session (the hub binds its secret); `lost` is told when a batch
        did not commit (what was remembered from inside it may not hold); `largest` bounds a batch, so
        one caller never waits behind an unbounded queue."""
        self.sessions, self.prepare, self.lost, self.largest = sessions, prepare, lost, largest
        self._waiting: queue.SimpleQueue[Unit] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.batches = self.units = 0

    def submit(self, work: Callable[[Session], T]) -> Future[T]:
        done: Future[T] = Future()
        with self._lock:
            self._waiting.put((work, done))
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="harken-writer", daemon=True)
                self._thread.start()
        return done

    def _serve(self) -> None:
        while True:
            try:
                batch = [self._waiting.get(timeout=IDLE)]
            except queue.Empty:
                with self._lock:  # no unit can be put between this check and the end
                    if self._waiting.empty():
                        self._thread = None
                        return
                continue
            while len(batch) < self.largest:
                try:
                    batch.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            self._commit(batch)

    def _commit(self, batch: list[Unit]) -> None:
        outcomes: list[tuple[Future[Any], bool, Any]] = []
        try:
            with self.sessions() as session:
                session = self.prepare(session)
                for work, done in batch:
                    if not done.set_running_or_notify_cancel():
                        continue
                    kept = _copy(session.info)
                    try:
                        with session.begin_nested():
                            outcomes.append((done, True, work(session)))
                    except Exception as failed:  # the unit's own failure: rolled back, told to its caller
                        # and what it left in the session's caches too (a data key it made, say)
                        session.info.clear()
                        session.info.update(kept)
                        outcomes.append((done, False, failed))
                session.commit()
        except BaseException as failed:  # the batch did not commit: nothing in it is durable
            self.lost()
            for _work, done in batch:
                if not done.done():
                    done.set_exception(failed)
            if not isinstance(failed, Exception):
                raise
            return
        self.batches += 1
        self.units += len(batch)
        for done, ok, value in outcomes:
            if ok:
                done.set_result(value)
            else:
                done.set_exception(value)


def _copy(info: dict[Any, Any]) -> dict[Any, Any]:
    """The session's info as it stands, its caches (dicts) copied: what to go back to after a unit."""
    return {key: dict(value) if isinstance(value, dict) else value for key, value in info.items()}
