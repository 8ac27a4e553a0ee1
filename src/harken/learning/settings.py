"""An org's learning settings: the penalty a decision earns when the customer opts out, and how far its
decisions may explore. An org with no row has the defaults (`OPTED_OUT_REWARD`, no exploration)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from harken.errors import Invalid
from harken.learning.models import OPTED_OUT_REWARD, LearningSettings
from harken.orgs.models import Org


def opted_out_reward(session: Session, org: Org) -> float:
    settings = session.get(LearningSettings, org.id)
    return settings.opted_out_reward if settings is not None else OPTED_OUT_REWARD


def set_explore_cap(session: Session, org: Org, cap: float, *, now: datetime) -> LearningSettings:
    if not 0.0 <= cap <= 0.5:
        raise Invalid("explore_cap", "a share of decisions: between 0 and 0.5")
    settings = row(session, org.id, now)
    settings.explore_cap, settings.updated_at = cap, now
    session.flush()
    return settings


def set_opted_out_reward(session: Session, org: Org, reward: float, *, now: datetime) -> LearningSettings:
    if not -100.0 <= reward <= 0.0:
        raise Invalid("opted_out_reward", "a penalty: between -100 and 0")
    settings = row(session, org.id, now)
    settings.opted_out_reward, settings.updated_at = reward, now
    session.flush()
    return settings


def row(session: Session, org_id: uuid.UUID, now: datetime) -> LearningSettings:
    """The org's settings row, added (not flushed) with the defaults if it has none yet."""
    settings = session.get(LearningSettings, org_id)
    if settings is None:
        settings = LearningSettings(
            org_id=org_id, opted_out_reward=OPTED_OUT_REWARD, explore_cap=0.0, updated_at=now
        )
        session.add(settings)
    return settings
