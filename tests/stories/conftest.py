from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Database
from tests.live import LiveHub, serve


@pytest.fixture
def hub(fresh_database: Database, tmp_path: Path) -> Iterator[LiveHub]:
    """A real server process, on SQLite or PostgreSQL, with its own database and keys."""
    with serve(fresh_database.url, tmp_path / "data") as live:
        yield live
