"""`harken learn evaluate`: before a model serves, what would it have earned on the org's own log,
against the policy deciding now? The verdict is kept on the model version, where promotion reads it.

The candidate is judged by progressive validation (`vw.progressive`): each logged decision is scored by
a model trained, the same way, on the decisions before it only — so no decision is scored by a model
that learned from it — and the candidate version is where that procedure ends. Both policies are
judged as they would choose for a customer who allows no exploring (their best action). The estimates
are IPS, SNIPS and doubly robust (`evaluate.py`), DR's reward model fit per action on the other folds.
A candidate beats the policy in force when DR's lower bound is above that policy's DR estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.clock import Clock
from harken.decisions.scoring import Choice
from harken.errors import Invalid, NotFound
from harken.learning import evaluate, rewards, service, vw
from harken.learning.models import LearningModel
from harken.orgs.models import Org

FOLDS = 5


def best_only(scores: Sequence[float]) -> list[float]:
    """The policy that takes the best-scored action (the first of equals), as probabilities."""
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    return [1.0 if i == best else 0.0 for i in range(len(scores))]


def evaluate_version(
    session: Session,
    org: Org,
    *,
    clock: Clock,
    version: int | None = None,
    settled: timedelta = rewards.SETTLED,
) -> LearningModel:
    """Estimate the candidate's value and the policy in force's on the org's settled log; the verdict is
    kept in the candidate's `metrics` (`beats_current`, `against`) and returned with it."""
    candidate = _version(session, org, version)
    current = service.current_policy(session, org)
    logged = list(
        rewards.examples(
            session, org, since=rewards.BEGINNING, until=clock() - settled, progress=rewards.Progress()
        )
    )
    if len(logged) < FOLDS:
        raise Invalid("org", f"{len(logged)} settled decisions with a logged choice: too few to evaluate on")
    live = (
        None
        if current == "rules"
        else session.scalar(select(LearningModel).where(LearningModel.org_id == org.id, LearningModel.live))
    )
    in_force = (  # a live version always has its model: only versions no longer live are forgotten
        vw.LearnedScorer(str(org.id), live.version, live.model)
        if live is not None and live.model is not None
        else None
    )
    candidate_probabilities, current_probabilities = [], []
    for example, scores in vw.progressive(logged):
        choice = example.choice
        candidate_probabilities.append(best_only(scores))
        if in_force is not None:
            current_probabilities.append(best_only(in_force.score(choice.shared, choice.actions)))
        else:
            current_probabilities.append(best_only(choice.scores))  # the rules' scores, as logged
    pairs = [(example.choice, example.reward) for example in logged]
    predicted = evaluate.cross_fit(pairs, FOLDS, _fit_per_action)
    judged = _estimates(pairs, candidate_probabilities, predicted)
    standing = _estimates(pairs, current_probabilities, predicted)
    found: dict[str, Any] = {
        "against": current,
        "rounds": len(logged),
        "method": "progressive validation; both policies' best action; 95% normal intervals",
        "candidate": judged,
        "current": standing,
        "beats_current": judged["dr"]["low"] > standing["dr"]["value"],
    }
    candidate.metrics = found
    session.flush()
    return candidate


def _version(session: Session, org: Org, version: int | None) -> LearningModel:
    query = select(LearningModel).where(LearningModel.org_id == org.id)
    query = query.where(LearningModel.version == version) if version is not None else query
    candidate = session.scalar(query.order_by(LearningModel.version.desc()).limit(1))
    if candidate is None:
        raise NotFound("no such version of this org's model: train one first (`harken learn train`)")
    if candidate.model is None:
        raise Invalid(
            "version", f"version {candidate.version} was forgotten after an erasure: it never serves"
        )
    return candidate


def _estimates(
    pairs: list[tuple[Choice, float]], probabilities: list[list[float]], predicted: list[Sequence[float]]
) -> dict[str, dict[str, Any]]:
    rounds = [
        evaluate.Round(
            action=choice.chosen,
            reward=reward,
            propensity=choice.propensity,
            target=target,
            predicted=list(prediction),
            logging=choice.probabilities,
        )
        for (choice, reward), target, prediction in zip(pairs, probabilities, predicted, strict=True)
    ]
    return {name: asdict(estimator(rounds)) for name, estimator in evaluate.ESTIMATORS.items()}


def _fit_per_action(training: list[tuple[Choice, float]]) -> Any:
    """DR's reward model: the mean reward of each action (offer and channel) where it was taken."""
    model = evaluate.MeanRewards.fit(((_key(choice, choice.chosen), reward) for choice, reward in training))

    def predict(pair: tuple[Choice, float]) -> list[float]:
        choice = pair[0]
        return [model.predict(_key(choice, i)) for i in range(len(choice.actions))]

    return predict


def _key(choice: Choice, index: int) -> tuple[str, str | None]:
    action = choice.actions[index]
    return action.offer_id, action.channel
