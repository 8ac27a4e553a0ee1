"""Fresh databases for one bench run: a SQLite file in a temp directory, or a PostgreSQL schema of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from harken.db import create_db_engine

POSTGRES_ENV = "HARKEN_TEST_POSTGRES_URL"


@dataclass(frozen=True)
class BenchDatabase:
    backend: str  # "sqlite" or "postgresql"
    url: str  # what the server and the CLI get as HARKEN_DATABASE_URL
    schema: str | None = None  # the PostgreSQL schema made for this run


def postgres_url(option: str | None) -> str | None:
    """--postgres URL, else $HARKEN_TEST_POSTGRES_URL, else None (PostgreSQL is skipped)."""
    return option or os.environ.get(POSTGRES_ENV) or None


def backends(pg_url: str | None) -> list[str]:
    return ["sqlite", "postgresql"] if pg_url else ["sqlite"]


@contextmanager
def fresh_database(backend: str, directory: Path, pg_url: str | None) -> Iterator[BenchDatabase]:
    """A new, empty database; a PostgreSQL schema is dropped again when the block ends."""
    if backend == "sqlite":
        path = directory / f"harken-bench-{uuid.uuid4().hex[:8]}.db"
        try:
            yield BenchDatabase("sqlite", f"sqlite:///{path}")
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    if not pg_url:
        raise ValueError("PostgreSQL needs --postgres URL or $" + POSTGRES_ENV)
    schema = f"harken_bench_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(pg_url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in pg_url else "?"
        try:
            yield BenchDatabase("postgresql", f"{pg_url}{separator}options=-csearch_path%3D{schema}", schema)
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
