"""An agent's software as a test drives it: registers, sends the person's browser through the OAuth
flow with PKCE, and trades codes and refresh tokens for tokens, as an MCP client would. Its client is
the app's TestClient, or an httpx.Client to a real server (the browser tests)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from fastapi.testclient import TestClient

from tests.centre_client import Visitor, csrf_of

REDIRECT = "http://127.0.0.1:8765/callback"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class Agent:
    client: TestClient | httpx.Client
    client_id: str
    redirect_uri: str = REDIRECT

    @classmethod
    def register(
        cls, client: TestClient | httpx.Client, name: str = "Pocket Assistant", redirect_uri: str = REDIRECT
    ) -> Agent:
        made = client.post("/oauth/register", json={"client_name": name, "redirect_uris": [redirect_uri]})
        assert made.status_code == 201, made.text
        return cls(client, made.json()["client_id"], redirect_uri)

    def authorize_url(self, challenge: str, scope: str = "read context", **extra: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": scope,
            "state": "xyz",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }
        return "/oauth/authorize?" + urlencode(query)

    def consent_page(self, browser: Visitor, challenge: str, scope: str = "read context") -> str:
        """Where the browser lands for the person to decide."""
        started = browser.http.get(self.authorize_url(challenge, scope))
        assert started.status_code == 303, started.text
        location = started.headers["location"]
        assert re.fullmatch(r"/centre/authorize/[0-9a-f-]{36}", location), location
        return location

    def approve(
        self,
        browser: Visitor,
        challenge: str,
        *,
        scope: str = "read context",
        name: str = "my assistant on my phone",
        expiry: str = "30d",
        orgs: list[str] | None = None,
        decision: str = "approve",
    ) -> dict[str, list[str]]:
        """The person approves (or declines) on the consent screen; the query the agent gets back."""
        location = self.consent_page(browser, challenge, scope)
        page = browser.get(location).text
        form: dict[str, Any] = {
            "csrf": csrf_of(page),
            "decision": decision,
            "name": name,
            "scopes": scope.split(),
            "expiry": expiry,
            "businesses": "all" if orgs is None else "some",
            "orgs": orgs or [],
        }
        answered = browser.http.post(location, data=form)
        assert answered.status_code == 303, answered.text[:2000]
        back = urlsplit(answered.headers["location"])
        assert f"{back.scheme}://{back.netloc}{back.path}" == self.redirect_uri
        return parse_qs(back.query)

    def token(self, **form: str) -> Any:
        return self.client.post("/oauth/token", data={"client_id": self.client_id, **form})

    def exchange(self, code: str, verifier: str) -> Any:
        return self.token(
            grant_type="authorization_code", code=code, redirect_uri=self.redirect_uri, code_verifier=verifier
        )

    def connect(self, browser: Visitor, scope: str = "read context", **choice: Any) -> dict[str, Any]:
        """The whole flow: the tokens an approved grant gives."""
        verifier, challenge = pkce()
        code = self.approve(browser, challenge, scope=scope, **choice)["code"][0]
        issued = self.exchange(code, verifier)
        assert issued.status_code == 200, issued.text
        tokens: dict[str, Any] = issued.json()
        return tokens


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def unescaped(html: str) -> str:
    return unescape(html)
