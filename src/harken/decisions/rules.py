"""The hub's own guesses, kept apart from what the customer or the law said: the soft defaults (which
channels suit which situation when the customer said nothing about it, the relevance floor, the
hand-set weights) as named priors — `decide` takes them as a parameter; no org sets its own yet: evidence
revises them through a learned scorer — and `RulesScorer`, today's weights as one `scoring.Scorer` among
others.

Hard gates (consent, do-not-disturb, quiet hours, limits, dislikes, life events, sensitive topics, a
declared intent, the customer's own channel choices, already bought, country, language) are not here:
they are the engine's eligibility filters (gates.py, ranking.py), and no scorer ever sees what they drop.

Pure: no database, no web, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from harken.decisions import features as f
from harken.decisions.gates import FITTING_CHANNELS
from harken.decisions.scoring import DONT_SEND, Action, Features

UNFIT = -1.0e9  # the rules' score for a channel only the default table closes: never their choice


@dataclass(frozen=True, slots=True)
class Weights:
    """What each declared match is worth to the rules (the relevance of an offer is their sum)."""

    context: float = 0.8  # the offer's topics meet the topics the customer said matter right now
    persona: float = 0.3  # the offer is for the persona the customer is being right now
    persona_interests: float = 0.5  # … and touches that persona's interests
    other_persona: float = -0.4  # the offer is for another of the customer's personas
    declared: float = 1.0  # an interest the customer declared counts in full
    observed: float = 0.5  # one the business observed or inferred, half
    novelty: float = 0.6  # nothing else known: the customer's "surprise me", weighted


@dataclass(frozen=True, slots=True)
class Priors:
    """The soft defaults of one org: evidence (exploration the customer allows, and feedback) may
    revise them; what a customer declared is never one of them."""

    fitting: Mapping[str, frozenset[str]] = field(default_factory=lambda: FITTING_CHANNELS)
    floor: float = 0.25  # below it, an offer is not worth sending: "don't send" scores this much
    weights: Weights = field(default_factory=Weights)


PRIORS = Priors()


class RulesScorer:
    """Today's hand-set weights over the features of each action: plain, explainable, never learning.
    "Don't send" scores the relevance floor; an offer beats it when its relevance reaches the floor."""

    __slots__ = ("_priors",)

    def __init__(self, priors: Priors = PRIORS) -> None:
        self._priors = priors

    @property
    def name(self) -> str:
        return "rules"

    @property
    def priors(self) -> Priors:
        return self._priors

    def score(self, shared: Features, actions: Sequence[Action]) -> list[float]:
        floor = self._priors.floor
        found: list[float] = []
        known: dict[str, float] = {}  # offer → its relevance: the same on every channel
        unfit = f.DEFAULT_UNFIT
        for offer_id, _, features in actions:
            if offer_id == DONT_SEND:
                found.append(floor)
            elif unfit in features:
                found.append(UNFIT)
            else:
                score = known.get(offer_id)
                if score is None:
                    score = known[offer_id] = self.relevance(features)
                found.append(score)
        return found

    def relevance(self, features: Features) -> float:
        """The sum, in the order the rules always added it: context, persona, the persona's interests,
        the strongest liking and disliking, then novelty."""
        if f.DEFAULT_UNFIT in features:
            return UNFIT
        w = self._priors.weights
        get = features.get
        score = 0.0
        if f.CONTEXT in features:
            score += w.context
        if f.PERSONA in features:
            score += w.persona
        elif f.OTHER_PERSONA in features:
            score += w.other_persona
        if f.PERSONA_INTERESTS in features:
            score += w.persona_interests
        liked = max(
            0.0,
            get(f.LIKED_DECLARED, 0.0) * w.declared,
            get(f.LIKED_OBSERVED, 0.0) * w.observed,
            get(f.LIKED_INFERRED, 0.0) * w.observed,
        )
        disliked = min(
            0.0,
            get(f.DISLIKED_DECLARED, 0.0) * w.declared,
            get(f.DISLIKED_OBSERVED, 0.0) * w.observed,
            get(f.DISLIKED_INFERRED, 0.0) * w.observed,
            get(f.DISLIKED_WITHHELD, 0.0) * w.declared,
        )
        score += liked + disliked
        if f.SURPRISE in features:
            score += features[f.SURPRISE] * w.novelty
        return score


RULES = RulesScorer()
