"""Writing events to the outbox, in the caller's transaction: the change and the news of it land
together or not at all. Only endpoints subscribed at that moment get a delivery; an org with none
costs one indexed read.

Once a person is erased the outbox forgets them: their events go, with every delivery and attempt of
them, except the news of the erasure itself (`subject.erased`, with each org's ref), which stays until
every endpoint has had it or given up and is then emptied."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, delete, exists, insert, select, update
from sqlalchemy.orm import Session

from harken.clock import rfc3339
from harken.webhooks.models import Attempt, Delivery, Endpoint, OutboxEvent
from harken.webhooks.schemas import EventType

_SUBSCRIBED = select(Endpoint.id, Endpoint.events).where(
    Endpoint.org_id == bindparam("org_id"), Endpoint.disabled_at.is_(None)
)
_INSERT_EVENT = insert(OutboxEvent).returning(OutboxEvent.seq)
_INSERT_DELIVERY = insert(Delivery)
ERASED = str(EventType.subject_erased)
# A `subject.erased` event emptied once told: its subject is unset, which no other such event has.
FORGOTTEN: ColumnElement[bool] = and_(OutboxEvent.type == ERASED, OutboxEvent.subject_id.is_(None))


def emit(
    session: Session,
    *,
    org_id: uuid.UUID,
    type: EventType,
    subject_id: uuid.UUID | None,
    data: dict[str, Any],
    now: datetime,
) -> str | None:
    """Queue `data` for every endpoint of the org subscribed to `type`; returns the event id (the
    `webhook-id` of all its deliveries), or None when nobody listens."""
    db = session.connection()
    targets = [id for id, events in db.execute(_SUBSCRIBED, {"org_id": org_id}) if type in events]
    if not targets:
        return None
    event_id = f"msg_{secrets.token_urlsafe(18)}"
    payload = {"type": str(type), "timestamp": rfc3339(now), "data": data}
    seq = db.execute(
        _INSERT_EVENT,
        {
            "id": event_id,
            "org_id": org_id,
            "type": str(type),
            "subject_id": subject_id,
            "payload": payload,
            "created_at": now,
        },
    ).scalar_one()
    db.execute(
        _INSERT_DELIVERY,
        [
            {
                "id": uuid.uuid4(),
                "event_seq": seq,
                "endpoint_id": endpoint_id,
                "subject_id": subject_id,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for endpoint_id in targets
        ],
    )
    return event_id


_SUBSCRIBERS = select(Endpoint.org_id, Endpoint.events).where(Endpoint.disabled_at.is_(None))


def emit_to_subscribers(session: Session, *, type: EventType, data: dict[str, Any], now: datetime) -> None:
    """`emit` to every org with an endpoint subscribed to `type`: news that concerns no org in
    particular and names no person (the signed heads of the hub's own ledger chains)."""
    rows = session.connection().execute(_SUBSCRIBERS)
    for org_id in sorted({org_id for org_id, events in rows if type in events}):
        emit(session, org_id=org_id, type=type, subject_id=None, data=data, now=now)


def forget(session: Session, *, subject_id: uuid.UUID, org_id: uuid.UUID | None = None) -> None:
    """Keep nothing of an erased person in the outbox (of `org_id`'s only, when given): their events —
    refs, the names of the fields they changed, what was sent — go with every delivery and attempt of
    them, sent or not. `subject.erased` events stay, so each org still learns that its ref was erased;
    each is emptied once told (`forget_told`)."""
    events = select(OutboxEvent.seq).where(OutboxEvent.subject_id == subject_id, OutboxEvent.type != ERASED)
    if org_id is not None:
        events = events.where(OutboxEvent.org_id == org_id)
    deliveries = select(Delivery.id).where(Delivery.event_seq.in_(events))
    session.execute(delete(Attempt).where(Attempt.delivery_id.in_(deliveries)))
    session.execute(delete(Delivery).where(Delivery.event_seq.in_(events)))
    session.execute(delete(OutboxEvent).where(OutboxEvent.seq.in_(events)))
    erased = select(OutboxEvent.seq).where(OutboxEvent.subject_id == subject_id, OutboxEvent.type == ERASED)
    forget_told(session, erased)


def forget_told(session: Session, seqs: Select[int] | list[int]) -> None:
    """Empty the `subject.erased` events among `seqs` that no endpoint waits for any more (delivered,
    given up, or the endpoint disabled): the erased person's refs are then no longer kept."""
    waiting = exists().where(Delivery.event_seq == OutboxEvent.seq, Delivery.status == "pending")
    session.execute(
        update(OutboxEvent)
        .where(
            OutboxEvent.seq.in_(seqs),
            OutboxEvent.type == ERASED,
            OutboxEvent.subject_id.is_not(None),
            ~waiting,
        )
        .values(payload={}, subject_id=None)
        .execution_options(synchronize_session=False)
    )


def forgotten(event: OutboxEvent) -> bool:
    return event.type == ERASED and event.subject_id is None
