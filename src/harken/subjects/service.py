"""Registering customers under an org's refs and finding them again, within that org only."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from harken.db import insert_ignore
from harken.errors import NotFound
from harken.orgs.models import Org
from harken.subjects.models import Subject, SubjectRef


def register(
    session: Session, *, org: Org, ref: str, now: datetime, email_digest: str | None = None
) -> tuple[SubjectRef, bool]:
    """The org's customer `ref`, created as a new person if the org has not named them before.

    With an email digest the ref joins the person already known by that email, so what the customer
    shares reaches every org they deal with; the org learns nothing either way (no error, no hint).
    Idempotent, also under concurrent calls: returns (ref, created).
    """
    existing = find(session, org=org, ref=ref)
    if existing is not None:
        if email_digest is not None:
            _claim_email(session, existing.subject_id, email_digest)
        return existing, False
    person = _by_email(session, email_digest) if email_digest else None
    subject = person or Subject(created_at=now, email_digest=email_digest)
    if person is None:
        session.add(subject)
        session.flush()
    insert_ignore(
        session, SubjectRef, {"org_id": org.id, "ref": ref, "subject_id": subject.id, "created_at": now}
    )
    found = find(session, org=org, ref=ref)
    assert found is not None
    if found.subject_id != subject.id:  # a concurrent call registered the ref first
        if person is None:
            session.delete(subject)
        return found, False
    return found, True


def _by_email(session: Session, digest: str) -> Subject | None:
    return session.execute(select(Subject).where(Subject.email_digest == digest)).scalar_one_or_none()


def _claim_email(session: Session, subject_id: uuid.UUID, digest: str) -> None:
    """Give a person without an email this one, unless another person holds it (then leave both as they
    are: merging two people's histories is the customer's call, not an org's)."""
    subject = session.get_one(Subject, subject_id)
    if subject.email_digest is None and _by_email(session, digest) is None:
        subject.email_digest = digest
        session.flush()


def find(session: Session, *, org: Org, ref: str) -> SubjectRef | None:
    return session.execute(_FIND, {"org_id": org.id, "ref": ref}).scalar_one_or_none()


_FIND = select(SubjectRef).where(SubjectRef.org_id == bindparam("org_id"), SubjectRef.ref == bindparam("ref"))


def get(session: Session, *, org: Org, ref: str) -> SubjectRef:
    """The org's customer `ref`; NotFound whether it does not exist or belongs to another org."""
    found = find(session, org=org, ref=ref)
    if found is None:
        raise NotFound(f"no customer with ref {ref!r}")
    return found
