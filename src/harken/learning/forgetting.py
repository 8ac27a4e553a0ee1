"""Forgetting: an erasure that deletes a customer's logged choices marks the org's learning to be rebuilt
(`mark_erased`), since its model versions may carry what was learned from them. The next training (the
worker's next round, or `harken learn train`: harken.learning.service) then trains a fresh model from the
whole remaining log, deletes every older version's model (`forget`: the rows stay, `forgotten_at` set),
and, if one of those was live, makes the rebuilt version live in its place: the same data, minus the
erased people, so it is not held back for a new evaluation. Otherwise the rules keep deciding, as they did.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from harken.decisions.models import DecisionLog
from harken.learning import serving, settings
from harken.learning.models import LearningModel, LearningSettings
from harken.orgs.models import Org


def rebuild_due(session: Session, org: Org) -> datetime | None:
    """When an erasure asked for the org's model to be rebuilt without what it removed, if it is still to
    be done."""
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
        settings.row(session, each, now).rebuild_requested_at = now
    session.flush()
    return marked


def forget(
    session: Session, org: Org, *, rebuilt: LearningModel | None, mark: datetime, now: datetime
) -> list[int]:
    """After a rebuild: every older version's model deleted (the row kept, `forgotten_at` set), the
    rebuilt version live if one of them was, and the mark cleared — unless another erasure marked the
    org again meanwhile (this rebuild may have read what that one removed): the next training rebuilds.
    The versions forgotten."""
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
    return sorted(version for version, _ in found)
