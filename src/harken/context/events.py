"""What happened, as a business tells it: purchases (a gift says nothing of the buyer) and offers shown,
accepted or dismissed. What a decision remembers of them is read by harken.decisions.readmodel."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from harken.clock import rfc3339
from harken.context.models import Event
from harken.context.schemas import EventPost
from harken.errors import Invalid
from harken.ledger import chain
from harken.ledger import service as ledger_service
from harken.ledger.service import Notary
from harken.subjects import vault


def record_event(
    session: Session,
    *,
    org_id: uuid.UUID,
    subject_id: uuid.UUID,
    body: EventPost,
    chain_id: str,
    notary: Notary,
    now: datetime,
) -> Event:
    """An observed event, in the ledger by digest. A purchase's item or topics are never the customer's
    declared interest; a gift is not even an observed one."""
    occurred_at = body.occurred_at or now
    if occurred_at > now + timedelta(minutes=5):
        raise Invalid("occurred_at", "lies in the future")
    if body.type == "purchase" and not (body.item or body.topics):
        raise Invalid("item", "a purchase needs an item or topics")
    if body.type != "purchase" and body.offer_id is None:
        raise Invalid("offer_id", f"a {body.type} event names its offer")
    event = Event(
        id=uuid.uuid4(),
        org_id=org_id,
        subject_id=subject_id,
        type=str(body.type),
        item=body.item,
        topics=sorted(set(body.topics)),
        gift=body.gift,
        offer_id=body.offer_id,
        occurred_at=occurred_at,
        recorded_at=now,
    )
    session.add(event)
    session.flush()
    ledger_service.append(
        session,
        notary=notary,
        chain_id=chain_id,
        type="event.recorded",
        at=now,
        data={
            "event": str(event.id),
            "subject": str(subject_id),
            "type": event.type,
            "occurred_at": rfc3339(occurred_at),
            "digest": vault.digest(
                vault.data_key(session, subject_id, now=now),
                chain.canonical(
                    {"item": event.item, "topics": event.topics, "gift": event.gift, "offer": event.offer_id}
                ),
            ),
        },
    )
    return event
