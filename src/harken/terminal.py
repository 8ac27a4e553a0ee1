"""What every CLI command shares: the terminal, and the store opened from the settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NoReturn

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from harken import schema
from harken.config import Settings
from harken.db import create_db_engine, make_session_factory

console = Console()
errors = Console(stderr=True)


@dataclass(frozen=True)
class Store:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]


@contextmanager
def open_store(*, migrated: bool = True) -> Iterator[Store]:
    """The configured database, closed afterwards; exits with a one-line reason if it is not at
    this Harken's schema."""
    settings = Settings()
    engine = create_db_engine(settings.database_url)
    try:
        if migrated:
            try:
                schema.check(engine)
            except schema.SchemaMismatch as exc:
                fail(str(exc))
        yield Store(settings, engine, make_session_factory(engine))
    finally:
        engine.dispose()


def fail(message: str) -> NoReturn:
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(1)
