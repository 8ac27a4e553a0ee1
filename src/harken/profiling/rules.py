"""Which question to ask next: a pure function over the bank, what was asked before, and what the
customer already declared. No database, no clock (time comes in)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

DECLINED_REST = timedelta(days=180)


class Question(NamedTuple):
    id: str
    fills: str  # the datum an answer declares: `interest:hiking`, `country`, `channel:sms`…
    intrusiveness: int  # 1 (an icebreaker) to 5 (personal)


class Ask(NamedTuple):
    """A question put to the customer by this org, and what became of it."""

    question_id: str
    asked_at: datetime
    outcome: str | None  # answered | declined | None (not yet)


def next_question(
    bank: Sequence[Question],
    asked: Iterable[Ask],
    declared: frozenset[str],
    now: datetime,
    cadence: timedelta,
) -> Question | None:
    """The question to put to the customer now, or None.

    - one question per cadence: a question still open inside it is asked again, no other one is;
    - never what the customer already declared, never an answered question, a declined one not
      again for 180 days;
    - intrusiveness n only once at least n - 1 questions were answered (so an icebreaker comes first);
    - the least intrusive first, then the bank's order.
    """
    asks = sorted(asked, key=lambda a: a.asked_at)
    by_id: Mapping[str, Question] = {q.id: q for q in bank}
    recent = [a for a in asks if now - a.asked_at < cadence]
    if recent:
        last = recent[-1]
        pending = by_id.get(last.question_id)
        if last.outcome is None and pending is not None and pending.fills not in declared:
            return pending
        return None
    answered = {a.question_id for a in asks if a.outcome == "answered"}
    resting = {a.question_id for a in asks if a.outcome == "declined" and now - a.asked_at < DECLINED_REST}
    eligible = [
        q
        for q in bank
        if q.id not in answered
        and q.id not in resting
        and q.fills not in declared
        and q.intrusiveness <= len(answered) + 1
    ]
    return min(eligible, key=lambda q: q.intrusiveness, default=None)
