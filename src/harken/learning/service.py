"""An org's learned models: trained from its decision log and feedback, kept as versions, one of them
live; the live one scores that org's decisions, never another's.

Rewards come from `POST /v1/decisions/{id}/feedback` (accepted 1, dismissed or not relevant 0, opted
out the org's penalty: `LearningSettings`, -1 unless set) and from `offer.accepted` (1) and
`offer.dismissed` (0) events that name the decision they answer (`decision_id`). Of all of these on a
decision, the latest counts (feedback by when it was given, an event by when it occurred). An offer
event without a decision is no reward: attributing it to a decision by offer and time would be a guess.
A decision with no outcome earned 0 — but only once its outcome has had time to arrive: training reads
decisions decided at least `settled` ago.

Forgetting: an erasure that deletes a customer's logged choices marks the org's learning to be rebuilt
(`mark_erased`), since its model versions may carry what was learned from them. The next training (the
worker's next round, or `harken learn train`) then trains a fresh model from the whole remaining log,
deletes every older version's model (the rows stay, `forgotten_at` set), and, if one of those was live,
makes the rebuilt version live in its place: the same data, minus the erased people, so it is not held
back for a new evaluation. Otherwise the rules keep deciding, as they did.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, NamedTuple, Protocol, TypeVar

from sqlalchemy import ColumnElement, func, or_, select, tuple_, union_all, update
from sqlalchemy.orm import Session

from harken.clock import Clock
from harken.context.models import Event
from harken.decisions.models import DecisionFeedback, DecisionLog
from harken.decisions.scoring import Choice
from harken.errors import Invalid, NotFound
from harken.learning import serving, vw
from harken.learning.models import OPTED_OUT_REWARD, LearningModel, LearningSettings
from harken.orgs.models import Org
from harken.terms import service as terms_service

SETTLED = timedelta(hours=24)  # how long a decision's feedback has to arrive before it is learned from
BATCH = 1000  # decisions read at a time
# What became of a decision, as feedback or as an event that answers it; and "opted-out": the org's penalty.
REWARDS = {
    "accepted": 1.0,
    "dismissed": 0.0,
    "not-relevant": 0.0,
    "offer.accepted": 1.0,
    "offer.dismissed": 0.0,
}
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)

T = TypeVar("T")


class Unit(Protocol):
    """Runs `work` in a unit of work of its own (committed when it returns), as the worker's do."""

    def __call__(self, work: Callable[[Session], T]) -> T: ...


# --- training ------------------------------------------------------------------------------------------


@dataclass
class Progress:
    """How far a training run got: decisions learned from, logged choices it could not read (skipped,
    not retried), the decided_at of the last decision read, and, if it was a rebuild after an erasure,
    the older versions it forgot."""

    examples: int = 0
    skipped: int = 0
    through: datetime | None = None
    rebuilt: bool = False
    forgotten: list[int] = field(default_factory=list)


def opted_out_reward(session: Session, org: Org) -> float:
    settings = session.get(LearningSettings, org.id)
    return settings.opted_out_reward if settings is not None else OPTED_OUT_REWARD


def set_explore_cap(session: Session, org: Org, cap: float, *, now: datetime) -> LearningSettings:
    if not 0.0 <= cap <= 0.5:
        raise Invalid("explore_cap", "a share of decisions: between 0 and 0.5")
    settings = _settings(session, org.id, now)
    settings.explore_cap, settings.updated_at = cap, now
    session.flush()
    return settings


def _settings(session: Session, org_id: uuid.UUID, now: datetime) -> LearningSettings:
    settings = session.get(LearningSettings, org_id)
    if settings is None:
        settings = LearningSettings(
            org_id=org_id, opted_out_reward=OPTED_OUT_REWARD, explore_cap=0.0, updated_at=now
        )
        session.add(settings)
    return settings


def set_opted_out_reward(session: Session, org: Org, reward: float, *, now: datetime) -> LearningSettings:
    if not -100.0 <= reward <= 0.0:
        raise Invalid("opted_out_reward", "a penalty: between -100 and 0")
    settings = _settings(session, org.id, now)
    settings.opted_out_reward, settings.updated_at = reward, now
    session.flush()
    return settings


def latest(session: Session, org: Org) -> LearningModel | None:
    """The org's newest version, forgotten or not."""
    return session.scalar(
        select(LearningModel).where(LearningModel.org_id == org.id).order_by(LearningModel.version.desc())
    )


def rebuild_due(session: Session, org: Org) -> datetime | None:
    """When an erasure asked for the org's model to be rebuilt without what it removed, if it is still to
    be done (see the module's "Forgetting")."""
    return session.scalar(
        select(LearningSettings.rebuild_requested_at).where(LearningSettings.org_id == org.id)
    )


def mark_erased(
    session: Session, *, subject_id: uuid.UUID, now: datetime, org_id: uuid.UUID | None = None
) -> list[uuid.UUID]:
    """Before an erasure deletes a subject's logged decisions (of one org, or of every org): each org whose
    log holds a choice of theirs, which its models may have learned from, is marked to be rebuilt. The
    orgs marked. An org with none of their choices logged has nothing to forget and is left alone."""
    query = select(DecisionLog.org_id).where(
        DecisionLog.subject_id == subject_id, DecisionLog.choice.is_not(None)
    )
    if org_id is not None:
        query = query.where(DecisionLog.org_id == org_id)
    marked = sorted(set(session.scalars(query)))
    for each in marked:
        _settings(session, each, now).rebuild_requested_at = now
    session.flush()
    return marked


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
    since = _start(session, org, since, rebuild=rebuild_due(session, org) is not None)[0]
    return (
        session.scalar(
            select(func.count()).select_from(DecisionLog).where(*_trainable(org, since, now - settled))
        )
        or 0
    )


