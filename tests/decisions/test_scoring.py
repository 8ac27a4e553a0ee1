"""choose: the best action unless the customer allows exploring, and the propensity of what it chose."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harken.decisions.scoring import DONT_SEND, Action, Choice, choose

scores = st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=8)


def actions(n: int) -> list[Action]:
    return [Action(f"offer-{i}", "email", {"topic=coffee": 1.0}) for i in range(n - 1)] + [
        Action(DONT_SEND, None, {})
    ]


@given(scores, st.floats(0, 1), st.floats(0, 1, exclude_max=True))
def test_probabilities_sum_to_one_and_the_choice_is_possible(
    values: list[float], explore: float, draw: float
) -> None:
    choice = choose("rules", {}, actions(len(values)), values, explore=explore, draw=draw)
    assert math.isclose(sum(choice.probabilities), 1.0)
    assert choice.propensity > 0


@given(scores, st.floats(0, 1, exclude_max=True))
def test_no_exploring_means_the_best_with_propensity_one(values: list[float], draw: float) -> None:
    choice = choose("rules", {}, actions(len(values)), values, explore=0.0, draw=draw)
    assert choice.propensity == 1.0 and values[choice.chosen] == max(values)


@given(scores, st.floats(0, 1), st.floats(0, 1, exclude_max=True), st.data())
def test_an_action_that_may_not_be_explored_is_taken_only_as_the_best(
    values: list[float], explore: float, draw: float, data: st.DataObject
) -> None:
    may = data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values)))
    choice = choose("rules", {}, actions(len(values)), values, explore=explore, draw=draw, explorable=may)
    best = max(range(len(values)), key=lambda i: (values[i], -i))
    assert may[choice.chosen] or choice.chosen == best


def test_exploring_draws_uniformly_beyond_the_best() -> None:
    chosen = [
        choose("rules", {}, actions(3), [1.0, 0.5, 0.0], explore=0.3, draw=d / 100).chosen for d in range(100)
    ]
    assert chosen.count(0) == 80 and chosen.count(1) == 10 and chosen.count(2) == 10  # 0.7 + 0.1, 0.1, 0.1


def test_a_choice_keeps_as_plain_json() -> None:
    choice = choose(
        "rules", {"situation=commuting": 1.0}, actions(3), [0.2, 0.9, 0.0], explore=0.5, draw=0.99
    )
    record = json.loads(json.dumps(choice.as_record()))
    assert Choice.from_record(record) == choice and choice.chosen == 2 and choice.propensity == 0.5 / 3


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        choose("rules", {}, actions(2), [1.0], explore=0.0, draw=0.0)
    with pytest.raises(ValueError):
        choose("rules", {}, actions(2), [1.0, 0.0], explore=1.5, draw=0.0)
