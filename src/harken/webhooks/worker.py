"""Delivering the outbox: claim what is due, POST it signed, record how it went.

At least once: a delivery stays pending until an endpoint answers 2xx. Retries back off
exponentially with jitter; after 3 days of failures the delivery is dead (kept, listed, replayable).
`410 Gone` disables the endpoint. Per customer, an endpoint gets events in the order they happened: a
delivery waits while an earlier one for the same customer and endpoint is still pending. Two workers
never send the same attempt: a claim is an atomic update that only one of them wins.

Deliveries go through `destinations.client`: only to public addresses (or the operator's allowed
networks), never following a redirect. An attempt records the status, or the kind of failure — never the
transport's own message, and no time for a refused destination, so the list maps no network.
"""

from __future__ import annotations

import json
import random
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx
from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session, aliased
from structlog.typing import FilteringBoundLogger

from harken.observe import metrics
from harken.webhooks import outbox, sealing, signing
from harken.webhooks.destinations import Refused
from harken.webhooks.models import Attempt, Delivery, Endpoint, OutboxEvent

GIVE_UP_AFTER = timedelta(days=3)
FIRST_RETRY = timedelta(seconds=5)
LONGEST_WAIT = timedelta(hours=6)
CLAIM_FOR = timedelta(seconds=60)
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Claimed:
    delivery_id: uuid.UUID
    claim: str
    attempts: int
    created_at: datetime
    endpoint_id: uuid.UUID
    url: str
    secret: str
    event_seq: int
    event_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def backoff(attempts: int, rng: random.Random) -> timedelta:
    """Wait before attempt `attempts + 1`: 5 s doubling to at most 6 h, times a jitter in [0.5, 1)."""
    wait: timedelta = min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)
    return wait * (0.5 + rng.random() / 2)


def claim(session: Session, *, now: datetime, limit: int = 50) -> list[Claimed]:
    """Take up to `limit` due deliveries for this worker (for CLAIM_FOR, then anyone may retake them)."""
    earlier = aliased(Delivery)
    waits_for_earlier = exists().where(
        earlier.endpoint_id == Delivery.endpoint_id,
        earlier.subject_id == Delivery.subject_id,
        earlier.event_seq < Delivery.event_seq,
        earlier.status == "pending",
    )
    due = (
        select(Delivery.id)
        .where(
            Delivery.status == "pending",
            Delivery.next_attempt_at <= now,
            (Delivery.claimed_until.is_(None)) | (Delivery.claimed_until < now),
            ~waits_for_earlier,
        )
        .order_by(Delivery.event_seq)
        .limit(limit)
    )
    token = secrets.token_hex(16)
    claimed = []
    for delivery_id in session.execute(due).scalars().all():
        won = session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                Delivery.status == "pending",
                (Delivery.claimed_until.is_(None)) | (Delivery.claimed_until < now),
            )
            .values(claim=token, claimed_until=now + CLAIM_FOR)
        )
        if won.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(delivery_id)
    if not claimed:
        return []
    rows = session.execute(
        select(Delivery, Endpoint, OutboxEvent)
        .join(Endpoint, Endpoint.id == Delivery.endpoint_id)
        .join(OutboxEvent, OutboxEvent.seq == Delivery.event_seq)
        .where(Delivery.id.in_(claimed))
        .order_by(Delivery.event_seq)
    ).all()
    sealing.seal_plaintext(session, [e.id for _, e, _ in rows if not e.secret.startswith(sealing.SEALED)])
    return [
        Claimed(
            d.id,
            token,
            d.attempts,
            d.created_at,
            e.id,
            e.url,
            sealing.unseal(session, e.id, e.secret),
            o.seq,
            o.id,
            o.payload,
        )
        for d, e, o in rows
    ]


