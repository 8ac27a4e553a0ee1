"""Where the rules end and learning may begin: what a scorer sees, what it says, and how the engine
chooses among what it says — exploring only as far as the customer allows.

A decision first applies the hard gates (what the customer or the law said: consent, do-not-disturb,
quiet hours, limits, dislikes, life events, sensitive topics, a declared intent, the customer's own
channel choices, already bought, country and language). What is left are *actions*: an eligible offer
on a channel it may go by, and "don't send". A `Scorer` scores them; `choose` picks one, and says with
what probability it would have picked it (its propensity), so the choice can be learned from and
evaluated later without bias.

Today's hand-set weights are one scorer; a learned model is another. Both are plain objects passed in:
`decide` stays a pure function, and the random draw is passed in too.

Pure: no database, no web, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

Features = Mapping[str, float]  # a namespaced feature ("situation=commuting", "topic=coffee") → its value

DONT_SEND = "-"  # the action id of "don't send"


class Action(NamedTuple):
    """One thing the engine could do: send `offer_id` by `channel`, or don't send (`DONT_SEND`, None).
    (A named tuple: a decision builds one per offer and channel, and a frozen dataclass costs five times
    as much to build.) The channel is the action's own: a scorer reads it here, as `features` may be
    shared by every channel of one offer."""

    offer_id: str
    channel: str | None
    features: Features  # the offer's own and the channel's: never a trait of the customer


class Scorer(Protocol):
    """Scores the actions a decision may take, higher is better; one score per action, in order."""

    @property
    def name(self) -> str:
        """What scored, as logged with the decision: "rules", or a model's id and version."""
        ...

    def score(self, shared: Features, actions: Sequence[Action]) -> list[float]: ...


@dataclass(frozen=True, slots=True)
class Choice:
    """The action taken, with everything needed to learn from it and to evaluate another policy on it."""

    scorer: str
    shared: Features  # the context: what the customer declared and the moment
    actions: tuple[Action, ...]
    scores: tuple[float, ...]
    chosen: int  # index into `actions`
    probabilities: tuple[float, ...]  # the probability of each action under this policy (sums to 1)

    @property
    def propensity(self) -> float:
        return self.probabilities[self.chosen]

    def as_record(self) -> dict[str, Any]:
        """Plain JSON, as the decision log keeps it (`decisions.choice`)."""
        return {
            "scorer": self.scorer,
            "shared": dict(self.shared),
            "actions": [
                {"offer": a.offer_id, "channel": a.channel, "features": dict(a.features)}
                for a in self.actions
            ],
            "scores": list(self.scores),
            "chosen": self.chosen,
            "probabilities": list(self.probabilities),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Choice:
        actions = tuple(Action(a["offer"], a["channel"], a["features"]) for a in record["actions"])
        return cls(
            scorer=record["scorer"],
            shared=record["shared"],
            actions=actions,
            scores=tuple(record["scores"]),
            chosen=record["chosen"],
            probabilities=tuple(record["probabilities"]),
        )


def choose(
    scorer_name: str,
    shared: Features,
    actions: Sequence[Action],
    scores: Sequence[float],
    *,
    explore: float,
    draw: float,
    explorable: Sequence[bool] | None = None,
) -> Choice:
    """Epsilon-greedy over `scores`: the best action with probability 1 - `explore`, else one of the
    explorable actions uniformly (`draw` in [0, 1) decides). `explore` is the customer's own bound
    (their "surprise me", capped by the org): 0 means the best action always, with propensity 1.
    An action that may not be explored (a sensitive offer) is only ever taken as the best one."""
    if not actions or len(actions) != len(scores):
        raise ValueError("one score per action, and at least one action")
    if not 0.0 <= explore <= 1.0 or not 0.0 <= draw < 1.0:
        raise ValueError("explore in [0, 1], draw in [0, 1)")
    best = list(scores).index(max(scores))  # ties: the first asked
    may = list(explorable) if explorable is not None else [True] * len(actions)
    others = [i for i in range(len(actions)) if may[i]]
    probabilities = [0.0] * len(actions)
    if explore == 0.0 or not others:
        probabilities[best] = 1.0
        return Choice(scorer_name, shared, tuple(actions), tuple(scores), best, tuple(probabilities))
    probabilities[best] = 1.0 - explore
    for i in others:
        probabilities[i] += explore / len(others)
    chosen = max(i for i, p in enumerate(probabilities) if p > 0)  # should rounding leave `draw` past 1
    cumulative = 0.0
    for i, p in enumerate(probabilities):
        cumulative += p
        if draw < cumulative:
            chosen = i
            break
    return Choice(scorer_name, shared, tuple(actions), tuple(scores), chosen, tuple(probabilities))
