"""Storage wiring: the engine (SQLite in WAL or PostgreSQL), sessions, portable column types.

Services never commit: `session_scope()` (CLI, workers) and the request dependency (HTTP)
commit or roll back, so a change and its ledger entry land together or not at all.
"""

from __future__ import annotations

import fcntl
import os
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, cast

from sqlalchemy import JSON, Connection, DateTime, Engine, MetaData, Table, Uuid, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")
# A JSON column that may be empty: None is SQL NULL (IS NULL finds it), never the JSON value null, by
# INSERT and by insert_many's bulk ways alike (COPY writes NULL for None whatever the column).
NullableJSON = JSON(none_as_null=True)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: Harken stores only timezone-aware times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        uuid.UUID: Uuid,
        dict[str, Any]: JSONType,
    }


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with Harken's storage rules applied.

    SQLite: WAL, synchronous=FULL (a commit is on disk before the call returns), foreign keys,
    a busy timeout, and BEGIN IMMEDIATE for every transaction that may write, so two writers
    queue for the lock instead of failing on upgrade from reader to writer (see WriterSlot).
    """
    if url.startswith("sqlite"):
        path = make_url(url).database or ""
        on_disk = path not in ("", ":memory:")
        if on_disk:
            create_owner_only(Path(path))
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _apply_sqlite_rules(engine, WriterSlot(Path(f"{path}-writer.lock") if on_disk else None))
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def create_owner_only(path: Path) -> None:
    """Create the SQLite file (and a missing directory) readable by the hub's user alone, before
    SQLite opens it: SQLite makes a new file 0644, and gives the -wal, -shm and -journal files it
    creates beside a database the database file's own permissions. Creating the file with the mode
    leaves no moment at which another user could open it (chmod afterwards would), and changes no
    process-wide umask. An existing file keeps the permissions its operator gave it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


class WriterSlot:
    """SQLite takes one writer at a time. Writers queue here, on a thread lock and (for a database
    file) an flock shared by every process: both wake a waiter the moment the slot frees, where
    SQLite's own busy handler makes waiters sleep and poll, which under load costs far more than
    the write itself."""

    def __init__(self, lock_file: Path | None) -> None:
        self._thread = threading.Lock()
        self._fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600) if lock_file else None

    def acquire(self) -> None:
        if not self._thread.acquire(timeout=30):
            raise TimeoutError("waited 30 s for the SQLite write lock")
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread.release()


def _apply_sqlite_rules(engine: Engine, writer: WriterSlot) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get("harken_readonly", False):
            connection.exec_driver_sql("BEGIN")
            return
        # The slot is held until the connection goes back to the pool, i.e. after COMMIT has
        # returned (engine commit events fire before it), and a connection keeps its slot across
        # the transactions it runs in between.
        if not connection.info.get("harken_writer"):
            writer.acquire()
            connection.info["harken_writer"] = True
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    def _free(_dbapi_connection: Any, record: Any, *_: Any) -> None:
        if record is not None and record.info.pop("harken_writer", False):
            writer.release()

    for leaving in ("checkin", "invalidate", "detach"):  # however a connection leaves service
        event.listen(engine.pool, leaving, _free)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back if it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def readonly(engine: Engine) -> Engine:
    """The same engine, opening transactions that only read (no write lock on SQLite)."""
    return engine.execution_options(harken_readonly=True)


# INSERT with ON CONFLICT, per backend (both spell it alike, through different constructs).
DIALECT_INSERT: dict[str, Any] = {"postgresql": pg_insert, "sqlite": sqlite_insert}


def insert_ignore(session: Session, model: type[Base], values: dict[str, Any]) -> None:
    """INSERT the row unless one with the same key exists (ON CONFLICT DO NOTHING, on both backends)."""
    insert = DIALECT_INSERT[session.get_bind().dialect.name]
    session.execute(insert(model).values(values).on_conflict_do_nothing())


COPY_FROM = 100  # rows: fewer go as one INSERT (a statement already prepared beats COPY's extra round trip)


def insert_many(db: Connection, into: type[Base] | Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT the rows (a value for every column of the table, or the model's, in this transaction). From
    COPY_FROM rows on, the bulk way: on PostgreSQL a binary COPY, some twice as fast as a multi-row
    INSERT for the thousands of rows of an import and cheaper for the server to read than text; on SQLite
    the driver's own executemany. None is SQL NULL either way: a JSON column that may be empty is a
    NullableJSON, so an INSERT stores NULL too."""
    table = into if isinstance(into, Table) else cast(Table, into.__table__)
    if not rows:
        return
    if len(rows) < COPY_FROM:
        db.execute(table.insert(), list(rows))
        return
    if db.dialect.name == "sqlite":
        _insert_sqlite(db, table, rows)
        return
    keys = [c.key for c in table.columns]
    names = ", ".join(f'"{c.name}"' for c in table.columns)
    cursor = db.connection.driver_connection.cursor()  # type: ignore[union-attr]
    types = dict(cursor.execute(_COLUMN_TYPES, (table.name,)).fetchall())
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT BINARY)') as copy:
        copy.set_types([types[c.name] for c in table.columns])
        for row in rows:
            copy.write_row([row[key] for key in keys])


def _insert_sqlite(db: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """The DB-API's executemany, each value through its column type's own bind processor: what an
    INSERT stores, without SQLAlchemy's work per row (a third of a bulk import's time on SQLite)."""
    columns = list(table.columns)
    convert = [(c.key, c.type.dialect_impl(db.dialect).bind_processor(db.dialect)) for c in columns]
    names = ", ".join(f'"{c.name}"' for c in columns)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(columns))})'
    values = [[process(row[key]) if process else row[key] for key, process in convert] for row in rows]
    db.connection.driver_connection.executemany(sql, values)  # type: ignore[union-attr]


# Each column's type, as COPY's binary format needs it: the table the connection's search path finds.
_COLUMN_TYPES = """
    SELECT attname, atttypid::int FROM pg_attribute
    WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped
"""
