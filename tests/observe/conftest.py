"""An app of the test's own over the test's database, with the settings the test needs, and reading
/metrics as numbers."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from harken.app import create_app
from harken.config import Settings
from tests.factories import FixedClock

TOKEN = "metrics-token-for-tests"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def address() -> str:
    """A client address of the test's own (TEST-NET-3), so the rate limits it trips are its own."""
    return f"203.0.113.{random.randrange(1, 255)}"


@pytest.fixture
def app_with(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session], clock: FixedClock
) -> Callable[..., TestClient]:
    """A client of an app built with `settings` changed by the keyword arguments; `client=(host, port)`
    sets the client address."""

    def build(client: tuple[str, int] | None = None, **changes: Any) -> TestClient:
        changed = Settings(**{**settings.model_dump(), **changes})  # validated, as from the environment
        app = create_app(changed, engine=engine, sessions=sessions, clock=clock)
        return TestClient(app, client=client or (address(), 50000))

    return build


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)
