"""`python -m bench.learning`: what learning costs. Training throughput (logged decisions learned per
second) of the model alone and end to end from the database (`learning.service.train`: the decision log
read in batches, feedback joined, the model trained and stored), and the latency of scoring one decision
with a learned model.

A synthetic org: 20 offers on 2 channels each plus "don't send" (41 actions), customers who declared a
situation, an intent, a persona, 2 topics and a day part (7 shared features), each decision taken at
random by the logging policy with its propensity, and about one decision in ten answered with feedback.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bench.stores import backends, fresh_database, postgres_url
from harken import schema
from harken.db import create_db_engine, insert_many, session_scope
from harken.decisions.models import DecisionFeedback, DecisionLog
from harken.decisions.scoring import DONT_SEND, Action, Choice
from harken.learning import service, vw
from harken.orgs import service as org_service
from harken.subjects.models import Subject

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SITUATIONS = ("commuting", "home", "work", "travelling", "shopping")
DECISIONS = 20_000
TOPICS = ("coffee", "books", "shoes", "travel", "music", "food", "sport", "films")


def actions(offers: int = 20) -> tuple[Action, ...]:
    out = [
        Action(f"offer-{i}", channel, {f"topic={TOPICS[i % len(TOPICS)]}": 1.0, f"kind=k{i % 3}": 1.0})
        for i in range(offers)
        for channel in ("push", "email")
    ]
    return (*out, Action(DONT_SEND, None, {}))


def world(n: int, offers: int = 20, seed: int = 1) -> list[tuple[Choice, float, str | None]]:
    """`n` logged decisions, each with its reward and the feedback kind that says so (None: no answer)."""
    rng = random.Random(seed)
    candidates = actions(offers)
    p = 1.0 / len(candidates)
    out: list[tuple[Choice, float, str | None]] = []
    for _ in range(n):
        situation = rng.choice(SITUATIONS)
        topics = rng.sample(TOPICS, 2)
        shared = {
            f"situation={situation}": 1.0,
            f"intent=i{rng.randrange(3)}": 1.0,
            f"persona=p{rng.randrange(4)}": 1.0,
            f"topic={topics[0]}": 1.0,
            f"topic={topics[1]}": 1.0,
            f"daypart=d{rng.randrange(4)}": 1.0,
            f"interest={topics[0]}": 1.0,
        }
        chosen = rng.randrange(len(candidates))
        action = candidates[chosen]
        liked = action.offer_id != DONT_SEND and f"topic={topics[0]}" in action.features
        kind = "accepted" if liked and rng.random() < 0.6 else ("dismissed" if rng.random() < 0.1 else None)
        choice = Choice("rules", shared, candidates, (0.0,) * len(candidates), chosen, (p,) * len(candidates))
        out.append((choice, 1.0 if kind == "accepted" else 0.0, kind))
    return out


def bench_model(log: list[tuple[Choice, float, str | None]]) -> float:
    examples = [vw.Example(choice, reward) for choice, reward, _ in log]
    started = time.perf_counter()
    vw.learn(None, examples)
    return len(examples) / (time.perf_counter() - started)


def bench_scoring(log: list[tuple[Choice, float, str | None]], runs: int) -> tuple[float, float]:
    model = vw.learn(None, [vw.Example(choice, reward) for choice, reward, _ in log])
    scorer = vw.LearnedScorer("bench", 1, model)
    contexts = [choice.shared for choice, _, _ in log[:100]]
    candidates = log[0][0].actions[-21:]  # 20 offers' channels and "don't send"
    figures = []
    for i in range(runs):
        started = time.perf_counter_ns()
        scorer.score(contexts[i % len(contexts)], candidates)
        figures.append((time.perf_counter_ns() - started) / 1000)
    figures.sort()
    return statistics.median(figures), figures[int(len(figures) * 0.99)]


def bench_service(backend: str, log: list[tuple[Choice, float, str | None]], pg_url: str | None) -> float:
    with tempfile.TemporaryDirectory() as directory, fresh_database(backend, Path(directory), pg_url) as db:
        engine = create_db_engine(db.url)
        schema.upgrade(engine)
        sessions = sessionmaker(bind=engine)
        with session_scope(sessions) as session:
            org, _ = org_service.create(session, name="Bench", now=T0)
            org_id = org.id
            subject = Subject(id=uuid.uuid4(), created_at=T0)
            session.add(subject)
            session.flush()
            decisions, feedback = [], []
            for i, (choice, _, kind) in enumerate(log):
                at = T0 + timedelta(seconds=i)
                action = choice.actions[choice.chosen]
                decision = {
                    "id": uuid.uuid4(), "org_id": org_id, "subject_id": subject.id, "ref": "c", "purpose": "marketing",
                    "channels": ["push", "email"], "allowed": action.channel is not None,
                    "channel": action.channel, "offer_id": action.offer_id if action.channel else None,
                    "codes": {"codes": []}, "explanation": "", "data_used": [], "retry_after": None, "at": at,
                    "decided_at": at, "choice": choice.as_record(),
                }  # fmt: skip
                decisions.append(decision)
                if kind is not None:
                    feedback.append(
                        {"id": uuid.uuid4(), "decision_id": decision["id"], "org_id": org_id,
                         "subject_id": subject.id, "offer_id": decision["offer_id"], "kind": kind,
                         "at": at + timedelta(minutes=1)}
                    )  # fmt: skip
            insert_many(session.connection(), DecisionLog, decisions)
            insert_many(session.connection(), DecisionFeedback, feedback)
        with session_scope(sessions) as session:
            started = time.perf_counter()
            model = _train(session, org_id)
            seconds = time.perf_counter() - started
        engine.dispose()
        assert model == len(log), f"trained on {model} of {len(log)}"
        return len(log) / seconds


def _train(session: Session, org_id: uuid.UUID) -> int:
    org = session.get(service.Org, org_id)
    assert org is not None
    model = service.train(session, org, clock=lambda: T0 + timedelta(days=365))
    return model.examples if model is not None else 0


@dataclass(frozen=True)
class LearningFigures:
    decisions: int
    actions: int
    model_per_s: float  # vw.learn alone
    from_log_per_s: dict[str, float]  # service.train, per backend
    score_p50_us: float  # LearnedScorer.score, 21 actions
    score_p99_us: float


def bench_learning(decisions: int, pg_url: str | None) -> LearningFigures:
    log = world(decisions)
    model = bench_model(log)
    from_log = {backend: bench_service(backend, log, pg_url) for backend in backends(pg_url)}
    p50, p99 = bench_scoring(log, 5000)
    return LearningFigures(decisions, len(log[0][0].actions), model, from_log, p50, p99)


def print_figures(figures: LearningFigures) -> None:
    print(f"{figures.decisions:,} logged decisions, {figures.actions} actions each, 7 shared features")
    print(f"  model alone (vw.learn):            {figures.model_per_s:>10,.0f} decisions/s")
    for backend, rate in figures.from_log_per_s.items():
        print(f"  from the log, {backend:<10} (train): {rate:>10,.0f} decisions/s")
    print(
        f"  scoring 21 actions (LearnedScorer): p50 {figures.score_p50_us:.1f} µs, p99 {figures.score_p99_us:.1f} µs"
    )


def add_to_json(path: Path, figures: LearningFigures | None) -> None:
    """bench/report.py writes the other figures; these join them in the same file."""
    if figures is None:
        return
    document: dict[str, Any] = json.loads(path.read_text())
    document["learning"] = asdict(figures)
    path.write_text(json.dumps(document, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.learning", description=__doc__)
    parser.add_argument("--decisions", type=int, default=DECISIONS, help="logged decisions to train on")
    parser.add_argument(
        "--postgres", metavar="URL", help="PostgreSQL too (default $HARKEN_TEST_POSTGRES_URL)"
    )
    args = parser.parse_args(argv)
    print_figures(bench_learning(args.decisions, postgres_url(args.postgres)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
