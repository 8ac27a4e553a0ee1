"""Webhook tests reuse the stories' businesses (orgs speaking HTTP), and deliver through the worker as
`harken worker` does: the hub's secret bound, the guarded HTTP client, the test's clock."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import pytest
from sqlalchemy.orm import Session, sessionmaker

from harken.config import Settings
from harken.db import session_scope
from harken.subjects import tokens, vault
from harken.webhooks import worker
from harken.webhooks.destinations import Destinations, client
from tests.factories import FixedClock
from tests.receiver import Receiver, receiving
from tests.stories.conftest import Business, business, verified  # noqa: F401

T = TypeVar("T")


@pytest.fixture
def receiver(clock: FixedClock) -> Iterator[Receiver]:
    with receiving(clock) as state:
        yield state


@dataclass
class Worker:
    sessions: sessionmaker[Session]
    clock: FixedClock
    secret: bytes
    destinations: Destinations
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def unit(self, work: Callable[[Session], T]) -> T:
        with session_scope(self.sessions) as session:
            return work(vault.bind(session, self.secret))

    def run(self) -> int:
        """Deliver everything due now; returns the number of attempts."""
        total = 0
        with client(self.destinations) as http:
            while sent := worker.run_once(self.unit, http, clock=self.clock, rng=self.rng):
                total += sent
        return total


@pytest.fixture
def deliver(sessions: sessionmaker[Session], clock: FixedClock, settings: Settings) -> Worker:
    # Signatures carry the worker's clock; the reference library checks it against the real one.
    clock.now = datetime.now(UTC).replace(microsecond=0)
    secret = tokens.load_or_create_secret(settings.data_dir / "secret")
    return Worker(sessions, clock, secret, Destinations(allowed=tuple(settings.webhook_allowed_networks)))


def subscribe(org: Business, url: str, events: list[str]) -> str:
    created = org.call("POST", "/v1/webhooks", {"url": url, "events": events}, status=201)
    assert created["secret"].startswith("whsec_")
    return str(created["secret"])
