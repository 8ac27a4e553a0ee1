"""Forgetting: an erasure of a customer whose logged choices an org's models may have learned from marks
the org's learning to be rebuilt; the next training (on demand or the worker's next round, new data or
not) trains a fresh model from the remaining log, deletes the older versions' models, hands the live
one's place to the rebuilt version, and no process keeps serving a forgotten model."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from harken import erasure
from harken.cli import app as cli
from harken.db import session_scope
from harken.decisions.models import DecisionLog
from harken.errors import Invalid
from harken.learning import forgetting, offline, rewards, service, serving, vw
from harken.learning.models import LearningModel, LearningSettings
from harken.ledger.service import Notary
from harken.orgs.models import Org
from harken.subjects.models import Subject, SubjectRef
from tests.conftest import Database
from tests.factories import T0, FixedClock, make_org
from tests.learning.test_service import NOW, log
from tests.learning.world import logged

ERASED_AT = NOW - timedelta(days=1)
T = TypeVar("T")


def versions(session: Session, org: Org) -> list[tuple[int, bool, bool]]:
    """(version, live, model kept) of each of the org's versions, newest first."""
    session.expire_all()
    return [(m.version, m.live, m.model is not None) for m in service.models(session, org)]


def customer(session: Session, org: Org, count: int, *, seed: int, days: int = 0) -> uuid.UUID:
    """A customer with `count` logged decisions (their choices) from T0 + `days` on; their subject id."""
    rows = log(session, org, logged(count, seed=seed), start=T0 + timedelta(days=days))
    subject_id = rows[0].subject_id
    assert subject_id is not None
    return subject_id


def test_an_erasure_marks_the_org_and_the_next_training_rebuilds_without_the_erased_and_forgets(
    session: Session, notary: Notary
) -> None:
    org, _ = make_org(session)
    erased = customer(session, org, 300, seed=1)
    customer(session, org, 200, seed=2)
    service.train(session, org, clock=FixedClock(NOW))
    service.promote(session, org, version=1, force=True)
    cached = serving.scorer_for(session, org)
    assert cached is not None and cached.name == f"vw:{org.id}:1"
    customer(session, org, 100, seed=3, days=1)
    two = service.train(session, org, clock=FixedClock(NOW))
    assert two is not None and two.examples == 600 and forgetting.rebuild_due(session, org) is None

    erasure.erase(session, subject_id=erased, notary=notary, now=ERASED_AT)
    assert forgetting.rebuild_due(session, org) == ERASED_AT
    assert service.pending(session, org, now=NOW) == 300  # the whole remaining log, not what is new
    progress = rewards.Progress()
    rebuilt = service.train(session, org, clock=FixedClock(NOW), progress=progress)

    assert rebuilt is not None and rebuilt.version == 3 and rebuilt.live
    assert rebuilt.examples == progress.examples == 300  # from scratch: the 500 left, none of the erased
    assert progress.rebuilt and progress.forgotten == [1, 2]
    assert versions(session, org) == [(3, True, True), (2, False, False), (1, False, False)]
    forgotten = session.scalars(select(LearningModel).where(LearningModel.forgotten_at.is_not(None)))
    assert {m.forgotten_at for m in forgotten} == {NOW}
    assert forgetting.rebuild_due(session, org) is None
    live = serving.scorer_for(session, org)
    assert live is not None and live is not cached and live.name == f"vw:{org.id}:3"
    with pytest.raises(Invalid, match="forgotten"):
        service.promote(session, org, version=1, force=True)
    with pytest.raises(Invalid, match="forgotten"):
        offline.evaluate_version(session, org, clock=FixedClock(NOW), version=2)
    assert service.train(session, org, clock=FixedClock(NOW)) is None  # rebuilt once: nothing new now


def test_the_rebuilt_model_is_the_one_the_remaining_log_alone_would_make(
    session: Session, notary: Notary
) -> None:
    org, _ = make_org(session)
    erased = customer(session, org, 150, seed=1)
    customer(session, org, 150, seed=2, days=1)
    service.train(session, org, clock=FixedClock(NOW))
    remaining = list(
        rewards.examples(session, org, since=T0 + timedelta(hours=12), until=NOW, progress=rewards.Progress())
    )
    erasure.erase(session, subject_id=erased, notary=notary, now=ERASED_AT)
    rebuilt = service.train(session, org, clock=FixedClock(NOW))
    assert rebuilt is not None and rebuilt.model == vw.learn(None, iter(remaining))


