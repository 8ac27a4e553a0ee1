"""Offline evaluation: what a policy would have earned, estimated from what another policy logged.

Each logged round says which action the logging policy took, with what probability (its propensity),
and the reward it got. For a *target* policy that gives every action a probability, three estimators
of the target's mean reward per round:

- **IPS** (inverse propensity scoring): the mean of `w·r`, with `w = target(a) / propensity`.
  Unbiased when the logging policy gave every action the target may take a probability above zero.
- **SNIPS** (self-normalised IPS): `Σ w·r / Σ w`. Slightly biased, far steadier when weights are large.
- **DR** (doubly robust): a reward model's prediction under the target, corrected on the logged
  action by `w·(r - prediction)`. Unbiased if either the propensities or the model are right; its
  variance falls as the model improves. Fit the model on other rounds than it predicts (`cross_fit`).

Every estimate carries a confidence interval. `ips`, `snips` and `dr` give the normal approximation:
the estimate ± z·s/√n, with s the sample standard deviation of the per-round terms (for SNIPS, of the
delta-method terms `w·(r - estimate) / mean(w)`). `bootstrap` gives a percentile interval from
resampled rounds, with the random generator passed in.

Pure: plain data in, numbers out; no database, no web, no clock.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TypeVar

from harken.decisions.scoring import Choice

_TOLERANCE = 1e-6

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Round:
    """One logged decision, as an estimator sees it."""

    action: int  # the index of the action the logging policy took
    reward: float
    propensity: float  # the logging policy's probability of `action`, above zero
    target: Sequence[float]  # the target policy's probability of each action (sums to 1)
    predicted: Sequence[float] | None = None  # a reward model's prediction per action: needed by DR
    logging: Sequence[float] | None = None  # the logging policy's probability of each action, if known

    def __post_init__(self) -> None:
        if not 0.0 < self.propensity <= 1.0:
            raise ValueError(f"a logged propensity is in (0, 1], not {self.propensity}")
        if not 0 <= self.action < len(self.target):
            raise ValueError("the logged action must be one of the target's actions")
        if abs(math.fsum(self.target) - 1.0) > _TOLERANCE or min(self.target) < 0.0:
            raise ValueError("the target's probabilities must be non-negative and sum to 1")
        if self.predicted is not None and len(self.predicted) != len(self.target):
            raise ValueError("one prediction per action")
        if self.logging is not None and len(self.logging) != len(self.target):
            raise ValueError("one logging probability per action")

    @property
    def weight(self) -> float:
        """How much more (or less) likely the target was to take the logged action."""
        return self.target[self.action] / self.propensity


@dataclass(frozen=True, slots=True)
class Estimate:
    """A policy's estimated mean reward per round, with its interval and what it rests on."""

    estimator: str  # "ips", "snips" or "dr"
    value: float
    low: float
    high: float
    level: float  # the interval's confidence level, e.g. 0.95
    interval: str  # "normal" (sample variance of the per-round terms) or "bootstrap" (percentile)
    rounds: int
    effective_rounds: float  # (Σw)² / Σw²: how many rounds the weights effectively leave
    max_weight: float
    unsupported: float | None  # the target's mean probability on actions the logging never took

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def ips(rounds: Sequence[Round], *, level: float = 0.95) -> Estimate:
    """Inverse propensity scoring, with a normal-approximation interval."""
    terms = [r.weight * r.reward for r in rounds]
    return _normal("ips", rounds, terms, sum(terms) / _count(rounds), level)


def snips(rounds: Sequence[Round], *, level: float = 0.95) -> Estimate:
    """Self-normalised IPS, with a delta-method normal interval. No weight at all gives no estimate."""
    weights = [r.weight for r in rounds]
    total = math.fsum(weights)
    if total <= 0.0:
        raise ValueError("the target never takes an action that was logged: SNIPS has nothing to weigh")
    value = math.fsum(w * r.reward for w, r in zip(weights, rounds, strict=True)) / total
    mean_weight = total / len(rounds)
    terms = [w * (r.reward - value) / mean_weight for w, r in zip(weights, rounds, strict=True)]
    return _normal("snips", rounds, terms, value, level)


def dr(rounds: Sequence[Round], *, level: float = 0.95) -> Estimate:
    """Doubly robust, with a normal-approximation interval. Every round needs `predicted`."""
    terms = [_dr_term(r) for r in rounds]
    return _normal("dr", rounds, terms, sum(terms) / _count(rounds), level)


ESTIMATORS: dict[str, Callable[..., Estimate]] = {"ips": ips, "snips": snips, "dr": dr}


