"""`harken learn evaluate`: a version is judged on the org's own log against the policy in force, and
promotion without --force follows the verdict."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from harken.decisions.scoring import Choice
from harken.errors import Invalid
from harken.learning import offline, service, vw
from tests.factories import T0, FixedClock, make_org
from tests.learning.test_service import NOW, log
from tests.learning.world import ACTIONS, logged

RULES_TRUTH = (0.7 + 0.05) / 2  # the logged rules' scores tie, so they take action 0: coffee by push


def test_a_model_that_learned_the_world_beats_the_rules_and_may_then_be_promoted(session: Session) -> None:
    org, _ = make_org(session)
    log(session, org, logged(3000), start=T0)
    model = service.train(session, org, clock=FixedClock(NOW))
    assert model is not None
    with pytest.raises(Invalid):
        service.promote(session, org, version=1)  # not yet evaluated
    judged = offline.evaluate_version(session, org, clock=FixedClock(NOW))
    found = judged.metrics
    assert found is not None and found["against"] == "rules" and found["rounds"] == 3000
    assert found["beats_current"] is True
    for estimator in ("ips", "snips", "dr"):
        current = found["current"][estimator]
        assert current["low"] <= RULES_TRUTH <= current["high"], (estimator, current)
    # Progressive validation: early decisions are judged by a model that knew little, so the candidate's
    # value sits below the true best (0.7) but far above the rules'.
    assert 0.5 < found["candidate"]["dr"]["value"] <= 0.75
    assert service.promote(session, org, version=1).live


def test_a_model_with_nothing_to_learn_does_not_beat_the_rules(session: Session) -> None:
    org, _ = make_org(session)
    rng = random.Random(3)
    noise = [(choice, 1.0 if rng.random() < 0.2 else 0.0) for choice, _ in logged(2000)]  # no action better
    log(session, org, noise, start=T0)
    service.train(session, org, clock=FixedClock(NOW))
    judged = offline.evaluate_version(session, org, clock=FixedClock(NOW))
    assert judged.metrics is not None and judged.metrics["beats_current"] is False
    with pytest.raises(Invalid):
        service.promote(session, org, version=1)


def test_a_verdict_against_a_policy_no_longer_in_force_does_not_count(session: Session) -> None:
    org, _ = make_org(session)
    log(session, org, logged(1500), start=T0)
    service.train(session, org, clock=FixedClock(NOW))
    offline.evaluate_version(session, org, clock=FixedClock(NOW))
    log(session, org, logged(1500, seed=8), start=T0 + timedelta(hours=1))
    service.train(session, org, clock=FixedClock(NOW))
    offline.evaluate_version(session, org, clock=FixedClock(NOW), version=2)
    service.promote(session, org, version=2)
    with pytest.raises(Invalid):  # version 1 was judged against the rules, and version 2 is in force now
        service.promote(session, org, version=1)


def test_progressive_validation_scores_each_decision_before_learning_it() -> None:
    examples = [vw.Example(choice, reward) for choice, reward in logged(50)]
    first, scores = next(iter(vw.progressive(examples)))
    assert first == examples[0] and scores == [0.0] * len(ACTIONS)  # nothing learned before the first


def test_an_org_without_settled_decisions_cannot_be_evaluated(session: Session) -> None:
    org, _ = make_org(session)
    entries: list[tuple[Choice, float]] = logged(10)
    log(session, org, entries, start=NOW - timedelta(hours=1))  # not settled yet
    log(session, org, logged(10), start=T0)
    service.train(session, org, clock=FixedClock(NOW))
    with pytest.raises(Invalid):
        offline.evaluate_version(session, org, clock=FixedClock(NOW), settled=timedelta(days=60))
