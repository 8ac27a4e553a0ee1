"""The hub's Prometheus metrics, and how they are read out (`render`).

Plain `prometheus_client`, no web framework: the services that count (consent writes) import this
module too. Under `harken serve --workers N` each worker process writes its values to files in
PROMETHEUS_MULTIPROC_DIR and a scrape, answered by whichever worker, adds them all up
(`prometheus_client.multiprocess`); `harken serve` makes that directory (`multiprocess_dir`). Which
mode a process is in is fixed when prometheus_client is first imported, from that variable.

Labels are bounded: a route is its template (`/v1/subjects/{ref}`), a status its code, a reason one of
the documented reason codes. No label ever holds a ref, an id or anything a caller typed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol, TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import Collector

T = TypeVar("T")
MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"

disable_created_metrics()  # type: ignore[no-untyped-call]  # the `_created` series double the text and nothing here reads them

REGISTRY = CollectorRegistry(auto_describe=True)
"""The hub's own metrics (not prometheus_client's global registry, which libraries may fill)."""

# Buckets from 1 ms: a decision takes 1-3 ms in-process, a consent write a few ms, a slow read seconds.
LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "harken_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ("method", "route", "status"),
    registry=REGISTRY,
)
LATENCY_SECONDS = Histogram(
    "harken_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method, route template and status.",
    ("method", "route", "status"),
    buckets=LATENCY,
    registry=REGISTRY,
)
DECISIONS = Counter(
    "harken_decisions",
    "Decisions answered, by outcome (allowed or refused).",
    ("outcome",),
    registry=REGISTRY,
)
DECISION_REASONS = Counter(
    "harken_decision_reasons",
    "Reason codes given with decisions, by outcome and code (a decision may give several).",
    ("outcome", "reason"),
    registry=REGISTRY,
)
ENGINE_SECONDS = Histogram(
    "harken_decision_engine_seconds",
    "Time deciding inside the decision's unit of work: reading the person, the engine, writing the log.",
    buckets=LATENCY,
    registry=REGISTRY,
)
CONSENT_WRITES = Counter(
    "harken_consent_writes",
    "Consent records written (each with its ledger entry), by status; a decision sent again writes none.",
    ("status",),
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "harken_rate_limit_refusals",
    "Requests refused with 429, by the policy they were past (address, key, failed-auth).",
    ("policy",),
    registry=REGISTRY,
)
WEBHOOK_ATTEMPTS = Counter(
    "harken_webhook_attempts",
    "Webhook delivery attempts by `harken worker`, by result: delivered, retry, dead, disabled, lost.",
    ("result",),
    registry=REGISTRY,
)
WEBHOOK_SECONDS = Histogram(
    "harken_webhook_attempt_duration_seconds",
    "Time a webhook receiver took to answer an attempt.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    count, latency = _request_series(method, route, status)
    count.inc()
    latency.observe(seconds)


# A labelled series is looked up once, not on every request (`labels()` takes a lock and builds a key);
# the label sets are bounded (templates, statuses, reason codes), and so are these caches.
@lru_cache(maxsize=4096)
def _request_series(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    labels = (method, route, str(status))
    return REQUESTS.labels(*labels), LATENCY_SECONDS.labels(*labels)


@lru_cache(maxsize=1024)
def _reason_series(outcome: str, reason: str) -> Counter:
    return DECISION_REASONS.labels(outcome, reason)


_DECIDED = {True: DECISIONS.labels("allowed"), False: DECISIONS.labels("refused")}


def timed(work: Callable[..., T]) -> Callable[..., T]:
    """`work`, its duration observed as engine time."""

    def timing(*args: object) -> T:
        started = time.perf_counter()
        try:
            return work(*args)
        finally:
            ENGINE_SECONDS.observe(time.perf_counter() - started)

    return timing


class Coded(Protocol):
    @property
    def code(self) -> str: ...


class Decision(Protocol):
    """What is counted of a decision (`DecisionRead` has it; this module stays free of the schemas)."""

    @property
    def allowed(self) -> bool: ...
    @property
    def reasons(self) -> Sequence[Coded]: ...


D = TypeVar("D", bound=Decision)


def decided(decision: D) -> D:
    """Count a decision answered (after its unit of work committed) and its reason codes; returns it."""
    _DECIDED[decision.allowed].inc()
    outcome = "allowed" if decision.allowed else "refused"
    for reason in decision.reasons:
        _reason_series(outcome, reason.code).inc()
    return decision


def consent_written(status: str) -> None:
    CONSENT_WRITES.labels(status).inc()


def rate_limited(policy: str) -> None:
    RATE_LIMITED.labels(policy).inc()


def webhook_attempt(result: str, seconds: float | None) -> None:
    WEBHOOK_ATTEMPTS.labels("retry" if result == "pending" else result).inc()
    if seconds is not None:
        WEBHOOK_SECONDS.observe(seconds)


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC))


def render(*extra: Collector) -> bytes:
    """The exposition text: this process's metrics (or, in multi-process mode, every worker's, added
    up), then `extra`'s, read now (the store's gauges)."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    now = CollectorRegistry(auto_describe=False)
    for collector in extra:
        now.register(collector)
    return generate_latest(registry) + generate_latest(now)


def multiprocess_dir(given: str | None) -> tuple[Path, bool]:
    """The directory worker processes share their values in, emptied: the operator's (`given`), or a
    new temporary one; and whether it is ours to remove at the end. Files a previous run left would be
    added to this run's counts, so it always starts empty."""
    if not given:
        return Path(tempfile.mkdtemp(prefix="harken-metrics-")), True
    directory = Path(given)
    directory.mkdir(parents=True, exist_ok=True)
    mine = f"_{os.getpid()}.db"  # this process's own files, open already if it imported its metrics
    for leftover in directory.glob("*.db"):
        if not leftover.name.endswith(mine):
            leftover.unlink()
    return directory, False


def remove_dir(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
