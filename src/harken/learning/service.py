"""An org's learned models: trained from its decision log and feedback (the examples and their rewards:
harken.learning.rewards), kept as versions, one of them live; the live one scores that org's decisions,
never another's. After an erasure, the next training rebuilds and forgets (harken.learning.forgetting).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import partial
from typing import NamedTuple, Protocol, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from harken.clock import Clock
from harken.decisions.models import DecisionLog
from harken.errors import Invalid, NotFound
from harken.learning import forgetting, vw
from harken.learning.models import LearningModel
from harken.learning.rewards import BEGINNING, SETTLED, Progress, examples, trainable
from harken.orgs.models import Org

T = TypeVar("T")


class Unit(Protocol):
    """Runs `work` in a unit of work of its own (committed when it returns), as the worker's do."""

    def __call__(self, work: Callable[[Session], T]) -> T: ...


# --- training ------------------------------------------------------------------------------------------


def latest(session: Session, org: Org) -> LearningModel | None:
    """The org's newest version, forgotten or not."""
    return session.scalar(
        select(LearningModel).where(LearningModel.org_id == org.id).order_by(LearningModel.version.desc())
    )


def _start(
    session: Session, org: Org, since: datetime | None, *, rebuild: bool
) -> tuple[datetime, LearningModel | None]:
    """Where training starts, and the version it continues (None: a fresh model). A rebuild, or a
    `since` given, starts afresh; otherwise the latest version continues, unless it was forgotten."""
    if rebuild:
        return BEGINNING, None
    if since is not None:
        return since, None
    last = latest(session, org)
    if last is None or last.model is None:
        return BEGINNING, None
    return last.trained_through, last


def pending(
    session: Session, org: Org, *, now: datetime, settled: timedelta = SETTLED, since: datetime | None = None
) -> int:
    """Decisions with a logged choice, settled, that `train` would learn from (with the same `since`)."""
    since = _start(session, org, since, rebuild=forgetting.rebuild_due(session, org) is not None)[0]
    return (
        session.scalar(
            select(func.count()).select_from(DecisionLog).where(*trainable(org, since, now - settled))
        )
        or 0
    )


def train(
    session: Session,
    org: Org,
    *,
    clock: Clock,
    since: datetime | None = None,
    settled: timedelta = SETTLED,
    limit: int | None = None,
    on_example: Callable[[int], None] | None = None,
    progress: Progress | None = None,
) -> LearningModel | None:
    """A new version of the org's model (not live), or None if there was nothing new to learn from.

    `since` None: the latest version trained further, from its `trained_through` on (the org's first
    model, or after its versions were all forgotten: from the beginning of the log). `since` given: a
    fresh model from decisions after it. A rebuild due after an erasure overrides both, and `limit`:
    a fresh model from the whole remaining log, then the older versions forgotten (`forgetting.forget`),
    even if nothing remains to learn from. `on_example` is told the running count as examples are
    learned; `progress`, if given, says at the end how many were learned and skipped, and what was
    forgotten."""
    now = clock()
    progress = progress if progress is not None else Progress()
    mark = forgetting.rebuild_due(session, org)
    start, base = _start(session, org, since, rebuild=mark is not None)
    if mark is not None:
        limit, progress.rebuilt = None, True  # the older versions go only once a whole new one is made
    last = latest(session, org)
    stream = examples(session, org, since=start, until=now - settled, progress=progress, limit=limit)
    if on_example is not None:
        stream = _told(stream, on_example)
    first = next(stream, None)
    row = None
    if first is not None:
        trained = vw.learn(base.model if base is not None else None, _chain(first, stream))
        assert progress.through is not None
        row = LearningModel(
            id=uuid.uuid4(),
            org_id=org.id,
            version=(last.version if last is not None else 0) + 1,
            created_at=now,
            trained_through=progress.through,
            examples=(base.examples if base is not None else 0) + progress.examples,
            model=trained,
            live=False,
            metrics=None,
        )
        session.add(row)
        session.flush()
    if mark is not None:
        progress.forgotten = forgetting.forget(session, org, rebuilt=row, mark=mark, now=now)
    return row