def _trainable(org: Org, since: datetime, until: datetime) -> tuple[ColumnElement[bool], ...]:
    """The org's logged choices a model may learn from: never those about a customer whose terms the
    org accepted forbid AI training (MyTerms "no AI training", "service delivery only"…)."""
    return (
        DecisionLog.org_id == org.id,
        or_(
            DecisionLog.subject_id.is_(None), DecisionLog.subject_id.not_in(terms_service.untrainable(org.id))
        ),
        DecisionLog.choice.is_not(None),
        DecisionLog.decided_at > since,
        DecisionLog.decided_at <= until,
    )


def examples(
    session: Session,
    org: Org,
    *,
    since: datetime,
    until: datetime,
    progress: Progress,
    limit: int | None = None,
) -> Iterator[vw.Example]:
    """The org's logged choices decided after `since`, up to `until`, in the order they were decided,
    each with its reward; `progress` follows. Past `limit`, stops at the next change of decided_at, so
    a later run from `progress.through` on misses none decided at the same instant."""
    penalty = opted_out_reward(session, org)
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        query = select(DecisionLog.id, DecisionLog.decided_at, DecisionLog.choice).where(
            *_trainable(org, since, until)
        )
        if after is not None:
            query = query.where(tuple_(DecisionLog.decided_at, DecisionLog.id) > tuple_(*after))
        rows = session.execute(query.order_by(DecisionLog.decided_at, DecisionLog.id).limit(BATCH)).all()
        if not rows:
            return
        kinds = _outcomes(session, [row.id for row in rows])
        for row in rows:
            if limit is not None and progress.examples >= limit and row.decided_at != progress.through:
                return
            progress.through = row.decided_at
            choice = _readable(row.choice)
            if choice is None:
                progress.skipped += 1
                continue
            kind = kinds.get(row.id)
            reward = penalty if kind == "opted-out" else REWARDS.get(kind or "", 0.0)
            yield vw.Example(choice, reward)
            progress.examples += 1
        after = (rows[-1].decided_at, rows[-1].id)


def _readable(record: dict[str, Any]) -> Choice | None:
    """The logged choice, or None if the record is not one a model can learn from (written by a bug,
    or by hand): no chosen action, or no probability it was chosen with."""
    try:
        choice = Choice.from_record(record)
        if len(choice.probabilities) != len(choice.actions) or not 0 <= choice.chosen < len(choice.actions):
            return None
        if not 0.0 < choice.propensity <= 1.0:
            return None
        for action in choice.actions:
            if not all(isinstance(v, int | float) for v in action.features.values()):
                return None
        if not all(isinstance(v, int | float) for v in choice.shared.values()):
            return None
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return choice


def _outcomes(session: Session, decision_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """What last became of each of the decisions that has an outcome, in one query: its latest feedback
    (by when it was given) or accepted or dismissed event answering it (by when it occurred)."""
    feedback = select(
        DecisionFeedback.decision_id.label("decision_id"),
        DecisionFeedback.kind.label("kind"),
        DecisionFeedback.at.label("at"),
        DecisionFeedback.id.label("id"),
    ).where(DecisionFeedback.decision_id.in_(decision_ids))
    events = select(Event.decision_id, Event.type, Event.occurred_at, Event.id).where(
        Event.decision_id.in_(decision_ids), Event.type.in_(["offer.accepted", "offer.dismissed"])
    )
    both = union_all(feedback, events).subquery()
    kinds: dict[uuid.UUID, str] = {}
    for decision_id, kind in session.execute(
        select(both.c.decision_id, both.c.kind).order_by(both.c.at, both.c.id)
    ):
        kinds[decision_id] = kind  # later rows overwrite earlier ones
    return kinds


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
    a fresh model from the whole remaining log, then the older versions forgotten (`_forget`), even if
    nothing remains to learn from. `on_example` is told the running count as examples are learned;
    `progress`, if given, says at the end how many were learned and skipped, and what was forgotten."""
    now = clock()
    progress = progress if progress is not None else Progress()
    mark = rebuild_due(session, org)
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
        _forget(session, org, rebuilt=row, mark=mark, now=now, progress=progress)
    return row


def _forget(
    session: Session,
    org: Org,
    *,
    rebuilt: LearningModel | None,
    mark: datetime,
    now: datetime,
    progress: Progress,
) -> None:
    """After a rebuild: every older version's model deleted (the row kept, `forgotten_at` set), the
    rebuilt version live if one of them was, and the mark cleared — unless another erasure marked the
    org again meanwhile (this rebuild may have read what that one removed): the next training rebuilds."""
    older: tuple[ColumnElement[bool], ...] = (
        LearningModel.org_id == org.id,
        LearningModel.forgotten_at.is_(None),
    )
    if rebuilt is not None:
        older += (LearningModel.version < rebuilt.version,)
    found = session.execute(select(LearningModel.version, LearningModel.live).where(*older)).all()
    session.execute(update(LearningModel).where(*older).values(model=None, forgotten_at=now, live=False))
    if rebuilt is not None and any(live for _, live in found):
        session.flush()
        rebuilt.live = True
    session.execute(
        update(LearningSettings)
        .where(LearningSettings.org_id == org.id, LearningSettings.rebuild_requested_at == mark)
        .values(rebuild_requested_at=None)
    )
    session.flush()
    serving.evict(org.id)  # this process keeps no forgotten model; others drop theirs on their next decision
    progress.forgotten = sorted(version for version, _ in found)


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
