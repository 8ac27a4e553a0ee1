"""What happened, as a business tells it: purchases (a gift says nothing of the buyer) and offers shown,
accepted or dismissed, and the history a decision weighs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from harken.clock import rfc3339
from harken.context.models import Event
from harken.context.schemas import EventPost
from harken.decisions import engine
from harken.decisions.basis import PURCHASE_MEMORY
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


def history(
    session: Session, *, subject_ids: Sequence[uuid.UUID], org_id: uuid.UUID, shared: bool, now: datetime
) -> tuple[list[engine.Purchase], list[engine.Feedback]]:
    """What the engine remembers of events: purchases the org recorded (and, when the customer shares
    purchases with it, those other orgs recorded about the same verified person), and the offers the
    customer dismissed at this org."""
    found = session.connection().execute(
        _SHARED_HISTORY if shared else _HISTORY,
        {"people": list(subject_ids), "org_id": org_id, "since": now - PURCHASE_MEMORY},
    )
    purchases, dismissed = [], []
    for org, kind, item, topics, gift, offer_id, at in found:
        if kind == "purchase":
            purchases.append(engine.Purchase(item, frozenset(topics), gift, at))
        elif org == org_id:
            dismissed.append(engine.Feedback(str(offer_id), "dismissed", at))
    return purchases, dismissed


# Built once: every decision that reads runs one of them.
_SHARED_HISTORY = select(
    Event.org_id, Event.type, Event.item, Event.topics, Event.gift, Event.offer_id, Event.occurred_at
).where(
    Event.subject_id.in_(
        bindparam("people", expanding=True)
    ),  # the person's subjects (`subjects.service.person`)
    Event.type.in_(("purchase", "offer.dismissed")),
    Event.occurred_at > bindparam("since"),
)
_HISTORY = _SHARED_HISTORY.where(Event.org_id == bindparam("org_id"))
