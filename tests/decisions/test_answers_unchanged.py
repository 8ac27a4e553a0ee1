"""The engine gives today's answers: every decision of a fixed corpus of varied customers matches the
digest recorded in answers.json (reasons, sentences, explanation, ranking, scores, data used, retry)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from harken.decisions.engine import decide
from harken.decisions.reasons import Code
from tests.decisions.corpus import CASES, answer, case, digest

RECORDED = json.loads((Path(__file__).parent / "answers.json").read_text(encoding="utf-8"))


def test_every_answer_of_the_corpus_is_the_recorded_one() -> None:
    assert len(RECORDED) == CASES
    for seed, recorded in enumerate(RECORDED):
        snapshot, request, at = case(seed)
        decision = decide(snapshot, request, at)
        assert digest(decision) == recorded, (seed, answer(decision))


def test_the_corpus_reaches_every_kind_of_answer() -> None:
    """A corpus that only ever said "no consent" would prove little."""
    seen: Counter[str] = Counter()
    for seed in range(CASES):
        decision = decide(*case(seed))
        seen["allowed" if decision.allowed else "refused"] += 1
        seen["retry"] += decision.retry_after is not None
        seen.update(str(r.code) for r in decision.reasons)
        seen.update(str(x.code) for r in decision.ranking for x in r.reasons)
    assert seen["allowed"] >= 50 and seen["retry"] >= 20, seen
    learned = {str(Code.relevance_learned)}  # only a learned scorer gives it: see test_learning.py
    # Only accepted MyTerms give these, and the corpus has no terms (its answers are recorded, so a
    # customer without terms decides as before): see tests/terms/test_gates.py.
    terms = {str(Code.terms_purpose_excluded), str(Code.terms_offer_purpose_excluded)}
    assert {str(c) for c in Code} - learned - terms <= set(seen), seen
