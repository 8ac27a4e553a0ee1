"""What happened, as a business tells it: purchases (a gift says nothing of the buyer) and offers shown,
accepted or dismissed, each of the latter perhaps answering a decision. What a decision remembers of them
is read by harken.decisions.readmodel; what a model learns from them, by harken.learning.rewards."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.clock import rfc3339
from harken.context.models import Event
from harken.context.schemas import EventPost, EventType
from harken.decisions.models import DecisionLog
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
    declared interest; a gift is not even an observed one. A decision it names must be one it can
    answer (`_answers`); nothing is written otherwise."""
    occurred_at = body.occurred_at or now
    if occurred_at > now + timedelta(minutes=5):
        raise Invalid("occurred_at", "lies in the future")
    if body.type == "purchase" and not (body.item or body.topics):
        raise Invalid("item", "a purchase needs an item or topics")
    if body.type != "purchase" and body.offer_id is None:
        raise Invalid("offer_id", f"a {body.type} event names its offer")
    if body.decision_id is not None:
        _answers(session, org_id=org_id, subject_id=subject_id, body=body)
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
        decision_id=body.decision_id,
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


def _answers(session: Session, *, org_id: uuid.UUID, subject_id: uuid.UUID, body: EventPost) -> None:
    """Refuses the event's `decision_id` unless it is an offer event answering a decision of the same org,
    about the same customer, that chose the event's offer. Another org's decision is refused exactly as
    one that does not exist: its id says nothing."""
    if body.type == EventType.purchase:
        raise Invalid("decision_id", "only an offer event (shown, accepted, dismissed) answers a decision")
    found = session.execute(
        select(DecisionLog.subject_id, DecisionLog.offer_id).where(
            DecisionLog.id == body.decision_id, DecisionLog.org_id == org_id
        )
    ).first()
    if found is None:
        raise Invalid("decision_id", f"no decision {body.decision_id}")
    if found.subject_id != subject_id:
        raise Invalid("decision_id", "that decision was about another customer")
    if found.offer_id != body.offer_id:
        raise Invalid("decision_id", f"that decision did not choose offer {body.offer_id}")
