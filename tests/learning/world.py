"""A synthetic world whose truth is known, logged by a uniformly random policy: commuters accept coffee
offers by push, people at home accept shoes by email, nobody much else."""

from __future__ import annotations

import random

from harken.decisions.scoring import DONT_SEND, Action, Choice, Features

ACTIONS = (
    Action("coffee", "push", {"topic=coffee": 1.0, "kind=promo": 1.0}),
    Action("coffee", "email", {"topic=coffee": 1.0, "kind=promo": 1.0}),
    Action("shoes", "push", {"topic=shoes": 1.0, "kind=promo": 1.0}),
    Action("shoes", "email", {"topic=shoes": 1.0, "kind=promo": 1.0}),
    Action(DONT_SEND, None, {}),
)
COMMUTING: Features = {"situation=commuting": 1.0, "daypart=morning": 1.0, "interest=coffee": 1.0}
AT_HOME: Features = {"situation=home": 1.0, "daypart=evening": 1.0, "interest=coffee": 1.0}
BEST = {"commuting": 0, "home": 3}  # the true best action's index in each context


def accepts(context: str, action: int) -> float:
    """The true chance that a customer in `context` accepts `action`."""
    if action == BEST[context]:
        return 0.7
    return 0.0 if action == len(ACTIONS) - 1 else 0.05


def logged(n: int, seed: int = 7) -> list[tuple[Choice, float]]:
    """`n` decisions taken uniformly at random (propensity 1/5 each), with the reward each earned."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        context = rng.choice(("commuting", "home"))
        chosen = rng.randrange(len(ACTIONS))
        p = 1.0 / len(ACTIONS)
        choice = Choice(
            "rules",
            COMMUTING if context == "commuting" else AT_HOME,
            ACTIONS,
            (0.0,) * len(ACTIONS),
            chosen,
            (p,) * len(ACTIONS),
        )
        out.append((choice, 1.0 if rng.random() < accepts(context, chosen) else 0.0))
    return out
