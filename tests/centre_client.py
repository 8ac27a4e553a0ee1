"""The customer in the Preference Centre, as a browser without script: plain GETs and form POSTs."""

from __future__ import annotations

import re
import time
from email.message import EmailMessage
from html import unescape
from typing import Any, Protocol

import httpx
import httpx2
from fastapi.testclient import TestClient
from starlette.types import ASGIApp

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LINK = re.compile(r"https?://\S+/centre/link/\S+")


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form"
    return unescape(found.group(1))


class Sent(Protocol):
    """The mail a hub sent, oldest first: a `MemoryMailer`, or a real server's mail directory."""

    @property
    def sent(self) -> list[EmailMessage]: ...


def mail_to(mailer: Sent, to: str) -> int:
    return sum(message["To"] == to for message in mailer.sent)


def latest_link(mailer: Sent, to: str) -> str:
    """The newest sign-in link mailed to `to`, as a path."""
    for message in reversed(mailer.sent):
        if message["To"] == to:
            found = LINK.search(message.get_content())
            assert found, message.get_content()
            return "/centre/" + found.group(0).split("/centre/", 1)[1]
    raise AssertionError(f"no mail to {to}")


# A Visitor speaks to the app in-process through a TestClient (an httpx2 client), or to a real server
# through httpx.
Http = httpx.Client | httpx2.Client
Response = httpx.Response | httpx2.Response


class Visitor:
    """One browser: its own cookies, following no redirects unless asked."""

    def __init__(self, app: ASGIApp, mailer: Sent, **headers: str) -> None:
        self.http: Http = TestClient(app, follow_redirects=False, headers=headers)
        self.mailer = mailer

    @classmethod
    def over(cls, http: Http, mailer: Sent) -> Visitor:
        """A browser speaking to a real server through `http` (following no redirects)."""
        visitor = cls.__new__(cls)
        visitor.http, visitor.mailer = http, mailer
        return visitor

    def get(self, path: str, status: int = 200) -> Response:
        response = self.http.get(path)
        assert response.status_code == status, (response.status_code, response.text[:2000])
        return response

    def sign_in(self, email: str, *, confirm: bool = True) -> None:
        """Sign in by magic link; with `confirm`, say "yes, that's me" to every business claiming the
        address, as the person who owns it would."""
        form = self.get("/centre/sign-in").text
        before = mail_to(self.mailer, email)
        sent = self.http.post(
            "/centre/sign-in", data={"email": email, "csrf": csrf_of(form), "next": "/centre"}
        )
        assert sent.status_code == 303, sent.text
        deadline = time.monotonic() + 10  # a real server mails after it answered
        while mail_to(self.mailer, email) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        link = self.get(latest_link(self.mailer, email)).text
        token = re.search(r'name="token" value="([^"]+)"', link)
        assert token, link
        opened = self.http.post(
            "/centre/link", data={"csrf": csrf_of(link), "token": unescape(token.group(1))}
        )
        # With businesses waiting for "is this you?", the centre opens on them.
        assert opened.status_code == 303, opened.text
        assert opened.headers["location"] in ("/centre", "/centre/businesses"), opened.headers
        if confirm:
            self.confirm_claims()

    def confirm_claims(self) -> list[str]:
        """Say "yes, that's me" to every business that claims this address; returns their names."""
        confirmed: list[str] = []
        while True:
            page = self.get("/centre/businesses").text
            found = re.search(r'action="(/centre/links/[^"]+/confirm)"[^<]*(?:<[^>]*>)*?', page)
            if not found:
                return confirmed
            form = page[found.start() :]
            ref = re.search(r'name="ref" value="([^"]*)"', form)
            assert ref, form[:500]
            answered = self.http.post(
                found.group(1), data={"csrf": csrf_of(page), "ref": unescape(ref.group(1))}
            )
            assert answered.status_code == 303, answered.text[:2000]
            confirmed.append(found.group(1))

    def person_token(self) -> str:
        """A `/v1/me` token for the signed-in verified person, made on the My data page."""
        page = self.get("/centre/data").text
        made = self.http.post("/centre/data/token", data={"csrf": csrf_of(page)})
        assert made.status_code == 200, made.text[:2000]
        token = re.search(r'id="token-value" type="text" readonly value="([^"]+)"', made.text)
        assert token, made.text[:2000]
        return unescape(token.group(1))

    def open_from_app(self, token: str) -> None:
        page = self.get(f"/centre/from-app?token={token}").text
        opened = self.http.post("/centre/from-app", data={"csrf": csrf_of(page), "token": token})
        assert opened.status_code == 303, opened.text

    def submit(
        self, page: str, action: str, data: dict[str, Any] | None = None, status: int = 303
    ) -> Response:
        """Post a form of `page` to `action` with the page's CSRF token, as a browser would."""
        html = self.get(page).text
        assert f'action="{action}"' in html, f"{page} has no form posting to {action}"
        response = self.http.post(action, data={"csrf": csrf_of(html), **(data or {})})
        assert response.status_code == status, (response.status_code, response.text[:3000])
        return response