def test_when_no_forgotten_version_was_live_the_rules_keep_deciding(session: Session, notary: Notary) -> None:
    org, _ = make_org(session)
    erased = customer(session, org, 100, seed=1)
    customer(session, org, 100, seed=2)
    service.train(session, org, clock=FixedClock(NOW))
    erasure.erase(session, subject_id=erased, notary=notary, now=ERASED_AT)
    rebuilt = service.train(session, org, clock=FixedClock(NOW))
    assert rebuilt is not None and not rebuilt.live and rebuilt.examples == 100
    assert versions(session, org) == [(2, False, True), (1, False, False)]
    assert serving.scorer_for(session, org) is None


def test_with_nothing_left_to_learn_from_every_version_is_forgotten_and_the_rules_decide(
    session: Session, notary: Notary
) -> None:
    org, _ = make_org(session)
    erased = customer(session, org, 100, seed=1)
    service.train(session, org, clock=FixedClock(NOW))
    service.promote(session, org, version=1, force=True)
    assert serving.scorer_for(session, org) is not None  # loaded, and kept by this process
    erasure.erase(session, subject_id=erased, notary=notary, now=ERASED_AT)
    progress = rewards.Progress()
    assert service.train(session, org, clock=FixedClock(NOW), progress=progress) is None
    assert progress.forgotten == [1] and forgetting.rebuild_due(session, org) is None
    assert versions(session, org) == [(1, False, False)]
    assert serving.scorer_for(session, org) is None
    # The next model starts afresh (from no forgotten version), numbered after the ones before.
    customer(session, org, 40, seed=4, days=2)
    fresh = service.train(session, org, clock=FixedClock(NOW))
    assert fresh is not None and fresh.version == 2 and fresh.examples == 40


def test_a_scorer_loaded_before_the_rebuild_is_not_served_after_it(session: Session, notary: Notary) -> None:
    org, _ = make_org(session)
    erased = customer(session, org, 100, seed=1)
    customer(session, org, 100, seed=2)
    service.train(session, org, clock=FixedClock(NOW))
    service.promote(session, org, version=1, force=True)
    before = serving.scorer_for(session, org)
    assert isinstance(before, vw.LearnedScorer) and serving._cache[org.id] == (1, before)
    erasure.erase(session, subject_id=erased, notary=notary, now=ERASED_AT)
    service.train(session, org, clock=FixedClock(NOW))
    assert org.id not in serving._cache  # this process dropped it at the rebuild
    # Another process's cache, still holding version 1, reads which version is live: it reloads.
    serving._cache[org.id] = (1, before)
    after = serving.scorer_for(session, org)
    assert after is not None and after is not before and after.name == f"vw:{org.id}:2"


def test_an_erasure_marks_only_orgs_that_logged_a_choice_of_the_customer(
    session: Session, notary: Notary
) -> None:
    org, _ = make_org(session, "Org A")
    other, _ = make_org(session, "Org B")
    quiet = Subject(id=uuid.uuid4(), created_at=T0)  # never decided about
    session.add(quiet)
    refused = customer(session, org, 3, seed=1)
    # Decisions refused before any action was scored log no choice: nothing a model learned from.
    session.query(DecisionLog).filter(DecisionLog.subject_id == refused).update({"choice": None})
    session.flush()
    for subject_id in (quiet.id, refused):
        erasure.erase(session, subject_id=subject_id, notary=notary, now=ERASED_AT)
    assert forgetting.rebuild_due(session, org) is None and session.get(LearningSettings, org.id) is None
    chosen = customer(session, other, 3, seed=2)
    erasure.erase(session, subject_id=chosen, notary=notary, now=ERASED_AT)
    assert forgetting.rebuild_due(session, other) == ERASED_AT
    assert forgetting.rebuild_due(session, org) is None


