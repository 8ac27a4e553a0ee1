"""A decision's reward: the latest of its feedback and of the accepted or dismissed events that name it,
by time; read in one query per batch of decisions, never one per decision."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from harken.context.models import Event
from harken.decisions.models import DecisionFeedback, DecisionLog
from harken.errors import Invalid
from harken.learning import settings
from harken.learning.rewards import BEGINNING, Progress, examples
from harken.orgs.models import Org
from tests.factories import T0, make_org
from tests.learning.test_service import NOW, log
from tests.learning.world import logged


def outcome(session: Session, decision: DecisionLog, what: str, minutes: int) -> None:
    """Feedback (`accepted`, `dismissed`…) or an event answering the decision (`offer.…`), `minutes` after
    it was decided."""
    at = decision.decided_at + timedelta(minutes=minutes)
    assert decision.subject_id is not None
    if what.startswith("offer."):
        session.add(
            Event(
                id=uuid.uuid4(),
                org_id=decision.org_id,
                subject_id=decision.subject_id,
                type=what,
                item=None,
                topics=[],
                gift=False,
                offer_id=decision.offer_id,
                occurred_at=at,
                recorded_at=NOW,  # recorded late: when it occurred is what counts
                decision_id=decision.id,
            )
        )
    else:
        session.add(
            DecisionFeedback(
                id=uuid.uuid4(),
                decision_id=decision.id,
                org_id=decision.org_id,
                subject_id=decision.subject_id,
                offer_id=decision.offer_id,
                kind=what,
                at=at,
            )
        )
    session.flush()


def decisions(session: Session, org: Org, count: int) -> list[DecisionLog]:
    """`count` logged decisions with no outcome yet."""
    rows = log(session, org, logged(count), start=T0)
    session.query(DecisionFeedback).delete()
    return rows


def rewards(session: Session, org: Org) -> list[float]:
    progress = Progress()
    return [e.reward for e in examples(session, org, since=BEGINNING, until=NOW, progress=progress)]


def test_the_latest_of_feedback_and_answering_events_is_the_reward(session: Session) -> None:
    org, _ = make_org(session)
    settings.set_opted_out_reward(session, org, -2.0, now=T0)
    rows = decisions(session, org, 7)
    histories: list[list[tuple[str, int]]] = [
        [("accepted", 5), ("offer.dismissed", 10)],  # the event came later: 0
        [("offer.dismissed", 1), ("accepted", 2)],  # the feedback came later: 1
        [("offer.accepted", 3)],  # an event alone: 1
        [("offer.shown", 3)],  # shown is no outcome: 0
        [("offer.accepted", 20), ("opted-out", 30)],  # the org's penalty
        [("dismissed", 1), ("offer.accepted", 2), ("not-relevant", 3)],
        [],
    ]
    for row, history in zip(rows, histories, strict=True):
        for what, minutes in history:
            outcome(session, row, what, minutes)
    assert rewards(session, org) == [0.0, 1.0, 1.0, 0.0, -2.0, 0.0, 0.0]


def test_an_event_for_the_offer_that_names_no_decision_is_no_reward(session: Session) -> None:
    org, _ = make_org(session)
    [row] = decisions(session, org, 1)
    outcome(session, row, "offer.accepted", 5)
    session.query(Event).update({"decision_id": None})
    assert rewards(session, org) == [0.0]


def test_outcomes_are_read_in_one_query_per_batch(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    org, _ = make_org(session)
    rows = decisions(session, org, 10)
    for i, row in enumerate(rows):
        outcome(session, row, "offer.accepted" if i % 2 else "dismissed", 5)
    monkeypatch.setattr("harken.learning.rewards.BATCH", 4)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", seen)
    try:
        assert rewards(session, org) == [0.0, 1.0] * 5
    finally:
        event.remove(connection, "before_cursor_execute", seen)
    reads = [s for s in statements if "decision_feedback" in s]
    assert len(reads) == 3  # 10 decisions, 4 at a time
    assert all("events" in s and "UNION ALL" in s for s in reads)


def test_an_opt_out_costs_what_the_org_says(session: Session) -> None:
    org, _ = make_org(session)
    assert settings.opted_out_reward(session, org) == -1.0
    settings.set_opted_out_reward(session, org, -3.0, now=NOW)
    assert settings.opted_out_reward(session, org) == -3.0
    with pytest.raises(Invalid):
        settings.set_opted_out_reward(session, org, 2.0, now=NOW)
    rows = log(session, org, [(c, -1.0) for c, _ in logged(3)], start=T0)
    assert len(rows) == 3 and rewards(session, org) == [-3.0, -3.0, -3.0]
