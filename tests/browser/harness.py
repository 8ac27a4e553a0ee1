"""What the browser tests drive: Debian's Chromium, a real Harken server, and the mail it sends.

The fixtures in conftest.py put these together; test modules import the types from here.
"""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path

import httpx
from playwright.sync_api import Browser, BrowserContext, Route

from tests.live import LiveHub

CHROMIUM = Path("/usr/bin/chromium")
# The machine has no network: without the background-networking flags Chromium keeps trying to
# reach Google (sync, component updates, QUIC probes) and floods the log with refused connections.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NO_CHROMIUM = (
    f"The browser tests need Debian's Chromium at {CHROMIUM}, which is missing: "
    "`make browser` installs it (apt-get install chromium). "
    "Never `playwright install`: the tests use the system browser only."
)

DESKTOP, PHONE = 1280, 360
HEIGHT = {DESKTOP: 800, PHONE: 780}

URL = re.compile(r"https?://[^\s<>\"')]+")


def open_context(
    browser: Browser,
    *,
    width: int = DESKTOP,
    locale: str = "en-GB",
    accept_language: str | None = None,
) -> BrowserContext:
    """A fresh context (no cookies, no storage): `width` px wide, in `locale`.

    Chromium sends the locale as Accept-Language. Pass `accept_language` (e.g. "fr-CA,fr;q=0.9")
    to send that header instead while navigator.language stays `locale`.
    """
    context = browser.new_context(viewport={"width": width, "height": HEIGHT.get(width, 800)}, locale=locale)
    context.set_default_timeout(10_000)
    if accept_language:
        # extra_http_headers loses to the locale's own Accept-Language, so rewrite each request
        # (cookies and form posts pass through unchanged).
        def rewrite(route: Route) -> None:
            route.continue_(headers={**route.request.headers, "accept-language": accept_language})

        context.route("**/*", rewrite)
    return context


@dataclass
class Mailbox:
    """The directory a server with HARKEN_MAILER=directory:PATH writes its mail into, one .eml each."""

    directory: Path
    _handed_out: set[str] = field(default_factory=set)

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        """Every complete message (addressed to `to`, when given), oldest first."""
        return [message for _, message in self._read(to)]

    def latest_link(self, to: str, timeout: float = 5.0) -> str:
        """The first /centre/ URL in the newest message to `to` that no earlier call returned.

        Waits up to `timeout` seconds for it. A message is handed out once, so asking for a second
        link after a second request never returns the first link while the new mail is on its way.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self._read(to)
            for index in reversed(range(len(found))):
                path, message = found[index]
                if path.name in self._handed_out:
                    break
                link = centre_link(message)
                if link:
                    self._handed_out.update(p.name for p, _ in found[: index + 1])
                    return link
            if time.monotonic() > deadline:
                raise AssertionError(self._nothing_for(to, timeout))
            time.sleep(0.05)

    def _read(self, to: str | None) -> list[tuple[Path, EmailMessage]]:
        # The mailer writes ".NAME.eml" and renames it, so a name without the dot is a whole message.
        paths = [p for p in self.directory.glob("*.eml") if not p.name.startswith(".")]
        found = []
        for path in sorted(paths, key=lambda p: (p.stat().st_mtime_ns, p.name)):
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            assert isinstance(message, EmailMessage)
            if to is None or _addressed_to(message, to):
                found.append((path, message))
        return found

    def _nothing_for(self, to: str, timeout: float) -> str:
        everything = self._read(None)
        lines = [f"no new mail with a /centre/ link to {to} within {timeout} s in {self.directory}"]
        lines += [
            f"  {'(already returned) ' if path.name in self._handed_out else ''}"
            f"to {message['To']}: {message['Subject']}"
            for path, message in everything
        ]
        if not everything:
            lines.append("  (the mailbox is empty)")
        return "\n".join(lines)


def _addressed_to(message: EmailMessage, to: str) -> bool:
    recipients = getaddresses([str(v) for k in ("To", "Cc", "Bcc") for v in message.get_all(k, [])])
    return any(address.lower() == to.lower() for _, address in recipients)


def centre_link(message: EmailMessage) -> str | None:
    """The first URL containing /centre/ in the plain-text body, if any."""
    body = message.get_body(preferencelist=("plain",))
    if body is None:
        return None
    assert isinstance(body, EmailMessage)
    for url in URL.findall(body.get_content()):
        url = url.rstrip(".,;:!?")
        if "/centre/" in url:
            return str(url)
    return None


@dataclass
class CentreHub:
    """A real `harken serve` on a fresh database, sending its mail to `mailbox`."""

    live: LiveHub
    mailbox: Mailbox

    @property
    def url(self) -> str:
        return self.live.url

    @property
    def env(self) -> dict[str, str]:
        return self.live.env

    def harken(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the `harken` command against this hub's database (and mailer)."""
        return self.live.harken(*args, check=check)

    def create_org(self, name: str) -> httpx.Client:
        """A new org, and an HTTP client carrying its API key."""
        return self.live.create_org(name)

    def address(self, name: str = "customer") -> str:
        """An email address no other test on this (shared) hub uses."""
        return f"{name}-{uuid.uuid4().hex[:10]}@example.test"