def _told(stream: Iterator[vw.Example], on_example: Callable[[int], None]) -> Iterator[vw.Example]:
    for count, example in enumerate(stream, start=1):
        yield example
        on_example(count)


def _chain(first: vw.Example, rest: Iterator[vw.Example]) -> Iterator[vw.Example]:
    yield first
    yield from rest


WORKER_LIMIT = 100_000  # decisions per org per worker round: a long backlog is learned over several


class Trained(NamedTuple):
    """What a training round did for one org: a new version and how many decisions it learned from,
    or why it failed."""

    org: str
    version: int | None
    examples: int
    skipped: int = 0
    error: str | None = None


def train_each(unit: Unit, *, clock: Clock, limit: int = WORKER_LIMIT) -> list[Trained]:
    """One training round over every org, each in a unit of work of its own: one org's failure is
    reported and is not another's. The orgs that had something new to learn from (or a rebuild after an
    erasure due: it is done in this round, new data or not), or failed."""
    orgs = unit(
        lambda session: [(i, n) for i, n in session.execute(select(Org.id, Org.name).order_by(Org.name))]
    )
    trained = []
    for org_id, name in orgs:
        try:
            done = unit(partial(_train_one, org_id=org_id, clock=clock, limit=limit))
        except Exception as exc:  # a worker keeps going: the next round tries this org again
            trained.append(Trained(name, None, 0, error=f"{type(exc).__name__}: {exc}"))
            continue
        if done is not None:
            trained.append(done)
    return trained


def _train_one(session: Session, *, org_id: uuid.UUID, clock: Clock, limit: int) -> Trained | None:
    org = session.get(Org, org_id)
    if org is None:
        return None
    progress = Progress()
    model = train(session, org, clock=clock, limit=limit, progress=progress)
    if model is None:
        return None
    return Trained(org.name, model.version, progress.examples, progress.skipped)


# --- versions ------------------------------------------------------------------------------------------


def models(session: Session, org: Org) -> list[LearningModel]:
    """The org's versions, newest first."""
    return list(
        session.scalars(
            select(LearningModel).where(LearningModel.org_id == org.id).order_by(LearningModel.version.desc())
        )
    )


def current_policy(session: Session, org: Org) -> str:
    """The name of the policy deciding for the org now: its live model's, or "rules"."""
    live = session.scalar(select(LearningModel).where(LearningModel.org_id == org.id, LearningModel.live))
    return live.scorer_name if live is not None else "rules"


def beats_current(candidate: LearningModel, current: str) -> bool:
    """Whether offline evaluation found the candidate's lower bound above the policy in force now."""
    metrics = candidate.metrics or {}
    return metrics.get("beats_current") is True and metrics.get("against") == current


def promote(session: Session, org: Org, *, version: int, force: bool = False) -> LearningModel:
    """Make `version` the org's live model. Without `force`, only if its evaluation says it beats the
    policy in force (see `LearningModel.metrics`)."""
    candidate = session.scalar(
        select(LearningModel).where(LearningModel.org_id == org.id, LearningModel.version == version)
    )
    if candidate is None:
        raise NotFound(f"no version {version} of this org's model")
    if candidate.model is None:
        raise Invalid("version", f"version {version} was forgotten after an erasure: it never serves again")
    if candidate.live:
        return candidate
    current = current_policy(session, org)
    if not force and not beats_current(candidate, current):
        raise Invalid(
            "version",
            f"version {version} has no evaluation showing it beats the policy in force ({current}): "
            "run `harken learn evaluate`, or promote with --force",
        )
    session.execute(
        update(LearningModel).where(LearningModel.org_id == org.id, LearningModel.live).values(live=False)
    )
    session.flush()
    candidate.live = True
    session.flush()
    return candidate
