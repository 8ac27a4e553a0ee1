"""Writing events to the outbox, in the caller's transaction: the change and the news of it land
together or not at all. Only endpoints subscribed at that moment get a delivery; an org with none
costs one indexed read."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from harken.clock import rfc3339
from harken.webhooks.models import Delivery, Endpoint, OutboxEvent
from harken.webhooks.schemas import EventType

_SUBSCRIBED = select(Endpoint.id, Endpoint.events).where(
    Endpoint.org_id == bindparam("org_id"), Endpoint.disabled_at.is_(None)
)
_INSERT_EVENT = insert(OutboxEvent).returning(OutboxEvent.seq)
_INSERT_DELIVERY = insert(Delivery)


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
