"""`harken worker`: deliver the outbox."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import prometheus_client
import typer
from sqlalchemy.orm import Session

from harken.clock import system_clock
from harken.db import session_scope
from harken.learning import service as learning_service
from harken.observe import logs, metrics
from harken.subjects import tokens, vault
from harken.terminal import console, open_store
from harken.webhooks import destinations, sealing, worker

T = TypeVar("T")


def run(
    once: bool = typer.Option(False, "--once", help="Deliver what is due now, then stop."),
    interval: float = typer.Option(1.0, min=0.05, help="Seconds to wait when nothing is due."),
    batch: int = typer.Option(50, min=1, max=1000, help="Deliveries claimed at a time."),
    metrics_port: int = typer.Option(
        0, min=0, max=65535, help="Serve this worker's Prometheus metrics on this port (0: off)."
    ),
    metrics_host: str = typer.Option("127.0.0.1", help="Address the metrics port listens on."),
) -> None:
    """Deliver webhooks from the outbox: signed, at least once, retried with backoff for 3 days, only to
    public addresses (and HARKEN_WEBHOOK_ALLOWED_NETWORKS). Run as many workers as you like: each delivery
    is claimed by one of them. On start, seals endpoint secrets stored in plaintext before 0013. Every
    HARKEN_LEARNING_INTERVAL seconds (if set), trains each org's model on its new decisions. Logs one
    line per attempt (HARKEN_LOG_FORMAT, HARKEN_LOG_LEVEL); with --metrics-port, serves its attempts
    (`harken_webhook_attempts_total`) at http://HOST:PORT/metrics, on loopback unless told otherwise."""
    rng = random.Random()
    with open_store() as store:
        log = logs.logger(store.settings)
        if metrics_port:
            prometheus_client.start_http_server(metrics_port, metrics_host, registry=metrics.REGISTRY)
        secret = tokens.load_or_create_secret(store.settings.data_dir / "secret")
        allowed = destinations.Destinations(allowed=tuple(store.settings.webhook_allowed_networks))

        def unit(work: Callable[[Session], T]) -> T:
            with session_scope(store.sessions) as session:
                return work(vault.bind(session, secret))

        if sealed := unit(sealing.seal_plaintext):
            console.print(f"sealed {sealed} endpoint secret(s) stored in plaintext", highlight=False)
        learn_every = store.settings.learning_interval
        learn_next = time.monotonic()
        with destinations.client(allowed) as http:
            while True:
                if learn_every and time.monotonic() >= learn_next:
                    for done in learning_service.train_each(unit, clock=system_clock):
                        console.print(
                            f"{done.org}: training failed ({done.error})"
                            if done.error
                            else f"{done.org}: model version {done.version}, {done.examples} decision(s) learned",
                            highlight=False,
                        )
                    learn_next = time.monotonic() + learn_every
                sent = worker.run_once(unit, http, clock=system_clock, rng=rng, limit=batch, log=log)
                if not sent:
                    if once:
                        return
                    time.sleep(interval)
