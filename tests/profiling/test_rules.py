"""The profiling rules as plain data: which question comes next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from harken.profiling.rules import Ask, Question, next_question

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)
WEEK = timedelta(days=7)
BANK = [
    Question("pets", "interest:pets", 2),
    Question("coffee", "interest:coffee", 1),
    Question("income", "interest:budget", 5),
    Question("tea", "interest:tea", 1),
]


def test_a_new_customer_gets_the_first_icebreaker() -> None:
    assert next_question(BANK, [], frozenset(), NOW, WEEK) == BANK[1]


def test_an_open_question_is_asked_again_within_the_cadence_and_nothing_else() -> None:
    asked = [Ask("coffee", NOW - timedelta(days=2), None)]
    assert next_question(BANK, asked, frozenset(), NOW, WEEK) == BANK[1]
    settled = [Ask("coffee", NOW - timedelta(days=2), "answered")]
    assert next_question(BANK, settled, frozenset(), NOW, WEEK) is None


def test_intrusiveness_n_needs_n_minus_one_answers() -> None:
    answered = [
        Ask(q, NOW - timedelta(days=30 - i), "answered") for i, q in enumerate(("coffee", "tea", "pets"))
    ]
    assert next_question(BANK, answered, frozenset(), NOW, WEEK) is None  # 5 needs four answers
    four = [*answered, Ask("extra", NOW - timedelta(days=20), "answered")]
    assert next_question(BANK, four, frozenset(), NOW, WEEK) == BANK[2]


def test_declined_questions_rest_for_180_days_and_declared_fields_are_never_asked() -> None:
    declined = [Ask("coffee", NOW - timedelta(days=179), "declined")]
    assert next_question(BANK, declined, frozenset(), NOW, WEEK) == BANK[3]
    assert next_question(BANK, declined, frozenset({"interest:tea"}), NOW, WEEK) is None
    rested = [Ask("coffee", NOW - timedelta(days=181), "declined")]
    assert next_question(BANK, rested, frozenset({"interest:tea"}), NOW, WEEK) == BANK[1]
