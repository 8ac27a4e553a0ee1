"""/readyz: 200 with each check when the hub can serve, 503 naming the check that failed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from harken import schema
from harken.db import create_db_engine, make_session_factory
from harken.deps import Hub
from harken.observe.api import _checks


def test_ready_says_each_check(client: TestClient) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok", "keys": "ok"}}


def test_a_database_one_migration_behind_is_not_ready(
    app_with: Callable[..., TestClient], session: Session
) -> None:
    client = app_with()  # built at this Harken's schema; the database then falls behind
    config = Config()
    config.set_main_option("script_location", str(schema.MIGRATIONS))
    previous = ScriptDirectory.from_config(config).get_revision(schema.head()).down_revision
    assert isinstance(previous, str)
    session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": previous})
    session.commit()  # a savepoint of the test's transaction, rolled back after it

    refused = client.get("/readyz")
    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "/problems/not-ready" and problem["status"] == 503
    assert problem["checks"]["database"] == "ok" and problem["checks"]["keys"] == "ok"
    assert previous in problem["checks"]["migrations"] and schema.head() in problem["checks"]["migrations"]
    assert problem["detail"].startswith("migrations: ")
    assert "x-request-id" in refused.headers


def test_an_unreachable_database_is_named(client: TestClient) -> None:
    hub: Hub = client.app.state.hub  # type: ignore[attr-defined]
    nowhere = create_db_engine(
        "postgresql+psycopg://harken:secret-password@127.0.0.1:1/none"
    )  # nothing listens
    checks = _checks(dataclasses.replace(hub, sessions=make_session_factory(nowhere)))
    assert checks["database"] == "unreachable (OperationalError)"
    assert checks["migrations"].startswith("unknown") and checks["keys"] == "ok"
    assert "secret-password" not in str(checks)
