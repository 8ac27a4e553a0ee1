"""Fixtures: every storage test runs on SQLite and, when HARKEN_TEST_POSTGRES_URL is set, on PostgreSQL
(`--sqlite-only` leaves the PostgreSQL cases out, as `make test-fast` does).

Each test runs inside a transaction that is rolled back; end-to-end tests get a real server process
on a database of their own. Under pytest-xdist each worker process has its own session: its own
SQLite files and PostgreSQL schemas, data directory and keys, so tests share no state across workers.
The browser tests are marked `serial` here, wherever they are: `make test` runs them alone, after
the parallel part.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from ipaddress import IPv4Network
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from harken import schema
from harken.app import create_app
from harken.centre.mail import MemoryMailer
from harken.config import Settings
from harken.db import create_db_engine
from harken.ledger import keys
from harken.ledger.service import Notary
from harken.subjects import tokens, vault
from tests.centre_client import Visitor
from tests.factories import FixedClock
from tests.live import UNLIMITED, LiveHub, serve

POSTGRES_URL = os.environ.get("HARKEN_TEST_POSTGRES_URL")
NO_POSTGRES = (
    "PostgreSQL tests need HARKEN_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1/test)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--sqlite-only", action="store_true", help="leave out the PostgreSQL cases (not even skipped)"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    browser = Path(__file__).parent / "browser"
    for item in items:
        if item.path.is_relative_to(browser):
            # One Chromium per test process, pages waited on with timeouts: alone, not beside others.
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.serial)
    if config.getoption("--sqlite-only"):
        postgresql = [item for item in items if _backend(item) == "postgresql"]
        if postgresql:
            config.hook.pytest_deselected(items=postgresql)
            items[:] = [item for item in items if _backend(item) != "postgresql"]


def _backend(item: pytest.Item) -> object:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("backend") if callspec else None


class Database:
    """A fresh, migrated database: a SQLite file, or a PostgreSQL schema of its own."""

    def __init__(self, backend: str, directory: Path) -> None:
        self.backend = backend
        if backend == "sqlite":
            self.url = f"sqlite:///{directory / f'harken-{uuid.uuid4().hex[:8]}.db'}"
            self._schema = None
        else:
            if not POSTGRES_URL:
                pytest.skip(NO_POSTGRES)
            self._schema = f"harken_test_{uuid.uuid4().hex[:10]}"
            admin = create_db_engine(POSTGRES_URL)
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{self._schema}"'))
            admin.dispose()
            separator = "&" if "?" in POSTGRES_URL else "?"
            self.url = f"{POSTGRES_URL}{separator}options=-csearch_path%3D{self._schema}"
        self.engine = create_db_engine(self.url)
        schema.upgrade(self.engine)

    def drop(self) -> None:
        self.engine.dispose()
        if self._schema and POSTGRES_URL:
            admin = create_db_engine(POSTGRES_URL)
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{self._schema}" CASCADE'))
            admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    return str(request.param)


@pytest.fixture(scope="session")
def database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = Database(backend, tmp_path_factory.mktemp(backend))
    yield db
    db.drop()


@pytest.fixture
def fresh_database(backend: str, tmp_path: Path) -> Iterator[Database]:
    """A database of the test's own, for tests that commit (tampering, servers, concurrency)."""
    db = Database(backend, tmp_path)
    yield db
    db.drop()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # The tests' webhook receivers listen on this machine, which a hub refuses by default; rate limits
    # high enough that no test trips one by accident.
    return Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        checkpoint_every=5,
        webhook_allowed_networks=[IPv4Network("127.0.0.0/8")],
        **UNLIMITED,
    )


@pytest.fixture(scope="session")
def notary(settings: Settings) -> Notary:
    return Notary(keys.load_or_create(settings.keys_dir), settings.checkpoint_every)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def engine(database: Database) -> Engine:
    return database.engine


@pytest.fixture
def sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions inside one outer transaction, rolled back after the test: commits become savepoints."""
    with engine.connect() as connection:
        outer = connection.begin()
        yield sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        outer.rollback()


@pytest.fixture
def session(sessions: sessionmaker[Session], settings: Settings) -> Iterator[Session]:
    """A unit of work given the hub's secret, as the hub's own are: it seals and opens people's data."""
    with sessions() as session:
        yield vault.bind(session, tokens.load_or_create_secret(settings.data_dir / "secret"))


@pytest.fixture
def mailer() -> MemoryMailer:
    """The mail the hub sends, kept for the test to read."""
    return MemoryMailer()


@pytest.fixture
def client(
    settings: Settings,
    engine: Engine,
    sessions: sessionmaker[Session],
    clock: FixedClock,
    mailer: MemoryMailer,
) -> TestClient:
    app = create_app(settings, engine=engine, sessions=sessions, clock=clock, mailer=mailer)
    return TestClient(app, raise_server_exceptions=True)


@pytest.fixture
def visitor(client: TestClient, mailer: MemoryMailer) -> Callable[..., Visitor]:
    """A new browser of its own (own cookies) in the Preference Centre of the test's hub."""
    return lambda **headers: Visitor(client.app, mailer, **headers)


@pytest.fixture
def hub_pair(backend: str, tmp_path: Path) -> Iterator[tuple[LiveHub, LiveHub]]:
    """Two independent hubs (own databases, own keys)."""
    first, second = Database(backend, tmp_path / "a"), Database(backend, tmp_path / "b")
    try:
        with serve(first.url, tmp_path / "a-data") as a, serve(second.url, tmp_path / "b-data") as b:
            yield a, b
    finally:
        first.drop()
        second.drop()
