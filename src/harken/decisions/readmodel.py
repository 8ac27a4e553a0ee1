"""The decision engine's read model: what the engine may weigh for an org about a person (a Basis),
read from consent, context and decision storage and shaped as the engine's plain data.

Context writes facts and reads them for whoever asks; what the engine makes of them is decided here,
so data flows one way: context → decisions, never back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import partial

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from harken.consent.models import ConsentRecord, CurrentConsent
from harken.context import service as context_service
from harken.context.models import CENTRE, Event
from harken.context.schemas import Provenance
from harken.context.service import StoredFact
from harken.decisions import engine
from harken.decisions.basis import FEEDBACK_MEMORY, PURCHASE_MEMORY, Basis
from harken.decisions.models import DecisionFeedback
from harken.shares import lending
from harken.subjects.service import person
from harken.terms import service as terms_service

# Built once: every decision that reads runs them.
_CONSENTS = (
    select(
        ConsentRecord.purpose,
        ConsentRecord.status,
        ConsentRecord.channels,
        ConsentRecord.expires_at,
        ConsentRecord.method,
    )
    .join(CurrentConsent, CurrentConsent.record_id == ConsentRecord.id)
    .where(CurrentConsent.org_id == bindparam("org_id"), CurrentConsent.subject_id == bindparam("subject_id"))
)
_FEEDBACK = select(DecisionFeedback.offer_id, DecisionFeedback.kind, DecisionFeedback.at).where(
    DecisionFeedback.subject_id == bindparam("subject_id"),
    DecisionFeedback.org_id == bindparam("org_id"),
    DecisionFeedback.at > bindparam("since"),
    DecisionFeedback.offer_id.is_not(None),
)
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


def load(
    session: Session,
    *,
    org_id: uuid.UUID,
    subject_id: uuid.UUID,
    stamp: tuple[uuid.UUID, int],
    since: datetime,
    grants: lending.Lent = (),
) -> Basis:
    """What the engine may weigh for this org about this person at any moment from `since` on, read at
    `stamp` (the person's change counter, read before this in the same transaction)."""
    sharing = context_service.sharing(session, subject_id=subject_id, org_id=org_id)
    # The person's subjects, read once: as a subquery in each statement SQLite scans every event.
    people = person(session, subject_id)
    purchases, dismissed = _history(
        session, subject_ids=people, org_id=org_id, shared=bool(sharing and sharing.purchases), now=since
    )
    facts = engine_facts(
        context_service.facts(session, subject_id=subject_id, people=people),
        org_id=org_id,
        shared=bool(sharing and sharing.profile),
        lends_fact=partial(lending.lends_fact, grants) if grants else None,
    )
    consents = {
        purpose: engine.ConsentState(status, frozenset(channels), expires_at, method)
        for purpose, status, channels, expires_at, method in session.connection().execute(
            _CONSENTS, {"org_id": org_id, "subject_id": subject_id}
        )
    }
    feedback = tuple(
        engine.Feedback(str(offer_id), kind, when)
        for offer_id, kind, when in session.execute(
            _FEEDBACK, {"subject_id": subject_id, "org_id": org_id, "since": since - FEEDBACK_MEMORY}
        )
    )
    return Basis(
        stamp=stamp,
        people=people,
        since=since,
        facts=tuple(facts),
        purchases=tuple(purchases),
        dismissed=tuple(dismissed),
        feedback=feedback,
        consents=consents,
        lends=bool(grants) or lending.lends_any(session, org_id=org_id, subject_id=subject_id, now=since),
        terms=tuple(
            engine.Terms(a.id, a.title, a.terms.allowed())
            for a in terms_service.in_force(session, org_id=org_id, subject_id=subject_id)
        ),
    )


def engine_facts(
    rows: Iterable[StoredFact],
    *,
    org_id: uuid.UUID | None,
    shared: bool,
    lends_fact: Callable[[StoredFact], bool] | None = None,
) -> list[engine.Fact]:
    """The person's facts as the engine sees them for `org_id`: its own data, what the customer declared
    through it or to the person's own centre, and what they declared through another business's window
    when they share it; each marked shared when the org may see it (`shared`: the customer shares their
    profile with it; `lends_fact`: a share lends it this fact). What the centre holds and the org may not see
    may still stop a message, never choose one. Other orgs' observed and inferred data never leave
    them, nor does what was told only to another business. `org_id` None is the customer's own view:
    everything, all shared."""
    own = str(org_id) if org_id else None
    found = []
    for row in rows:
        mine = org_id is None or row.source == own
        if row.provenance != Provenance.declared and not mine:
            continue
        seen = mine or shared or (lends_fact is not None and lends_fact(row))
        if not seen and row.source != CENTRE:
            continue
        found.append(engine.Fact(row.key, row.value, row.provenance, row.recorded_at, row.valid_until, seen))
    return found


def _history(
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