def test_an_org_ending_its_relationship_with_a_shared_subject_marks_only_itself(
    session: Session, notary: Notary
) -> None:
    a, _ = make_org(session, "Org A")
    b, _ = make_org(session, "Org B")
    subject_id = customer(session, a, 5, seed=1)  # one subject both reach (joined before migration 0011)
    log_b = log(session, b, logged(5, seed=2), start=T0)
    for row in log_b:
        row.subject_id = subject_id
    session.add_all(
        [
            SubjectRef(org_id=a.id, ref="c1", subject_id=subject_id, created_at=T0),
            SubjectRef(org_id=b.id, ref="c1", subject_id=subject_id, created_at=T0),
        ]
    )
    session.flush()
    erasure.end_relationship(session, org=a, ref="c1", notary=notary, now=ERASED_AT)
    assert forgetting.rebuild_due(session, a) == ERASED_AT
    assert forgetting.rebuild_due(session, b) is None


def test_an_erasure_during_a_rebuild_leaves_the_mark_for_another(
    session: Session, notary: Notary, monkeypatch: pytest.MonkeyPatch
) -> None:
    org, _ = make_org(session)
    first, second = customer(session, org, 50, seed=1), customer(session, org, 50, seed=2)
    customer(session, org, 50, seed=3)
    erasure.erase(session, subject_id=first, notary=notary, now=ERASED_AT)
    learn = vw.learn

    def meanwhile(model: bytes | None, examples: Iterable[vw.Example]) -> bytes:
        trained = learn(model, examples)
        erasure.erase(session, subject_id=second, notary=notary, now=ERASED_AT + timedelta(minutes=1))
        return trained

    monkeypatch.setattr(vw, "learn", meanwhile)
    assert service.train(session, org, clock=FixedClock(NOW)) is not None
    assert forgetting.rebuild_due(session, org) == ERASED_AT + timedelta(minutes=1)  # not cleared
    monkeypatch.setattr(vw, "learn", learn)
    again = service.train(session, org, clock=FixedClock(NOW))
    assert again is not None and again.examples == 50 and forgetting.rebuild_due(session, org) is None
    assert versions(session, org) == [(2, False, True), (1, False, False)]


def test_the_workers_next_round_rebuilds_without_waiting_for_new_data(
    sessions: sessionmaker[Session], notary: Notary
) -> None:
    with sessions() as session:
        org, _ = make_org(session, "Org A")
        erased = customer(session, org, 60, seed=1)
        customer(session, org, 40, seed=2)
        session.commit()

    def unit(work: Callable[[Session], T]) -> T:
        with session_scope(sessions) as session:
            return work(session)

    assert service.train_each(unit, clock=FixedClock(NOW)) == [service.Trained("Org A", 1, 100)]
    assert service.train_each(unit, clock=FixedClock(NOW)) == []  # nothing new
    unit(lambda session: erasure.erase(session, subject_id=erased, notary=notary, now=ERASED_AT))
    assert service.train_each(unit, clock=FixedClock(NOW)) == [service.Trained("Org A", 2, 40)]
    assert service.train_each(unit, clock=FixedClock(NOW)) == []
    with sessions() as session:
        assert versions(session, session.get_one(Org, org.id)) == [(2, False, True), (1, False, False)]


@pytest.mark.slow  # CLI processes in-process, on a database of their own
def test_the_cli_rebuilds_after_an_erasure_and_lists_forgotten_versions(
    fresh_database: Database, tmp_path: Path, notary: Notary
) -> None:
    sessions = sessionmaker(bind=fresh_database.engine, expire_on_commit=False)
    with sessions() as session:
        org, _ = make_org(session, "Skyway Airlines")
        erased = customer(session, org, 80, seed=1)
        customer(session, org, 20, seed=2)
        session.commit()
    env = {"HARKEN_DATABASE_URL": fresh_database.url, "HARKEN_DATA_DIR": str(tmp_path), "COLUMNS": "200"}

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, ["learn", *args, "--org", "Skyway Airlines"], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    run("train")
    run("promote", "--version", "1", "--force")
    with sessions() as session:
        erasure.erase(session, subject_id=erased, notary=notary, now=ERASED_AT)
        session.commit()
    assert "the next training rebuilds" in run("models")
    output = run("train")
    assert "rebuilt from the whole log after an erasure; versions forgotten: 1." in output
    assert "version 2 learned from 20 decisions" in output and "live in place of" in output
    listed = run("models")
    assert "forgotten" in listed and f"In force: vw:{org.id}:2" in listed
    assert "the next training rebuilds" not in listed
