"""Endpoints, deliveries and replays, for an org's own view."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.errors import Gone, Invalid, NotFound
from harken.orgs.models import Org
from harken.webhooks import outbox, sealing, signing
from harken.webhooks.destinations import Network, url_refusal
from harken.webhooks.models import Attempt, Delivery, Endpoint, OutboxEvent

# The same 404 for another org's id as for one that never existed: nothing to tell them apart by.
NO_ENDPOINT = "no such webhook endpoint"
NO_DELIVERY = "no such delivery"


def subscribe(
    session: Session,
    *,
    org: Org,
    url: str,
    events: list[str],
    allowed: Sequence[Network],
    now: datetime,
) -> tuple[Endpoint, str]:
    """A new endpoint and its signing secret (stored sealed: this is the only time it is seen). Refuses
    a URL that leads to a non-public address, as written, unless in an `allowed` network."""
    why = url_refusal(url, allowed)
    if why is not None:
        raise Invalid("url", why)
    endpoint_id, secret = uuid.uuid4(), signing.new_secret()
    endpoint = Endpoint(
        id=endpoint_id,
        org_id=org.id,
        url=url,
        events=events,
        secret=sealing.seal(session, endpoint_id, secret),
        created_at=now,
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def endpoints(session: Session, *, org: Org) -> list[Endpoint]:
    query = select(Endpoint).where(Endpoint.org_id == org.id).order_by(Endpoint.created_at)
    return list(session.execute(query).scalars())


def endpoint(session: Session, *, org: Org, endpoint_id: uuid.UUID) -> Endpoint:
    found = session.get(Endpoint, endpoint_id)
    if found is None or found.org_id != org.id:
        raise NotFound(NO_ENDPOINT)
    return found


def delete(session: Session, *, org: Org, endpoint_id: uuid.UUID, now: datetime) -> None:
    """Stop sending to an endpoint (its history stays, for the org to read)."""
    found = endpoint(session, org=org, endpoint_id=endpoint_id)
    if found.disabled_at is None:
        found.disabled_at, found.disabled_reason = now, "deleted by the org"
    for delivery in session.execute(
        select(Delivery).where(Delivery.endpoint_id == found.id, Delivery.status == "pending")
    ).scalars():
        delivery.status = "disabled"
    session.flush()
    outbox.forget_told(session, select(Delivery.event_seq).where(Delivery.endpoint_id == found.id))


def deliveries(
    session: Session,
    *,
    org: Org,
    endpoint_id: uuid.UUID | None,
    status: str | None,
    limit: int,
) -> list[tuple[Delivery, OutboxEvent, list[Attempt]]]:
    """The org's deliveries, newest first, each with its event and attempts."""
    query = (
        select(Delivery, OutboxEvent)
        .join(OutboxEvent, OutboxEvent.seq == Delivery.event_seq)
        .where(OutboxEvent.org_id == org.id)
        .order_by(Delivery.event_seq.desc(), Delivery.created_at.desc())
        .limit(limit)
    )
    if endpoint_id is not None:
        query = query.where(Delivery.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(Delivery.status == status)
    rows = session.execute(query).all()
    attempts: dict[uuid.UUID, list[Attempt]] = {}
    if rows:
        for attempt in session.execute(
            select(Attempt)
            .where(Attempt.delivery_id.in_([d.id for d, _ in rows]))
            .order_by(Attempt.attempted_at)
        ).scalars():
            attempts.setdefault(attempt.delivery_id, []).append(attempt)
    return [(d, e, attempts.get(d.id, [])) for d, e in rows]


def replay(session: Session, *, org: Org, delivery_id: uuid.UUID, now: datetime) -> Delivery:
    """Send a delivery's event again to its endpoint: a new delivery, the same `webhook-id`. Gone when
    the event was about a person since erased: it is no longer kept."""
    found = session.get(Delivery, delivery_id)
    owner = session.get(Endpoint, found.endpoint_id) if found is not None else None
    if found is None or owner is None or owner.org_id != org.id:
        raise NotFound(NO_DELIVERY)
    event = session.get_one(OutboxEvent, found.event_seq)
    if outbox.forgotten(event):
        raise Gone("the customer was erased: this event is no longer kept")
    return _again(session, found.event_seq, found.endpoint_id, found.subject_id, now)


def replay_range(
    session: Session, *, org: Org, endpoint_id: uuid.UUID, since: datetime, until: datetime, now: datetime
) -> int:
    """Send again every event the endpoint was sent (or due) between `since` and `until`, except
    those about people since erased (no longer kept)."""
    found = endpoint(session, org=org, endpoint_id=endpoint_id)
    sent = session.execute(
        select(Delivery.event_seq, Delivery.subject_id)
        .join(OutboxEvent, OutboxEvent.seq == Delivery.event_seq)
        .where(
            Delivery.endpoint_id == found.id,
            OutboxEvent.created_at >= since,
            OutboxEvent.created_at < until,
            ~outbox.FORGOTTEN,
        )
        .distinct()
        .order_by(Delivery.event_seq)
    ).all()
    for seq, subject_id in sent:
        _again(session, seq, found.id, subject_id, now)
    return len(sent)


def _again(
    session: Session, event_seq: int, endpoint_id: uuid.UUID, subject_id: uuid.UUID | None, now: datetime
) -> Delivery:
    endpoint_row = session.get_one(Endpoint, endpoint_id)
    delivery = Delivery(
        id=uuid.uuid4(),
        event_seq=event_seq,
        endpoint_id=endpoint_id,
        subject_id=subject_id,
        status="pending" if endpoint_row.disabled_at is None else "disabled",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    return delivery
