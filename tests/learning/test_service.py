"""Learned models in the database: trained from the decision log and its feedback, versioned, promoted,
continued incrementally, and never serving another org."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from harken.cli import app as cli
from harken.db import session_scope
from harken.decisions.models import DecisionFeedback, DecisionLog
from harken.decisions.scoring import Choice
from harken.errors import Invalid, NotFound
from harken.learning import rewards, service, serving, vw
from harken.learning.models import LearningModel
from harken.orgs.models import Org
from harken.subjects.models import Subject
from tests.conftest import Database
from tests.factories import T0, FixedClock, make_org
from tests.learning.world import ACTIONS, AT_HOME, BEST, COMMUTING, logged

NOW = T0 + timedelta(days=30)
T = TypeVar("T")


def log(
    session: Session, org: Org, entries: list[tuple[Choice, float]], *, start: datetime
) -> list[DecisionLog]:
    """The decisions, one second apart from `start`, each with the feedback its reward stands for
    (1 accepted, -1 opted out, 0 dismissed or, every other time, none at all)."""
    subject = Subject(id=uuid.uuid4(), created_at=T0)
    session.add(subject)
    session.flush()
    rows, feedback = [], []
    for i, (choice, reward) in enumerate(entries):
        at = start + timedelta(seconds=i)
        action = choice.actions[choice.chosen]
        row = DecisionLog(
            id=uuid.uuid4(),
            org_id=org.id,
            subject_id=subject.id,
            ref="c1",
            purpose="marketing",
            channels=["push", "email"],
            allowed=action.channel is not None,
            channel=action.channel,
            offer_id=action.offer_id if action.channel else None,
            codes={"codes": []},
            explanation="",
            data_used=[],
            retry_after=None,
            at=at,
            decided_at=at,
            choice=choice.as_record(),
        )
        rows.append(row)
        kind = {1.0: "accepted", -1.0: "opted-out"}.get(reward, "dismissed" if i % 2 else None)
        if kind is not None:
            feedback.append(
                DecisionFeedback(
                    id=uuid.uuid4(),
                    decision_id=row.id,
                    org_id=org.id,
                    subject_id=subject.id,
                    offer_id=row.offer_id,
                    kind=kind,
                    at=at + timedelta(minutes=5),
                )
            )
    session.add_all(rows)
    session.flush()
    session.add_all(feedback)
    session.flush()
    return rows


def best(session: Session, org: Org, shared: dict[str, float]) -> int:
    scorer = serving.scorer_for(session, org)
    assert scorer is not None
    scores = scorer.score(shared, ACTIONS)
    return max(range(len(scores)), key=scores.__getitem__)


def test_a_model_trained_from_the_log_and_promoted_ranks_the_true_best_first(session: Session) -> None:
    org, _ = make_org(session)
    log(session, org, logged(3000), start=T0)
    assert serving.scorer_for(session, org) is None  # a cold org: the rules decide
    assert service.pending(session, org, now=NOW) == 3000
    seen: list[int] = []
    model = service.train(session, org, clock=FixedClock(NOW), on_example=seen.append)
    assert model is not None and model.version == 1 and model.examples == 3000 and not model.live
    assert seen[-1] == 3000 and model.trained_through == T0 + timedelta(seconds=2999)
    assert serving.scorer_for(session, org) is None  # trained is not live
    service.promote(session, org, version=1, force=True)
    assert best(session, org, dict(COMMUTING)) == BEST["commuting"]
    assert best(session, org, dict(AT_HOME)) == BEST["home"]
    assert serving.scorer_for(session, org).name == f"vw:{org.id}:1"  # type: ignore[union-attr]


def test_a_model_round_trips_through_the_table(session: Session) -> None:
    org, _ = make_org(session)
    log(session, org, logged(200), start=T0)
    trained = service.train(session, org, clock=FixedClock(NOW))
    assert trained is not None
    session.commit()
    session.expire_all()
    again = session.get(LearningModel, trained.id)
    assert again is not None and again.model == trained.model and again.org_id == org.id
    assert again.created_at == NOW and again.metrics is None


def test_training_continues_from_trained_through_and_reads_only_settled_decisions(session: Session) -> None:
    org, _ = make_org(session)
    entries = logged(600)
    log(session, org, entries[:400], start=T0)
    log(session, org, entries[400:], start=NOW - timedelta(hours=1))  # feedback may still come
    first = service.train(session, org, clock=FixedClock(NOW))
    assert first is not None and first.examples == 400
    assert service.train(session, org, clock=FixedClock(NOW)) is None  # nothing new and settled
    later = FixedClock(NOW + timedelta(days=1))
    assert service.pending(session, org, now=later()) == 200
    second = service.train(session, org, clock=later)
    assert second is not None and second.version == 2 and second.examples == 600
    assert second.trained_through == NOW - timedelta(hours=1) + timedelta(seconds=199)
    # from scratch, on everything: a model that saw the same 600 in the same order
    fresh = service.train(session, org, clock=later, since=rewards.BEGINNING)
    assert fresh is not None and fresh.version == 3 and fresh.examples == 600


def test_a_limit_stops_only_between_instants(session: Session) -> None:
    org, _ = make_org(session)
    rows = log(session, org, logged(10), start=T0)
    for row in rows[3:6]:
        row.decided_at = rows[3].decided_at  # three decided at the same instant
    session.flush()
    first = service.train(session, org, clock=FixedClock(NOW), limit=4)
    assert first is not None and first.examples == 6  # the 4th shares its instant with the 5th and 6th
    second = service.train(session, org, clock=FixedClock(NOW))
    assert second is not None and second.examples == 10


def test_an_orgs_model_never_scores_for_another_org(session: Session) -> None:
    a, _ = make_org(session, "Org A")
    b, _ = make_org(session, "Org B")
    log(session, a, logged(300), start=T0)
    service.train(session, a, clock=FixedClock(NOW))
    service.promote(session, a, version=1, force=True)
    assert serving.scorer_for(session, a) is not None
    assert serving.scorer_for(session, b) is None  # B is cold: A's model is not B's
    assert service.train(session, b, clock=FixedClock(NOW)) is None  # and A's log teaches B nothing
    log(session, b, logged(300, seed=11), start=T0)
    trained = service.train(session, b, clock=FixedClock(NOW))
    assert trained is not None and trained.version == 1 and trained.examples == 300
    service.promote(session, b, version=1, force=True)
    scorer_a, scorer_b = serving.scorer_for(session, a), serving.scorer_for(session, b)
    assert scorer_a is not None and scorer_b is not None
    assert scorer_a.name == f"vw:{a.id}:1" and scorer_b.name == f"vw:{b.id}:1"
    assert scorer_a.score(COMMUTING, ACTIONS) != scorer_b.score(COMMUTING, ACTIONS)
    with pytest.raises(NotFound):
        service.promote(session, b, version=2, force=True)


def test_promotion_needs_an_evaluation_against_the_policy_in_force_unless_forced(session: Session) -> None:
    org, _ = make_org(session)
    log(session, org, logged(300), start=T0)
    one = service.train(session, org, clock=FixedClock(NOW))
    assert one is not None
    with pytest.raises(Invalid, match="no evaluation"):
        service.promote(session, org, version=1)
    one.metrics = {"beats_current": True, "against": "rules"}
    assert service.promote(session, org, version=1).live
    log(session, org, logged(100, seed=3), start=T0 + timedelta(days=1))
    two = service.train(session, org, clock=FixedClock(NOW))
    assert two is not None
    two.metrics = {"beats_current": True, "against": "rules"}  # evaluated before version 1 went live
    with pytest.raises(Invalid):
        service.promote(session, org, version=2)
    assert serving.scorer_for(session, org).name == one.scorer_name  # type: ignore[union-attr]
    two.metrics = {"beats_current": True, "against": one.scorer_name}
    service.promote(session, org, version=2)
    assert [m.live for m in service.models(session, org)] == [True, False]
    assert serving.scorer_for(session, org).name == two.scorer_name  # type: ignore[union-attr]


def test_a_worker_round_trains_each_org_with_something_new_skipping_what_it_cannot_read(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with sessions() as session:
        a, _ = make_org(session, "Org A")
        b, _ = make_org(session, "Org B")
        make_org(session, "Org C")  # nothing logged: nothing to train
        log(session, a, logged(50), start=T0)
        rows = log(session, b, logged(50), start=T0)
        rows[7].choice = {"scorer": "rules"}  # a record that is not a choice
        rows[9].choice = dict(rows[9].choice or {}, probabilities=[0.0] * 5)  # nor one with no probability
        session.commit()

    def unit(work: Callable[[Session], T]) -> T:
        with session_scope(sessions) as session:
            return work(session)

    assert service.train_each(unit, clock=FixedClock(NOW)) == [
        service.Trained("Org A", 1, 50),
        service.Trained("Org B", 1, 48, skipped=2),
    ]
    with sessions() as session:
        log(session, a, logged(20, seed=5), start=T0 + timedelta(days=1))
        session.commit()
    assert service.train_each(unit, clock=FixedClock(NOW), limit=10) == [service.Trained("Org A", 2, 10)]

    def fail(model: bytes | None, examples: object) -> bytes:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(vw, "learn", fail)  # one org's failure is reported, and nothing is kept
    assert service.train_each(unit, clock=FixedClock(NOW)) == [
        service.Trained("Org A", None, 0, error="RuntimeError: out of memory")
    ]
    with sessions() as session:
        assert [m.version for m in service.models(session, session.get(Org, a.id))] == [2, 1]  # type: ignore[arg-type]


@pytest.mark.slow  # CLI processes in-process, on a database of their own
def test_the_cli_trains_lists_and_promotes(fresh_database: Database, tmp_path: Path) -> None:
    sessions = sessionmaker(bind=fresh_database.engine, expire_on_commit=False)
    with sessions() as session:
        org, _ = make_org(session, "Skyway Airlines")
        log(session, org, logged(500), start=T0)
        session.commit()
    env = {"HARKEN_DATABASE_URL": fresh_database.url, "HARKEN_DATA_DIR": str(tmp_path), "COLUMNS": "200"}

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["learn", *args], env=env)
        return result.exit_code, result.output

    code, output = run("train", "--org", "Skyway Airlines")
    assert code == 0, output
    assert "version 1 learned from 500 decisions" in output and "events/s" in output
    assert run("train", "--org", "Skyway Airlines")[1].strip().endswith("nothing new to learn from.")
    code, output = run("promote", "--org", "Skyway Airlines", "--version", "1")
    assert code == 1 and "no evaluation" in output
    code, output = run("promote", "--org", "Skyway Airlines", "--version", "1", "--force")
    assert code == 0 and f"vw:{org.id}:1 is live" in output
    code, output = run("models", "--org", "Skyway Airlines")
    assert code == 0 and "live" in output and "500" in output and f"In force: vw:{org.id}:1" in output
    assert (
        run("penalty", "--org", "Skyway Airlines", "--opted-out-reward", "-2.5")[1].strip().endswith("-2.5.")
    )
    assert run("explore", "--org", "Skyway Airlines")[1].strip().endswith("at most 0% of decisions explore.")
    assert (
        run("explore", "--org", "Skyway Airlines", "--cap", "0.2")[1]
        .strip()
        .endswith("at most 20% of decisions explore.")
    )
    code, output = run("explore", "--org", "Skyway Airlines", "--cap", "0.9")
    assert code != 0 and "between 0 and 0.5" in output, output
    assert run("explore", "--org", "Skyway Airlines")[1].strip().endswith("at most 20% of decisions explore.")
    assert run("models", "--org", "Nobody")[0] == 1
    # `harken worker` trains each org with new decisions when HARKEN_LEARNING_INTERVAL is set
    with sessions() as session:
        log(session, org, logged(30, seed=2), start=T0 + timedelta(days=1))
        session.commit()
    worker = CliRunner().invoke(cli, ["worker", "--once"], env=env)
    assert worker.exit_code == 0 and "model version" not in worker.output  # off unless set
    worker = CliRunner().invoke(cli, ["worker", "--once"], env=env | {"HARKEN_LEARNING_INTERVAL": "60"})
    assert worker.exit_code == 0, worker.output
    assert "Skyway Airlines: model version 2, 30 decision(s) learned" in worker.output
