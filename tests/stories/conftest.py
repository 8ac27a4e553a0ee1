from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.centre_client import Visitor
from tests.conftest import Database
from tests.factories import org_client
from tests.live import LiveHub, serve


@pytest.fixture
def hub(fresh_database: Database, tmp_path: Path) -> Iterator[LiveHub]:
    """A real server process, on SQLite or PostgreSQL, with its own database and keys, mailing to a
    directory (`hub.visitor()` signs in with the links it finds there)."""
    mail = {"HARKEN_MAILER": f"directory:{tmp_path / 'mail'}"}
    with serve(fresh_database.url, tmp_path / "data", extra_env=mail) as live:
        yield live


class Business:
    """An org integrating through the HTTP API, as the stories tell it: no internals."""

    def __init__(self, client: TestClient, session: Session, name: str) -> None:
        self.client = client
        self.headers = org_client(client, session, name)

    def call(self, method: str, path: str, json: Any = None, status: int | None = None) -> Any:
        response = self.client.request(method, path, headers=self.headers, json=json)
        assert response.status_code < 400 if status is None else response.status_code == status, response.text
        return response.json() if response.content else None

    def customer(
        self, ref: str, *, email: str | None = None, grant: dict[str, list[str]] | None = None
    ) -> Customer:
        """Register `ref`, record the consents in `grant` (purpose → channels), hand back the customer's app."""
        self.call("PUT", f"/v1/subjects/{ref}", {"email": email} if email else {})
        for purpose, channels in (grant or {}).items():
            self.call(
                "PUT", f"/v1/subjects/{ref}/consents/{purpose}", {"status": "granted", "channels": channels}
            )
        token = self.call("POST", f"/v1/subjects/{ref}/sessions")["token"]
        return Customer(self.client, token)

    def offer(self, offer_id: str, **spec: Any) -> None:
        self.call("PUT", f"/v1/offers/{offer_id}", {"title": offer_id.replace("-", " "), **spec})

    def decide(
        self, ref: str, offers: list[str], channels: list[str], purpose: str = "marketing", **extra: Any
    ) -> Any:
        body = {"subject": ref, "purpose": purpose, "channels": channels, "offer_ids": offers, **extra}
        return self.call("POST", "/v1/decisions", body, status=200)

    def sees(self, ref: str) -> dict[str, Any]:
        """The fields this org may read about its customer → their values."""
        view = self.call("GET", f"/v1/subjects/{ref}")
        return {d["field"]: d["value"] for d in view["data"]}


class Customer:
    """The customer, through the app of the org that minted their token."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, json: Any = None) -> Any:
        response = self.client.request(method, path, headers=self.headers, json=json)
        assert response.status_code < 400, response.text
        return response.json() if response.content else None

    def context(self, **context: Any) -> None:
        self.call("PUT", "/v1/me/context", context)

    def preferences(self, **preferences: Any) -> None:
        self.call("PATCH", "/v1/me/preferences", preferences)


def codes(decision: dict[str, Any]) -> list[str]:
    return [r["code"] for r in decision["reasons"]]


def candidate(decision: dict[str, Any], offer_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in decision["ranking"] if r["offer_id"] == offer_id)
    return found


def dropped_for(decision: dict[str, Any], offer_id: str) -> list[str]:
    ranked = candidate(decision, offer_id)
    assert not ranked["eligible"], ranked
    return [r["code"] for r in ranked["reasons"]]


@pytest.fixture
def business(client: TestClient, session: Session) -> Callable[[str], Business]:
    """Businesses on one hub (in-process, on the test's clock)."""
    return lambda name: Business(client, session, name)


@pytest.fixture
def verified(client: TestClient, visitor: Callable[..., Visitor]) -> Callable[[str], Customer]:
    """The person behind an email address, as they are once they proved it: signed in to the centre by
    magic link, said "yes, that's me" to every business that claims the address, and made a token
    (`hp_…`) for their own app."""

    def open_as(email: str) -> Customer:
        browser = visitor()
        browser.sign_in(email)
        return Customer(client, browser.person_token())

    return open_as
