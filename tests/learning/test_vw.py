"""The learned scorer: VW examples as the hub writes them, a model learned from a log where the truth is
known, and scores that agree with VW's own public prediction."""

from __future__ import annotations

import pytest

from harken.decisions.scoring import DONT_SEND, Action, Choice, choose
from harken.learning import vw
from tests.learning.world import ACTIONS, AT_HOME, BEST, COMMUTING, logged


def _model(n: int = 3000) -> bytes:
    return vw.learn(None, [vw.Example(choice, reward) for choice, reward in logged(n)])


def test_the_learned_scorer_ranks_the_true_best_action_first_in_each_context() -> None:
    scorer = vw.LearnedScorer("org-a", 1, _model())
    for context, shared in (("commuting", COMMUTING), ("home", AT_HOME)):
        scores = scorer.score(shared, ACTIONS)
        assert len(scores) == len(ACTIONS)
        assert max(range(len(scores)), key=scores.__getitem__) == BEST[context], (context, scores)
        # and choose, without exploring, takes it with propensity 1
        choice = choose(scorer.name, shared, ACTIONS, scores, explore=0.0, draw=0.5)
        assert choice.chosen == BEST[context] and choice.propensity == 1.0
    assert scorer.name == "vw:org-a:1"


def test_an_untrained_model_has_no_favourite_and_training_moves_it() -> None:
    fresh = vw.learn(None, [])
    scores = vw.LearnedScorer("o", 1, fresh).score(COMMUTING, ACTIONS)
    assert len(set(scores)) == 1  # nothing learned: every action alike
    assert vw.LearnedScorer("o", 2, _model(300)).score(COMMUTING, ACTIONS) != scores


def test_training_continues_from_the_bytes_it_is_given() -> None:
    log = [vw.Example(choice, reward) for choice, reward in logged(2000)]
    at_once = vw.learn(None, log)
    in_two = vw.learn(vw.learn(None, log[:1000]), log[1000:])
    first = vw.LearnedScorer("o", 1, at_once).score(AT_HOME, ACTIONS)
    second = vw.LearnedScorer("o", 2, in_two).score(AT_HOME, ACTIONS)
    assert first == pytest.approx(second, rel=1e-4, abs=1e-5)  # the adaptive state is saved with it


def test_scores_are_minus_the_costs_vw_predicts_through_its_public_api() -> None:
    model = _model(500)
    actions = (*ACTIONS, Action("tea: green|sencha", "sms", {"topic=tea time": 1.0, "odd%name": 2.5}))
    ours = vw.LearnedScorer("o", 1, model).score(COMMUTING, actions)
    public = vw._workspace(model)
    costs = public.predict(vw.lines(COMMUTING, actions).split("\n"))
    public.finish()
    assert ours == pytest.approx([-c for c in costs])


def test_feature_names_are_escaped_so_vw_syntax_cannot_leak_in() -> None:
    assert vw.escape("a:b|c d%e\tf") == "a%3Ab%7Cc%20d%25e%09f"
    text = vw.lines({"topic=x:1 |s evil": 1.0, "zero": 0.0, "nan": float("nan"), "w": 0.5}, (ACTIONS[0],))
    shared, action = text.split("\n")
    assert shared == "shared |s topic=x%3A1%20%7Cs%20evil w:0.5"  # zero and NaN carry nothing
    assert action.startswith("|a ") and action.count("|") == 1
    labelled = vw.lines(COMMUTING, ACTIONS, label=(4, -1.0, 0.2)).split("\n")
    assert labelled[5] == "0:-1.0:0.2 |a send=no"
    assert not any(line.startswith("0:") for line in labelled[:5])


def test_a_choice_without_a_usable_propensity_is_refused() -> None:
    choice = Choice("rules", COMMUTING, ACTIONS, (0.0,) * 5, 0, (0.0, 0.5, 0.5, 0.0, 0.0))
    with pytest.raises(ValueError, match="propensity"):
        vw.learn(None, [vw.Example(choice, 1.0)])


def test_the_model_learns_what_a_customer_who_said_nothing_gets_dont_send() -> None:
    # Everyone who is sent anything opts out (-1): not sending is the best the model can do.
    choices = [c for c, _ in logged(1500)]
    log = [vw.Example(c, 0.0 if c.actions[c.chosen].offer_id == DONT_SEND else -1.0) for c in choices]
    scores = vw.LearnedScorer("o", 1, vw.learn(None, log)).score(AT_HOME, ACTIONS)
    assert max(range(len(scores)), key=scores.__getitem__) == len(ACTIONS) - 1
