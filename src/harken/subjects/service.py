"""Registering customers under an org's refs and finding them again, within that org only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from harken.db import insert_ignore
from harken.errors import NotFound
from harken.orgs.models import Org
from harken.subjects.models import Subject, SubjectRef


def register(session: Session, *, org: Org, ref: str, now: datetime) -> tuple[SubjectRef, bool]:
    """The org's customer `ref`, created as a new person if the org has not named them before.

    Idempotent, also under concurrent calls: returns (ref, created).
    """
    existing = find(session, org=org, ref=ref)
    if existing is not None:
        return existing, False
    subject = Subject(created_at=now)
    session.add(subject)
    session.flush()
    insert_ignore(
        session, SubjectRef, {"org_id": org.id, "ref": ref, "subject_id": subject.id, "created_at": now}
    )
    found = find(session, org=org, ref=ref)
    assert found is not None
    if found.subject_id != subject.id:  # a concurrent call registered the ref first
        session.delete(subject)
        return found, False
    return found, True


def find(session: Session, *, org: Org, ref: str) -> SubjectRef | None:
    return session.execute(_FIND, {"org_id": org.id, "ref": ref}).scalar_one_or_none()


_FIND = select(SubjectRef).where(SubjectRef.org_id == bindparam("org_id"), SubjectRef.ref == bindparam("ref"))


def get(session: Session, *, org: Org, ref: str) -> SubjectRef:
    """The org's customer `ref`; NotFound whether it does not exist or belongs to another org."""
    found = find(session, org=org, ref=ref)
    if found is None:
        raise NotFound(f"no customer with ref {ref!r}")
    return found
