"""A real Harken server process on a database of its own, for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import TypedDict

import httpx

from tests.centre_client import Visitor

# Seconds for a server to answer /healthz: some 2 s alone, but tests run beside each other (pytest-xdist)
# on a 2-core machine, and 30 s was seen to run out there.
STARTS_WITHIN = 90


class Limits(TypedDict):
    rate_limit_per_key: int
    rate_limit_per_address: int
    rate_limit_failed_auth: int


# Rate limits high enough that no test trips one by accident; tests/test_limits.py tests them low.
UNLIMITED: Limits = {
    "rate_limit_per_key": 10**9,
    "rate_limit_per_address": 10**9,
    "rate_limit_failed_auth": 10**9,
}


@dataclass(frozen=True)
class LiveHub:
    url: str
    env: dict[str, str]
    clients: list[httpx.Client] = field(default_factory=list)
    pid: int = 0

    def harken(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the `harken` command against this hub's database and data directory."""
        return subprocess.run(
            [sys.executable, "-m", "harken", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def visitor(self) -> Visitor:
        """A browser without script in this hub's Preference Centre, reading the mail the hub wrote to
        its mail directory (`serve(..., extra_env={"HARKEN_MAILER": "directory:PATH"})`)."""
        mailer = self.env.get("HARKEN_MAILER", "")
        assert mailer.startswith("directory:"), "this hub does not mail to a directory"
        http = httpx.Client(base_url=self.url, follow_redirects=False, timeout=10)
        self.clients.append(http)
        return Visitor.over(http, MailDirectory(Path(mailer.removeprefix("directory:"))))

    def create_org(self, name: str) -> httpx.Client:
        """A new org, and an HTTP client carrying its freshly printed API key."""
        key = self.harken("org", "create", name).stdout.strip().splitlines()[-1]
        client = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=10)
        self.clients.append(client)
        return client


@dataclass(frozen=True)
class MailDirectory:
    """The messages a server with HARKEN_MAILER=directory:PATH wrote, oldest first."""

    directory: Path

    @property
    def sent(self) -> list[EmailMessage]:
        # The mailer writes ".NAME.eml" and renames it: a name without the dot is a whole message.
        paths = [p for p in self.directory.glob("*.eml") if not p.name.startswith(".")]
        parsed = []
        for path in sorted(paths, key=lambda p: (p.stat().st_mtime_ns, p.name)):
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(
    database_url: str, data_dir: Path, *, workers: int = 1, extra_env: dict[str, str] | None = None
) -> Iterator[LiveHub]:
    """Serve on a free port until the block ends; `extra_env` adds or overrides environment variables."""
    port = free_port()
    env = {
        **os.environ,
        "HARKEN_DATABASE_URL": database_url,
        "HARKEN_DATA_DIR": str(data_dir),
        "HARKEN_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "COLUMNS": "200",
        "HARKEN_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",  # the tests' webhook receivers
        **{f"HARKEN_{name.upper()}": str(value) for name, value in UNLIMITED.items()},
        **(extra_env or {}),
    }
    # The server's output (a log line per request) goes to a file: a pipe no one reads while the tests
    # run fills up after some hundreds of requests, and then the server blocks on its next line.
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    output = data_dir / f"serve-{port}.log"
    owner_only = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # as the data dir's files
    with open(owner_only, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "harken",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + STARTS_WITHIN
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"harken serve exited: {output.read_text()}")
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"harken serve did not answer within {STARTS_WITHIN} s")
                time.sleep(0.1)
            live = LiveHub(url, env, pid=process.pid)
            yield live
            for client in live.clients:
                client.close()
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
