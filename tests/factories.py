"""Builders for test data, and the fake clock the app is handed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from harken.orgs import service as org_service
from harken.orgs.models import Org

T0 = datetime(2026, 11, 2, 8, 10, tzinfo=UTC)


@dataclass
class FixedClock:
    """A clock that stands still until a test moves it."""

    now: datetime = field(default=T0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def make_org(session: Session, name: str = "Skyway Airlines") -> tuple[Org, str]:
    org, key = org_service.create(session, name=name, now=T0)
    session.commit()
    return org, key


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def org_client(client: TestClient, session: Session, name: str = "Skyway Airlines") -> dict[str, str]:
    """Headers of a new org's API key."""
    _, key = make_org(session, name)
    return auth(key)


def grant(
    client: TestClient, headers: dict[str, str], ref: str, purpose: str = "marketing", **fields: Any
) -> dict[str, Any]:
    client.put(f"/v1/subjects/{ref}", headers=headers).raise_for_status()
    body = {"status": "granted", "channels": ["email"], **fields}
    response = client.put(f"/v1/subjects/{ref}/consents/{purpose}", headers=headers, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