def bootstrap(
    estimator: str, rounds: Sequence[Round], rng: random.Random, *, resamples: int = 1000, level: float = 0.95
) -> Estimate:
    """The same estimate with a percentile bootstrap interval: `resamples` resamplings of the rounds,
    drawn with `rng` (seed it to repeat a figure)."""
    n = _count(rounds)
    if resamples < 2:
        raise ValueError("a bootstrap needs at least two resamples")
    point = ESTIMATORS[estimator](rounds, level=level)
    # Every estimator here is a ratio of sums over rounds: Σ numerator / Σ denominator.
    if estimator == "snips":
        pairs = [(r.weight * r.reward, r.weight) for r in rounds]
    else:
        pairs = [(_dr_term(r) if estimator == "dr" else r.weight * r.reward, 1.0) for r in rounds]
    numerators = [p[0] for p in pairs]
    denominators = [p[1] for p in pairs]
    values = []
    for _ in range(resamples):
        picked = rng.choices(range(n), k=n)
        below = math.fsum(denominators[i] for i in picked)
        if below > 0.0:
            values.append(math.fsum(numerators[i] for i in picked) / below)
    values.sort()
    tail = (1.0 - level) / 2.0
    low = values[max(0, math.floor(tail * len(values)))]
    high = values[min(len(values) - 1, math.ceil((1.0 - tail) * len(values)) - 1)]
    return Estimate(
        estimator,
        point.value,
        low,
        high,
        level,
        "bootstrap",
        n,
        point.effective_rounds,
        point.max_weight,
        point.unsupported,
    )


def _dr_term(r: Round) -> float:
    if r.predicted is None:
        raise ValueError("doubly robust needs the reward model's predictions on every round")
    baseline = math.fsum(p * q for p, q in zip(r.target, r.predicted, strict=True))
    return baseline + r.weight * (r.reward - r.predicted[r.action])


def _count(rounds: Sequence[Round]) -> int:
    if len(rounds) < 2:
        raise ValueError("an estimate with an interval needs at least two rounds")
    return len(rounds)


def _normal(
    name: str, rounds: Sequence[Round], terms: Sequence[float], value: float, level: float
) -> Estimate:
    if not 0.0 < level < 1.0:
        raise ValueError("a confidence level is in (0, 1)")
    n = _count(rounds)
    mean = math.fsum(terms) / n
    variance = math.fsum((t - mean) ** 2 for t in terms) / (n - 1)
    half = NormalDist().inv_cdf((1.0 + level) / 2.0) * math.sqrt(variance / n)
    weights = [r.weight for r in rounds]
    squares = math.fsum(w * w for w in weights)
    effective = math.fsum(weights) ** 2 / squares if squares > 0.0 else 0.0
    known = [r for r in rounds if r.logging is not None]
    unsupported = (
        math.fsum(
            math.fsum(t for t, b in zip(r.target, r.logging or (), strict=True) if b <= 0.0) for r in known
        )
        / len(known)
        if known
        else None
    )
    return Estimate(
        name, value, value - half, value + half, level, "normal", n, effective, max(weights), unsupported
    )


# The reward model for DR: a mean reward per key (an action, or an action in a context), shrunk toward
# the overall mean where a key has few rounds. Simple, and honest about what it does not know.


@dataclass(frozen=True, slots=True)
class MeanRewards:
    """Per-key mean rewards, each shrunk toward the overall mean by `prior` pseudo-rounds."""

    means: dict[Hashable, float]
    overall: float

    @classmethod
    def fit(cls, samples: Iterable[tuple[Hashable, float]], *, prior: float = 10.0) -> MeanRewards:
        if prior < 0.0:
            raise ValueError("the shrinkage prior is a non-negative number of pseudo-rounds")
        totals: dict[Hashable, float] = {}
        counts: dict[Hashable, int] = {}
        for key, reward in samples:
            totals[key] = totals.get(key, 0.0) + reward
            counts[key] = counts.get(key, 0) + 1
        n = sum(counts.values())
        overall = math.fsum(totals.values()) / n if n else 0.0
        means = {
            k: (totals[k] + prior * overall) / (counts[k] + prior) for k in totals if counts[k] + prior > 0
        }
        return cls(means, overall)

    def predict(self, key: Hashable) -> float:
        return self.means.get(key, self.overall)


def cross_fit(
    items: Sequence[T],
    folds: int,
    fit: Callable[[list[T]], Callable[[T], Sequence[float]]],
) -> list[Sequence[float]]:
    """Predictions for every item from a model fit on the other folds only (item i is in fold i mod
    `folds`), so that DR's correction is not fit to the very rewards it corrects."""
    if not 2 <= folds <= len(items):
        raise ValueError("cross-fitting needs at least two folds, and no more folds than items")
    predictions: list[Sequence[float]] = [()] * len(items)
    for fold in range(folds):
        model = fit([x for i, x in enumerate(items) if i % folds != fold])
        for i in range(fold, len(items), folds):
            predictions[i] = model(items[i])
    return predictions


def rounds_from_choices(
    logged: Iterable[tuple[Choice, float]],
    target: Callable[[Choice], Sequence[float]],
    *,
    predict: Callable[[Choice], Sequence[float]] | None = None,
) -> list[Round]:
    """Rounds from the decision log: each `Choice` (`Choice.from_record(decisions.choice)`) with the
    reward its decision earned. `target` says, for a logged choice, the probability the policy under
    evaluation gives each of its actions; `predict`, if given, a reward model's prediction per action."""
    rounds = []
    for choice, reward in logged:
        probabilities = list(target(choice))
        if len(probabilities) != len(choice.actions):
            raise ValueError("the target policy must give one probability per logged action")
        rounds.append(
            Round(
                action=choice.chosen,
                reward=reward,
                propensity=choice.propensity,
                target=probabilities,
                predicted=list(predict(choice)) if predict is not None else None,
                logging=choice.probabilities,
            )
        )
    return rounds
