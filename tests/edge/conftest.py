from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from harken.app import create_app
from harken.centre.mail import MemoryMailer
from harken.config import Settings
from tests.factories import FixedClock


@pytest.fixture
def hub_with(
    settings: Settings,
    engine: Engine,
    sessions: sessionmaker[Session],
    clock: FixedClock,
    mailer: MemoryMailer,
    tmp_path: Path,
) -> Callable[..., TestClient]:
    """The test's hub with some settings changed, and a data directory of its own: its own secret, so
    its rate counts start from nothing even where the counts are shared (PostgreSQL)."""

    def build(**changes: Any) -> TestClient:
        changed = settings.model_copy(update={"data_dir": tmp_path / "data", **changes})
        app = create_app(changed, engine=engine, sessions=sessions, clock=clock, mailer=mailer)
        return TestClient(app, raise_server_exceptions=True)

    return build
