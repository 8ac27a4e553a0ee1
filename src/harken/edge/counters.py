"""Where rate-limit counts live, so that every worker and every node counts the same requests.

One row per (bucket, window): `bucket` a keyed digest of what is counted (a policy and an address or a
credential, never in clear), `window_start` the fixed window's first second, `hits` the count. A request
is one statement, an upsert of its two or three buckets that returns their counts; the first request a
process sees in a new window also deletes the windows before it. Counts are worth nothing once their
window has passed, so none of this is made durable:

- PostgreSQL: the `rate_counts` table in the database (migration 0014), UNLOGGED, written outside any
  request transaction, in autocommit (no WAL, so no flush at commit), on a connection of each
  process's own. Every node of a deployment shares it.
- SQLite: a file of its own, `HARKEN_DATA_DIR/limits.db` (WAL, synchronous=OFF), so that counting never
  waits for the main database's single writer. The table of the same name in the main database stays
  empty. Every worker of `harken serve` on this machine shares the file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import psycopg
from anyio import to_thread
from sqlalchemy import Engine

from harken.config import Settings
from harken.db import create_owner_only


class Counters(Protocol):
    async def add(self, window_start: int, increments: Mapping[str, int]) -> dict[str, int]:
        """Add each increment (0 reads) to its bucket's count in the window; every bucket's new count."""
        ...

    async def open(self) -> None:
        """At the server's startup, on the event loop that will serve its requests."""

    async def close(self) -> None: ...


def _upsert(rows: int, placeholder: str) -> str:
    values = ", ".join(f"({placeholder}, {placeholder}, {placeholder})" for _ in range(rows))
    return (
        f"INSERT INTO rate_counts (bucket, window_start, hits) VALUES {values} "
        "ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_counts.hits + excluded.hits "
        "RETURNING bucket, hits"
    )


def _parameters(window_start: int, increments: Mapping[str, int]) -> list[str | int]:
    return [value for bucket, n in increments.items() for value in (bucket, window_start, n)]


class SqliteCounters:
    """Counts in a SQLite file of their own, written from the event loop: one statement takes tens of
    microseconds, less than handing it to a thread would."""

    def __init__(self, path: Path) -> None:
        create_owner_only(path)  # what it counts is keyed digests, but the hub's files are its own
        # autocommit: each statement its own transaction; check_same_thread off because the test
        # client may run the loop on another thread per request (never two at once).
        self.connection = sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=OFF")
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS rate_counts (bucket VARCHAR(32) NOT NULL, "
            "window_start BIGINT NOT NULL, hits INTEGER NOT NULL, PRIMARY KEY (bucket, window_start)) "
            "WITHOUT ROWID"
        )
        self.current = 0

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass  # the connection lives as long as the app, which tests build many of in one process

    async def add(self, window_start: int, increments: Mapping[str, int]) -> dict[str, int]:
        if window_start != self.current:
            self.connection.execute("DELETE FROM rate_counts WHERE window_start < ?", (window_start,))
            self.current = window_start
        rows = self.connection.execute(
            _upsert(len(increments), "?"), _parameters(window_start, increments)
        ).fetchall()
        return dict(rows)


class PostgresCounters:
    """Counts in the database's UNLOGGED table, on a connection of their own in autocommit, used from
    the event loop once the server has started (one round trip, no thread, no pool). Before that (a
    test client that runs no lifespan), through the app's pool from the thread pool."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.connection: psycopg.AsyncConnection[tuple[str, int]] | None = None
        self.current = 0

    async def open(self) -> None:
        self.connection = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()
            self.connection = None

    async def add(self, window_start: int, increments: Mapping[str, int]) -> dict[str, int]:
        if self.connection is None:
            return await to_thread.run_sync(self._add, window_start, increments)
        if self.connection.broken:  # the server restarted or the network dropped: reconnect once
            await self.open()
        assert self.connection is not None
        if window_start != self.current:
            await self.connection.execute("DELETE FROM rate_counts WHERE window_start < %s", (window_start,))
            self.current = window_start
        cursor = await self.connection.execute(
            _upsert(len(increments), "%s"), _parameters(window_start, increments)
        )
        return dict(await cursor.fetchall())

    def _add(self, window_start: int, increments: Mapping[str, int]) -> dict[str, int]:
        with self.engine.connect() as connection:
            if window_start != self.current:
                connection.exec_driver_sql("DELETE FROM rate_counts WHERE window_start < %s", (window_start,))
                self.current = window_start
            rows = connection.exec_driver_sql(
                _upsert(len(increments), "%s"), tuple(_parameters(window_start, increments))
            ).all()
        return {bucket: hits for bucket, hits in rows}


def open_counters(settings: Settings, engine: Engine) -> Counters:
    """The store every process of this deployment shares: see the module's docstring."""
    if engine.dialect.name == "sqlite":
        return SqliteCounters(settings.data_dir / "limits.db")
    return PostgresCounters(engine)
