"""The text VW reads for a decision is made from caches (an org's offers and channels recur in every
decision): it must be, byte for byte, the text written afresh for each action, as it was before the
caches, whatever the caches already hold."""

from __future__ import annotations

import math
from collections.abc import Sequence

from harken.decisions.engine import decide
from harken.decisions.scoring import DONT_SEND, Action, Features
from harken.learning import vw
from tests.decisions.corpus import case
from tests.learning.world import ACTIONS, COMMUTING


def _features(features: Features) -> str:
    return " ".join(
        vw.escape(name) if value == 1.0 else f"{vw.escape(name)}:{value!r}"
        for name, value in features.items()
        if value and math.isfinite(value)
    )


def afresh(shared: Features, actions: Sequence[Action], label: tuple[int, float, float] | None = None) -> str:
    """`vw.lines` as it was written before its caches: every line made from nothing."""
    out = [f"shared |s {_features(shared)}"]
    for offer_id, channel, features in actions:
        if offer_id == DONT_SEND:
            identity = "send=no"
        else:
            found = {f"channel={channel}": 1.0, f"action={offer_id}@{channel}": 1.0}
            named = f"offer={offer_id}" in features
            identity = _features(found if named else {f"offer={offer_id}": 1.0, **found})
        tokens = _features(features)
        out.append(f"|a {identity} {tokens}" if tokens else f"|a {identity}")
    if label is not None:
        chosen, cost, propensity = label
        out[chosen + 1] = f"0:{cost!r}:{propensity!r} {out[chosen + 1]}"
    return "\n".join(out)


def test_the_engines_decisions_read_the_same_as_written_afresh_cold_and_warm() -> None:
    compared = 0
    for _ in range(2):  # the second time round, every line comes from the caches
        for seed in range(300):
            snapshot, request, at = case(seed)
            choice = decide(snapshot, request, at).choice
            if choice is None:
                continue
            label = (choice.chosen, -1.0, choice.propensity)
            assert vw.lines(choice.shared, choice.actions) == afresh(choice.shared, choice.actions)
            assert vw.lines(choice.shared, choice.actions, label) == afresh(
                choice.shared, choice.actions, label
            )
            compared += 1
    assert compared > 100


def test_the_same_features_by_another_offer_or_channel_read_as_their_own() -> None:
    escaped = {"topic=board games": 1.0, "odd:name|x%": 2.5, "zero": 0.0, "nan": float("nan")}
    shared = {**COMMUTING, "w": 0.5}
    actions = (
        *ACTIONS,
        Action("tea", "sms", escaped),
        Action("tea", "push", dict(escaped)),  # equal features in a mapping of its own
        Action("coffee", "sms", dict(escaped)),  # the same features, another offer
        Action("tea", "sms", {"offer=tea": 1.0, **escaped}),  # its features name the offer
        Action("herbal", None, {}),
        Action(DONT_SEND, None, {}),
    )
    for chosen in (0, 5, len(actions) - 1):
        label = (chosen, -0.0, 0.2)
        assert vw.lines(shared, actions, label) == afresh(shared, actions, label)
    assert vw.lines(shared, actions[::-1]) == afresh(shared, actions[::-1])
