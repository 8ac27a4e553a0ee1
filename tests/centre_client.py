"""The customer in the Preference Centre, as a browser without script: plain GETs and form POSTs."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from harken.centre.mail import MemoryMailer

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LINK = re.compile(r"https?://\S+/centre/link/\S+")


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form"
    return unescape(found.group(1))


def latest_link(mailer: MemoryMailer, to: str) -> str:
    """The newest sign-in link mailed to `to`, as a path."""
    for message in reversed(mailer.sent):
        if message["To"] == to:
            found = LINK.search(message.get_content())
            assert found, message.get_content()
            return "/centre/" + found.group(0).split("/centre/", 1)[1]
    raise AssertionError(f"no mail to {to}")


class Visitor:
    """One browser: its own cookies, following no redirects unless asked."""

    def __init__(self, app: FastAPI, mailer: MemoryMailer, **headers: str) -> None:
        self.http = TestClient(app, follow_redirects=False, headers=headers)
        self.mailer = mailer

    def get(self, path: str, status: int = 200) -> httpx.Response:
        response = self.http.get(path)
        assert response.status_code == status, (response.status_code, response.text[:2000])
        return response

    def sign_in(self, email: str) -> None:
        form = self.get("/centre/sign-in").text
        sent = self.http.post(
            "/centre/sign-in", data={"email": email, "csrf": csrf_of(form), "next": "/centre"}
        )
        assert sent.status_code == 303, sent.text
        link = self.get(latest_link(self.mailer, email)).text
        token = re.search(r'name="token" value="([^"]+)"', link)
        assert token, link
        opened = self.http.post(
            "/centre/link", data={"csrf": csrf_of(link), "token": unescape(token.group(1))}
        )
        assert opened.status_code == 303 and opened.headers["location"] == "/centre", opened.text

    def open_from_app(self, token: str) -> None:
        page = self.get(f"/centre/from-app?token={token}").text
        opened = self.http.post("/centre/from-app", data={"csrf": csrf_of(page), "token": token})
        assert opened.status_code == 303, opened.text

    def submit(
        self, page: str, action: str, data: dict[str, Any] | None = None, status: int = 303
    ) -> httpx.Response:
        """Post a form of `page` to `action` with the page's CSRF token, as a browser would."""
        html = self.get(page).text
        assert f'action="{action}"' in html, f"{page} has no form posting to {action}"
        response = self.http.post(action, data={"csrf": csrf_of(html), **(data or {})})
        assert response.status_code == status, (response.status_code, response.text[:3000])
        return response
