"""The keys of the server-rendered pages (the Preference Centre's and the console's): session cookies that
carry a random id and an HMAC of it under the hub's secret, CSRF tokens for forms shown before sign-in,
and the constant-time comparison both need. One place for the cryptography of both sign-ins; each keeps
its own tables, lifetimes and limits, and its own key domain, so a cookie or token of one is worthless to
the other.

Pure: a secret and strings in, strings out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta


class RateLimited(Exception):
    def __init__(self, retry_after: timedelta) -> None:
        super().__init__(f"too many sign-in requests; try again in {retry_after}")
        self.retry_after = retry_after


def sha256(value: str) -> str:
    """What is stored of a link's token or a session's id: enough to find it, never to forge it."""
    return hashlib.sha256(value.encode()).hexdigest()


def keyed(secret: bytes, use: str, value: str) -> str:
    """An HMAC of `value` under a key derived from the hub's secret for one `use`."""
    key = hmac.new(secret, use.encode(), hashlib.sha256).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def same_token(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class Domain:
    """The key domain of one sign-in: `session` keys its cookies' MACs, `csrf` its anonymous forms."""

    session: bytes
    csrf: str

    def cookie(self, secret: bytes, sid: str) -> str:
        """The cookie for session id `sid`: the id and its MAC."""
        return f"{sid}.{self._mac(secret, sid)}"

    def sid(self, secret: bytes, cookie: str) -> str | None:
        """The session id a cookie carries, or None if its MAC is not the hub's."""
        sid, _, mac = cookie.partition(".")
        if not sid or not hmac.compare_digest(mac, self._mac(secret, sid)):
            return None
        return sid

    def anonymous_csrf(self, secret: bytes, browser: str) -> str:
        """The CSRF token of a form shown before sign-in, bound to the browser's own random cookie."""
        return keyed(secret, self.csrf, browser)

    def _mac(self, secret: bytes, sid: str) -> str:
        key = hmac.new(secret, self.session, hashlib.sha256).digest()
        digest = hmac.new(key, sid.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def same_origin(origin: str | None, fetch_site: str | None, own: set[str]) -> bool:
    """Whether a form's post comes from one of the hub's `own` origins, as browsers name the page a form
    came from (`Origin`, and `Sec-Fetch-Site` where a privacy setting sent "null"); a client that names
    none (not a browser) is left to the CSRF token."""
    if origin is None or (origin == "null" and fetch_site in (None, "same-origin")):
        return True
    return origin in own
