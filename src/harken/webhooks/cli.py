"""`harken worker`: deliver the outbox."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import httpx
import typer
from sqlalchemy.orm import Session

from harken.clock import system_clock
from harken.console import console, open_store
from harken.db import session_scope
from harken.webhooks import worker

T = TypeVar("T")


def run(
    once: bool = typer.Option(False, "--once", help="Deliver what is due now, then stop."),
    interval: float = typer.Option(1.0, min=0.05, help="Seconds to wait when nothing is due."),
    batch: int = typer.Option(50, min=1, max=1000, help="Deliveries claimed at a time."),
) -> None:
    """Deliver webhooks from the outbox: signed, at least once, retried with backoff for 3 days.
    Run as many workers as you like: each delivery is claimed by one of them."""
    rng = random.Random()
    with open_store() as store, httpx.Client() as http:

        def unit(work: Callable[[Session], T]) -> T:
            with session_scope(store.sessions) as session:
                return work(session)

        while True:
            sent = worker.run_once(unit, http, clock=system_clock, rng=rng, limit=batch)
            if sent:
                console.print(f"{sent} attempt(s)", highlight=False)
            elif once:
                return
            else:
                time.sleep(interval)
