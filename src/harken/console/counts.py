"""The overview's plain figures: how much of each thing the org has, one count query each."""

from __future__ import annotations

from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from harken.consent.models import Notice
from harken.console.models import Staff
from harken.decisions.models import Offer
from harken.orgs.models import ApiKey, Org
from harken.profiling.models import Question
from harken.subjects.models import SubjectRef
from harken.webhooks.models import Endpoint


def of(session: Session, org: Org) -> dict[str, int]:
    """Each figure the overview shows, for `org` only."""
    queries: dict[str, Any] = {
        "customers": select(func.count()).where(SubjectRef.org_id == org.id),
        "offers": select(func.count()).where(Offer.org_id == org.id),
        "notices": select(func.count(distinct(Notice.purpose))).where(Notice.org_id == org.id),
        "questions": select(func.count()).where(Question.org_id == org.id),
        "live keys": select(func.count()).where(ApiKey.org_id == org.id, ApiKey.revoked_at.is_(None)),
        "webhook endpoints": select(func.count()).where(
            Endpoint.org_id == org.id, Endpoint.disabled_at.is_(None)
        ),
        "staff": select(func.count()).where(Staff.org_id == org.id, Staff.disabled_at.is_(None)),
    }
    return {name: int(session.execute(query).scalar_one()) for name, query in queries.items()}
