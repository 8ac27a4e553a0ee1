"""What a model learns from: an org's logged choices, read from its decision log in the order they were
decided, each with the reward its outcome earned.

Rewards come from `POST /v1/decisions/{id}/feedback` (accepted 1, dismissed or not relevant 0, opted
out the org's penalty: `LearningSettings`, -1 unless set) and from `offer.accepted` (1) and
`offer.dismissed` (0) events that name the decision they answer (`decision_id`). Of all of these on a
decision, the latest counts (feedback by when it was given, an event by when it occurred). An offer
event without a decision is no reward: attributing it to a decision by offer and time would be a guess.
A decision with no outcome earned 0 — but only once its outcome has had time to arrive: training reads
decisions decided at least `SETTLED` ago. Never a choice about a customer whose terms the org accepted
forbid AI training.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, tuple_, union_all
from sqlalchemy.orm import Session

from harken.context.models import Event
from harken.decisions.models import DecisionFeedback, DecisionLog
from harken.decisions.scoring import Choice
from harken.learning import settings, vw
from harken.orgs.models import Org
from harken.terms import service as terms_service

SETTLED = timedelta(hours=24)  # how long a decision's feedback has to arrive before it is learned from
BATCH = 1000  # decisions read at a time
# What became of a decision, as feedback or as an event that answers it; and "opted-out": the org's penalty.
REWARDS = {
    "accepted": 1.0,
    "dismissed": 0.0,
    "not-relevant": 0.0,
    "offer.accepted": 1.0,
    "offer.dismissed": 0.0,
}
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Progress:
    """How far a training run got: decisions learned from, logged choices it could not read (skipped,
    not retried), the decided_at of the last decision read, and, if it was a rebuild after an erasure,
    the older versions it forgot."""

    examples: int = 0
    skipped: int = 0
    through: datetime | None = None
    rebuilt: bool = False
    forgotten: list[int] = field(default_factory=list)


def trainable(org: Org, since: datetime, until: datetime) -> tuple[ColumnElement[bool], ...]:
    """The org's logged choices a model may learn from: never those about a customer whose terms the
    org accepted forbid AI training (MyTerms "no AI training", "service delivery only"…)."""
    return (
        DecisionLog.org_id == org.id,
        or_(
            DecisionLog.subject_id.is_(None), DecisionLog.subject_id.not_in(terms_service.untrainable(org.id))
        ),
        DecisionLog.choice.is_not(None),
        DecisionLog.decided_at > since,
        DecisionLog.decided_at <= until,
    )


def examples(
    session: Session,
    org: Org,
    *,
    since: datetime,
    until: datetime,
    progress: Progress,
    limit: int | None = None,
) -> Iterator[vw.Example]:
    """The org's logged choices decided after `since`, up to `until`, in the order they were decided,
    each with its reward; `progress` follows. Past `limit`, stops at the next change of decided_at, so
    a later run from `progress.through` on misses none decided at the same instant."""
    penalty = settings.opted_out_reward(session, org)
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        query = select(DecisionLog.id, DecisionLog.decided_at, DecisionLog.choice).where(
            *trainable(org, since, until)
        )
        if after is not None:
            query = query.where(tuple_(DecisionLog.decided_at, DecisionLog.id) > tuple_(*after))
        rows = session.execute(query.order_by(DecisionLog.decided_at, DecisionLog.id).limit(BATCH)).all()
        if not rows:
            return
        kinds = _outcomes(session, [row.id for row in rows])
        for row in rows:
            if limit is not None and progress.examples >= limit and row.decided_at != progress.through:
                return
            progress.through = row.decided_at
            choice = _readable(row.choice)
            if choice is None:
                progress.skipped += 1
                continue
            kind = kinds.get(row.id)
            reward = penalty if kind == "opted-out" else REWARDS.get(kind or "", 0.0)
            yield vw.Example(choice, reward)
            progress.examples += 1
        after = (rows[-1].decided_at, rows[-1].id)


def _readable(record: dict[str, Any]) -> Choice | None:
    """The logged choice, or None if the record is not one a model can learn from (written by a bug,
    or by hand): no chosen action, or no probability it was chosen with."""
    try:
        choice = Choice.from_record(record)
        if len(choice.probabilities) != len(choice.actions) or not 0 <= choice.chosen < len(choice.actions):
            return None
        if not 0.0 < choice.propensity <= 1.0:
            return None
        for action in choice.actions:
            if not all(isinstance(v, int | float) for v in action.features.values()):
                return None
        if not all(isinstance(v, int | float) for v in choice.shared.values()):
            return None
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return choice


def _outcomes(session: Session, decision_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """What last became of each of the decisions that has an outcome, in one query: its latest feedback
    (by when it was given) or accepted or dismissed event answering it (by when it occurred)."""
    feedback = select(
        DecisionFeedback.decision_id.label("decision_id"),
        DecisionFeedback.kind.label("kind"),
        DecisionFeedback.at.label("at"),
        DecisionFeedback.id.label("id"),
    ).where(DecisionFeedback.decision_id.in_(decision_ids))
    events = select(Event.decision_id, Event.type, Event.occurred_at, Event.id).where(
        Event.decision_id.in_(decision_ids), Event.type.in_(["offer.accepted", "offer.dismissed"])
    )
    both = union_all(feedback, events).subquery()
    kinds: dict[uuid.UUID, str] = {}
    for decision_id, kind in session.execute(
        select(both.c.decision_id, both.c.kind).order_by(both.c.at, both.c.id)
    ):
        kinds[decision_id] = kind  # later rows overwrite earlier ones
    return kinds
