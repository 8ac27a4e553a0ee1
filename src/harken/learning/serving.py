"""An org's live model, as the decisions it serves see it: which version is live and how far its
decisions may explore (one indexed read per decision), and the model itself, loaded once per process
and version and kept for the orgs used most recently. Training and promotion are harken.learning.service.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from harken.decisions.scoring import Scorer
from harken.learning import vw
from harken.learning.models import LearningModel, LearningSettings
from harken.orgs.models import Org

_CACHE_SIZE = 32  # orgs whose live model each process keeps loaded (4 MB each), least recently used out
_cache: OrderedDict[uuid.UUID, tuple[int, vw.LearnedScorer]] = OrderedDict()
_cache_lock = threading.Lock()


def scorer_for(session: Session, org: Org) -> Scorer | None:
    """The org's live model as a scorer, or None (a cold org: the rules decide)."""
    return policy(session, org)[0]


def policy(session: Session, org: Org) -> tuple[Scorer | None, float]:
    """What decides for the org: its live model as a scorer (None: the rules) and how far its decisions
    may explore. One indexed read per call; the model itself is loaded once per (org, version) here."""
    found = session.execute(_POLICY, {"org_id": org.id}).first()
    version, cap = (found.version, found.explore_cap or 0.0) if found is not None else (None, 0.0)
    if version is None:
        evict(org.id)  # a model no longer live (perhaps forgotten) is not kept in memory either
        return None, cap
    return _scorer(session, org, version), cap


_POLICY = (
    select(LearningModel.version, LearningSettings.explore_cap)
    .select_from(Org)
    .outerjoin(LearningModel, and_(LearningModel.org_id == Org.id, LearningModel.live))
    .outerjoin(LearningSettings, LearningSettings.org_id == Org.id)
    .where(Org.id == bindparam("org_id"))
)


def _scorer(session: Session, org: Org, version: int) -> Scorer | None:
    with _cache_lock:
        cached = _cache.get(org.id)
        if cached is not None and cached[0] == version:
            _cache.move_to_end(org.id)
            return cached[1]
    model = session.scalar(
        select(LearningModel.model).where(LearningModel.org_id == org.id, LearningModel.version == version)
    )
    if model is None:  # forgotten between the two reads: the rules decide this once
        return None
    scorer = vw.LearnedScorer(str(org.id), version, model)
    with _cache_lock:
        _cache[org.id] = (version, scorer)
        _cache.move_to_end(org.id)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return scorer


def evict(org_id: uuid.UUID) -> None:
    with _cache_lock:
        _cache.pop(org_id, None)