def send(claimed: Claimed, http: httpx.Client, *, now: datetime) -> Outcome:
    """POST the event, signed; no database is touched while waiting for the receiver."""
    body = json.dumps(claimed.payload, separators=(",", ":"), ensure_ascii=False).encode()
    headers = signing.headers(claimed.secret, claimed.event_id, int(now.timestamp()), body)
    started = time.monotonic()
    try:
        response = http.post(
            claimed.url, content=body, headers=headers, timeout=TIMEOUT_SECONDS, follow_redirects=False
        )
        return Outcome(response.status_code, None, _ms(started))
    except Refused as exc:
        return Outcome(None, str(exc), 0)
    except httpx.HTTPError as exc:  # its message may name addresses or the hub's own errors: the kind only
        return Outcome(None, type(exc).__name__, _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def record(session: Session, claimed: Claimed, outcome: Outcome, *, now: datetime, rng: random.Random) -> str:
    """Write the attempt and what follows from it; returns the delivery's new status. A claim that
    another worker has since retaken writes nothing."""
    attempts = claimed.attempts + 1
    if outcome.delivered:
        status, values = "delivered", {"delivered_at": now}
    elif outcome.status_code == 410:
        status, values = "disabled", {}
        session.execute(
            update(Endpoint)
            .where(Endpoint.id == claimed.endpoint_id, Endpoint.disabled_at.is_(None))
            .values(disabled_at=now, disabled_reason="the endpoint answered 410 Gone")
        )
        session.execute(
            update(Delivery)
            .where(and_(Delivery.endpoint_id == claimed.endpoint_id, Delivery.status == "pending"))
            .values(status="disabled")
        )
        sent_there = select(Delivery.event_seq).where(Delivery.endpoint_id == claimed.endpoint_id)
        outbox.forget_told(session, sent_there)
    elif now - claimed.created_at >= GIVE_UP_AFTER:
        status, values = "dead", {}
    else:
        status, values = "pending", {"next_attempt_at": now + backoff(attempts, rng)}
    mine = session.execute(
        update(Delivery)
        .where(Delivery.id == claimed.delivery_id, Delivery.claim == claimed.claim)
        .values(status=status, attempts=attempts, claim=None, claimed_until=None, **values)
    )
    if mine.rowcount != 1:  # type: ignore[attr-defined]
        return "lost"
    if status != "pending" and claimed.payload.get("type") == outbox.ERASED:
        outbox.forget_told(session, [claimed.event_seq])
    session.add(
        Attempt(
            id=uuid.uuid4(),
            delivery_id=claimed.delivery_id,
            attempted_at=now,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
    )
    return status


def run_once(
    unit: Callable[[Callable[[Session], Any]], Any],
    http: httpx.Client,
    *,
    clock: Callable[[], datetime],
    rng: random.Random,
    limit: int = 50,
    log: FilteringBoundLogger | None = None,
) -> int:
    """Claim what is due, send it, record it; returns how many attempts were made."""
    batch: list[Claimed] = unit(lambda session: claim(session, now=clock(), limit=limit))
    for claimed in batch:
        outcome = send(claimed, http, now=clock())
        result = unit(partial(_record, claimed=claimed, outcome=outcome, clock=clock, rng=rng))
        _observe(log, claimed, outcome, result)
    return len(batch)


def _observe(log: FilteringBoundLogger | None, claimed: Claimed, outcome: Outcome, result: str) -> None:
    """Count the attempt and log it: ids the hub made, the event's type, how it went; never the
    endpoint's URL (it may carry a secret) nor the payload."""
    metrics.webhook_attempt(result, outcome.duration_ms / 1000 if outcome.status_code is not None else None)
    if log is not None:
        (log.info if outcome.delivered else log.warning)(
            "webhook.attempt",
            endpoint=str(claimed.endpoint_id),
            delivery=str(claimed.delivery_id),
            event_type=str(claimed.payload.get("type")),
            attempt=claimed.attempts + 1,
            status=outcome.status_code,
            error=outcome.error,
            result=result,
            duration_ms=outcome.duration_ms,
        )


def _record(
    session: Session, *, claimed: Claimed, outcome: Outcome, clock: Callable[[], datetime], rng: random.Random
) -> str:
    return record(session, claimed, outcome, now=clock(), rng=rng)
