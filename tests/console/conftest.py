"""The console's tests: businesses speaking HTTP (the stories' `business`), their staff added as the
operator adds them, and a browser without script signed in to the console by the mailed link."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.centre.mail import MemoryMailer
from harken.console import service as staff_service
from harken.ledger.models import LedgerEntry
from harken.ledger.service import Notary
from harken.orgs import service as org_service
from harken.orgs.models import Org
from tests.centre_client import csrf_of
from tests.factories import T0
from tests.stories.conftest import Business, business  # noqa: F401

LINK = re.compile(r"https?://\S+(/console/link/\S+)")


class Staffer:
    """One staff member's browser: its own cookies, following no redirects."""

    def __init__(self, app: Any, mailer: MemoryMailer, email: str) -> None:
        self.http = TestClient(app, follow_redirects=False)
        self.mailer, self.email = mailer, email

    def get(self, path: str, status: int = 200) -> httpx2.Response:
        response = self.http.get(path)
        assert response.status_code == status, (response.status_code, response.text[:3000])
        return response

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, page: str, status: int = 303
    ) -> httpx2.Response:
        """Post a form as the page at `page` would (its CSRF token included)."""
        token = csrf_of(self.get(page).text)
        response = self.http.post(path, data={"csrf": token, **(data or {})})
        assert response.status_code == status, (response.status_code, response.text[:3000])
        return response

    def request_link(self, status: int = 303) -> httpx2.Response:
        form = self.get("/console/sign-in").text
        response = self.http.post("/console/sign-in", data={"email": self.email, "csrf": csrf_of(form)})
        assert response.status_code == status, response.text[:2000]
        return response

    def latest_link(self) -> str:
        for message in reversed(self.mailer.sent):
            if message["To"] == self.email:
                found = LINK.search(message.get_content())
                assert found, message.get_content()
                return found.group(1)
        raise AssertionError(f"no mail to {self.email}")

    def open_link(self, link: str, status: int = 303) -> httpx2.Response:
        page = self.get(link).text
        token = re.search(r'name="token" value="([^"]+)"', page)
        assert token, page
        response = self.http.post(
            "/console/link", data={"csrf": csrf_of(page), "token": unescape(token.group(1))}
        )
        assert response.status_code == status, response.text[:2000]
        return response

    def sign_in(self) -> Staffer:
        self.request_link()
        opened = self.open_link(self.latest_link())
        assert opened.headers["location"] == "/console"
        return self


def row_id(page: str, label: str, before: str, after: str) -> str:
    """The id in the first `before…after` form action of the table row that shows `label`."""
    row = next(r for r in page.split("<tbody>", 1)[1].split("<tr>") if label in r)
    found = re.search(re.escape(before) + r"([0-9a-f-]{36})" + re.escape(after), row)
    assert found, row
    return found.group(1)


class Shop:
    """An org, speaking HTTP with its key, and the operator's hand on its staff."""

    def __init__(self, client: TestClient, session: Session, notary: Notary, mailer: MemoryMailer, name: str):
        self.api = Business(client, session, name)
        self.client, self.session, self.notary, self.mailer = client, session, notary, mailer
        found = org_service.by_name(session, name)
        assert found is not None
        self.org: Org = found

    def staff(self, email: str, role: str = "admin") -> Staffer:
        """A staff member added from the CLI's service, signed in."""
        staff_service.add(
            self.session, org=self.org, email=email, role=role, by="operator", notary=self.notary, now=T0
        )
        self.session.commit()
        return Staffer(self.client.app, self.mailer, email).sign_in()

    def entries(self, type_prefix: str = "") -> list[dict[str, Any]]:
        """The org chain's entries (type and data), oldest first."""
        self.session.expire_all()
        rows = self.session.execute(
            select(LedgerEntry.type, LedgerEntry.body)
            .where(LedgerEntry.chain == self.org.chain)
            .order_by(LedgerEntry.seq)
        )
        return [{"type": t, **json.loads(body)["data"]} for t, body in rows if t.startswith(type_prefix)]


QUESTION = {
    "text": {"en": "Coffee or tea?"},
    "fills": "interest:coffee",
    "options": [
        {"id": "coffee", "label": {"en": "Coffee"}, "value": {"affinity": 0.9}},
        {"id": "tea", "label": {"en": "Tea"}, "value": {"affinity": -0.5}},
    ],
    "intrusiveness": 1,
}


@dataclass
class Stock:
    """What `stock` gave an org, by the ids its console pages and forms use."""

    offer: str
    ref: str
    record: str  # a consent record's id: its receipt's
    key: str
    endpoint: str
    delivery: str
    decision: dict[str, Any]


def stock(shop: Shop, tag: str) -> Stock:
    """An org's catalogue, a customer with consents and a decision, a webhook endpoint whose delivery
    failed, and its keys: each named with `tag`, so two orgs' things never share a name."""
    api = shop.api
    api.call("PUT", "/v1/notices/marketing", {"text": f"{tag}: news now and then.", "locale": "en"})
    api.call(
        "PUT", "/v1/notices/marketing", {"text": f"{tag}: news and offers, now and then.", "locale": "en"}
    )
    api.call("PUT", f"/v1/questions/{tag}-coffee", QUESTION)
    api.offer(f"{tag}-club", topics=["books"], channels=["email"])
    endpoint = api.call(
        "POST", "/v1/webhooks", {"url": f"http://127.0.0.1:9/{tag}", "events": ["consent.updated"]}
    )
    api.customer(
        f"{tag}-c1", email=f"c1@{tag}.test", grant={"marketing": ["email"], "personalised-offers": ["email"]}
    )
    decision = api.decide(f"{tag}-c1", [f"{tag}-club"], ["email"])
    history = api.call("GET", f"/v1/subjects/{tag}-c1/consents/history")
    deliveries = api.call("GET", "/v1/webhooks/deliveries")
    keys = api.call("GET", "/v1/keys")
    return Stock(
        offer=f"{tag}-club",
        ref=f"{tag}-c1",
        record=history["items"][0]["id"],
        key=keys[0]["id"],
        endpoint=endpoint["id"],
        delivery=deliveries[0]["id"],
        decision=decision,
    )


@pytest.fixture
def shop_of(
    client: TestClient, session: Session, notary: Notary, mailer: MemoryMailer
) -> Callable[[str], Shop]:
    return lambda name: Shop(client, session, notary, mailer, name)
