"""Outgoing mail behind one small interface: SMTP in production, the console in development, a
directory (one .eml file per message) or memory in tests. Chosen by HARKEN_MAILER."""

from __future__ import annotations

import smtplib
import sys
import threading
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class ConsoleMailer:
    """Development: print the message, so the magic link can be copied from the terminal."""

    def send(self, message: EmailMessage) -> None:
        print(f"--- mail to {message['To']}: {message['Subject']}\n{message.get_content()}", file=sys.stderr)


class DirectoryMailer:
    """Tests against a real server: each message becomes one RFC 5322 file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def send(self, message: EmailMessage) -> None:
        name = f"{uuid.uuid4().hex}.eml"
        (self.directory / f".{name}").write_bytes(message.as_bytes())
        (self.directory / f".{name}").rename(self.directory / name)  # readers never see half a file


class MemoryMailer:
    """In-process tests: messages kept in a list."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self._lock = threading.Lock()

    def send(self, message: EmailMessage) -> None:
        with self._lock:
            self.sent.append(message)


class SmtpMailer:
    def __init__(self, host: str, port: int, *, starttls: bool) -> None:
        self.host, self.port, self.starttls = host, port, starttls

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=30) as smtp:
            if self.starttls:
                smtp.starttls()
            smtp.send_message(message)


def from_setting(value: str) -> Mailer:
    """`console`, `directory:PATH`, `smtp://HOST[:PORT]` or `smtp+starttls://HOST[:PORT]`."""
    if value == "console":
        return ConsoleMailer()
    if value.startswith("directory:"):
        return DirectoryMailer(Path(value.removeprefix("directory:")))
    url = urlsplit(value)
    if url.scheme in ("smtp", "smtp+starttls") and url.hostname:
        return SmtpMailer(url.hostname, url.port or 25, starttls=url.scheme == "smtp+starttls")
    raise ValueError(f"HARKEN_MAILER: unknown mailer {value!r} (console, directory:PATH, smtp://HOST:PORT)")
