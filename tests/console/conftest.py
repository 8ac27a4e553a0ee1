"""The console's tests: businesses speaking HTTP (the stories' `business`), their staff added as the
operator adds them, and a browser without script signed in to the console by the mailed link."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
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
    row = next(r for r in page.split("<tr>") if label in r)
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


@pytest.fixture
def shop_of(
    client: TestClient, session: Session, notary: Notary, mailer: MemoryMailer
) -> Callable[[str], Shop]:
    return lambda name: Shop(client, session, notary, mailer, name)
