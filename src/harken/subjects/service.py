"""Registering customers under an org's refs, finding them again within that org only, and linking an
org's customer to a verified person once that person confirms it.

An email an org gives is a claim, never proof: the ref stays a person of that org alone (its own
subject) until someone who proved control of the address (a magic link) says "yes, that is me". Then
the ref's subject is linked to theirs: one person, whose declared data may reach the org as far as
they share it. Consent records and sealed data never move: a person is the set of subjects linked
to them (`person`), each keeping its own records and data key.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import ColumnElement, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from harken.consent.models import ConsentRecord
from harken.context.models import Event, Fact
from harken.db import insert_ignore
from harken.errors import Gone, NotFound
from harken.orgs.models import Org
from harken.subjects.models import Subject, SubjectRef, Token


def register(
    session: Session, *, org: Org, ref: str, now: datetime, email_digest: str | None = None
) -> tuple[SubjectRef, bool]:
    """The org's customer `ref`, created as a person of that org alone if it has not named them before.

    An email digest is recorded as the org's claim on the ref (replacing an earlier one); it links
    nothing by itself. Gone for an erased customer: nothing is ever bound to them again. Idempotent,
    also under concurrent calls: returns (ref, created).
    """
    found = find(session, org=org, ref=ref)
    created = False
    if found is None:
        subject = Subject(id=uuid.uuid4(), created_at=now)
        session.add(subject)
        session.flush()
        insert_ignore(
            session, SubjectRef, {"org_id": org.id, "ref": ref, "subject_id": subject.id, "created_at": now}
        )
        found = find(session, org=org, ref=ref)
        assert found is not None
        created = found.subject_id == subject.id
        if not created:  # a concurrent call registered the ref first
            session.delete(subject)
    if session.get_one(Subject, found.subject_id).erased_at is not None:
        raise Gone(ERASED)
    if email_digest is not None and found.claimed_email_digest != email_digest:
        found.claimed_email_digest = email_digest
        session.flush()
    return found, created


def find(session: Session, *, org: Org, ref: str) -> SubjectRef | None:
    return session.execute(_FIND, {"org_id": org.id, "ref": ref}).scalar_one_or_none()


_FIND = select(SubjectRef).where(SubjectRef.org_id == bindparam("org_id"), SubjectRef.ref == bindparam("ref"))


def get(session: Session, *, org: Org, ref: str) -> SubjectRef:
    """The org's customer `ref`; NotFound whether it does not exist or belongs to another org."""
    found = find(session, org=org, ref=ref)
    if found is None:
        raise NotFound(f"no customer with ref {ref!r}")
    return found


ERASED = "this customer was erased: nothing is kept about them any more, and nothing new is recorded"


def alive(session: Session, *, org: Org, ref: str) -> SubjectRef:
    """The org's customer `ref`, for any call about them but a decision or erasing them again: NotFound
    as `get`, Gone once they were erased (the ref is a tombstone; reads show nothing, writes write
    nothing)."""
    found = get(session, org=org, ref=ref)
    if session.execute(_ERASED_AT, {"id": found.subject_id}).scalar() is not None:
        raise Gone(ERASED)
    return found


_ERASED_AT = select(Subject.erased_at).where(Subject.id == bindparam("id"))


def erased_at(session: Session, *, org: Org, ref: str) -> datetime | None:
    """When the org's customer `ref` was erased; None if they were not (or are unknown)."""
    found = find(session, org=org, ref=ref)
    return None if found is None else session.execute(_ERASED_AT, {"id": found.subject_id}).scalar()


# ---- one person across businesses ------------------------------------------------------------------


def root_of(subject_id: uuid.UUID | ColumnElement[uuid.UUID]) -> ColumnElement[uuid.UUID]:
    """SQL for the verified person a subject is linked to, or the subject itself."""
    linked = select(Subject.person_id).where(Subject.id == subject_id).scalar_subquery()
    return func.coalesce(linked, subject_id)


def same_person(subject_id: uuid.UUID | ColumnElement[uuid.UUID]) -> ColumnElement[bool]:
    """SQL: `Subject` is one of the subjects that are the same person as `subject_id`."""
    root = root_of(subject_id)
    return or_(Subject.id == root, Subject.person_id == root)


def person_subjects(subject_id: uuid.UUID | ColumnElement[uuid.UUID]) -> Select[uuid.UUID]:
    """A subquery of every subject id that is the same person as `subject_id` (itself included)."""
    return select(Subject.id).where(same_person(subject_id))


def person(session: Session, subject_id: uuid.UUID) -> tuple[uuid.UUID, ...]:
    """Every subject that is this person: the verified person and the org customers linked to them, or
    just the subject itself when it is linked to no one."""
    return tuple(session.connection().execute(_PERSON, {"subject_id": subject_id}).scalars())


_PERSON = person_subjects(bindparam("subject_id"))  # built once: every decision that reads runs it


def verified_person(session: Session, *, email_digest: str, now: datetime) -> Subject:
    """The person who proved control of this address, created the first time they do (once, also
    when two sign-ins race)."""
    found = _verified(session, email_digest)
    if found is None:
        insert_ignore(
            session,
            Subject,
            {"id": uuid.uuid4(), "created_at": now, "email_digest": email_digest, "erased_at": None},
        )
        found = _verified(session, email_digest)
        assert found is not None
    return found


def _verified(session: Session, digest: str) -> Subject | None:
    return session.execute(select(Subject).where(Subject.email_digest == digest)).scalar_one_or_none()


def is_claimed(session: Session, email_digest: str) -> bool:
    """Whether a verified person or a live customer of some org goes by this address."""
    claimed = (
        select(SubjectRef.ref)
        .join(Subject, Subject.id == SubjectRef.subject_id)
        .where(SubjectRef.claimed_email_digest == email_digest, Subject.erased_at.is_(None))
        .limit(1)
    )
    verified = select(Subject.id).where(Subject.email_digest == email_digest, Subject.erased_at.is_(None))
    return session.execute(claimed).first() is not None or session.execute(verified).first() is not None


@dataclass(frozen=True)
class Claim:
    """An org says one of its customers goes by the verified person's address."""

    org: Org
    ref: str
    linked: bool


def claims(session: Session, *, person_id: uuid.UUID) -> list[Claim]:
    """The customers that orgs say go by this verified person's address, linked or not, by org name.
    A customer already linked to someone else, or erased, is not offered."""
    person = session.get_one(Subject, person_id)
    if person.email_digest is None:
        return []
    rows = session.execute(
        select(Org, SubjectRef.ref, Subject.person_id)
        .join(SubjectRef, SubjectRef.org_id == Org.id)
        .join(Subject, Subject.id == SubjectRef.subject_id)
        .where(
            SubjectRef.claimed_email_digest == person.email_digest,
            Subject.erased_at.is_(None),
            or_(Subject.person_id.is_(None), Subject.person_id == person_id),
            Subject.email_digest.is_(None),
        )
        .order_by(Org.name, SubjectRef.ref)
    )
    return [Claim(org, ref, linked == person_id) for org, ref, linked in rows]


def link(session: Session, *, person_id: uuid.UUID, org_id: uuid.UUID, ref: str) -> SubjectRef:
    """The verified person says "yes, that is me" to an org's claim: the ref's subject becomes part of
    them. NotFound unless that org claims exactly this person's address for `ref` (and it is free)."""
    offered = {(c.org.id, c.ref): c for c in claims(session, person_id=person_id)}
    if (org_id, ref) not in offered:
        raise NotFound("no such business claims you")
    found = session.get_one(SubjectRef, (org_id, ref))
    subject = session.get_one(Subject, found.subject_id)
    subject.person_id = person_id
    session.flush()
    return found


def unlink(session: Session, *, person_id: uuid.UUID, org_id: uuid.UUID, ref: str) -> SubjectRef:
    """The person takes a link back: the org's customer is a person of that org alone again, and sees
    nothing declared elsewhere. NotFound unless it is linked to this person."""
    found = session.get(SubjectRef, (org_id, ref))
    subject = session.get(Subject, found.subject_id) if found else None
    if found is None or subject is None or subject.person_id != person_id:
        raise NotFound("no such business is linked to you")
    subject.person_id = None
    session.flush()
    return found


def refuse(session: Session, *, person_id: uuid.UUID, org_id: uuid.UUID, ref: str) -> None:
    """The person says "that is not me": the org's claim is dropped (it may claim again; the person
    is asked again)."""
    offered = {(c.org.id, c.ref): c for c in claims(session, person_id=person_id) if not c.linked}
    if (org_id, ref) not in offered:
        raise NotFound("no such business claims you")
    session.get_one(SubjectRef, (org_id, ref)).claimed_email_digest = None
    session.flush()


# ---- tokens that speak for a person ----------------------------------------------------------------


def issue_token(
    session: Session,
    *,
    tier: str,
    subject_id: uuid.UUID,
    org_id: uuid.UUID | None,
    ref: str | None,
    ttl: timedelta,
    now: datetime,
) -> Token:
    token = Token(
        id=uuid.uuid4(),
        tier=tier,
        subject_id=subject_id,
        org_id=org_id,
        ref=ref,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(token)
    session.flush()
    return token


def revoke_token(session: Session, *, token_id: uuid.UUID, now: datetime) -> None:
    token = session.get_one(Token, token_id)
    if token.revoked_at is None:
        token.revoked_at = now
        session.flush()


def revoke_tokens(session: Session, *, org_id: uuid.UUID, subject_id: uuid.UUID, now: datetime) -> int:
    """Revoke every live token an org minted for its customer; returns how many."""
    live = session.execute(
        select(Token).where(
            Token.org_id == org_id,
            Token.subject_id == subject_id,
            Token.revoked_at.is_(None),
            Token.expires_at > now,
        )
    ).scalars()
    count = 0
    for token in live:
        token.revoked_at = now
        count += 1
    session.flush()
    return count


class Listed(NamedTuple):
    ref: str
    created_at: datetime
    last_change_at: datetime
    erased: bool


def listed(session: Session, *, org: Org, after: str | None, limit: int) -> list[Listed]:
    """The org's refs in ref order after `after` (up to `limit`, and one more if there is a next page),
    each with when it last changed through this org. Of an erased customer only the ref, when it was
    registered and when it was erased: their consent records stay as proof, but are not theirs to list."""
    query = (
        select(SubjectRef.ref, SubjectRef.created_at, SubjectRef.subject_id, Subject.erased_at)
        .join(Subject, Subject.id == SubjectRef.subject_id)
        .where(SubjectRef.org_id == org.id)
    )
    if after is not None:
        query = query.where(SubjectRef.ref > after)
    rows = session.execute(query.order_by(SubjectRef.ref).limit(limit + 1)).all()
    latest = _last_changes(session, org, [r.subject_id for r in rows if r.erased_at is None])
    return [
        Listed(
            r.ref,
            r.created_at,
            r.erased_at or max(r.created_at, latest.get(r.subject_id, r.created_at)),
            r.erased_at is not None,
        )
        for r in rows
    ]


def _last_changes(session: Session, org: Org, subject_ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """The latest time each subject was written through `org`: a consent, an event, a datum."""
    if not subject_ids:
        return {}
    found: dict[uuid.UUID, datetime] = {}
    for subject, at in itertools.chain(
        session.execute(
            select(ConsentRecord.subject_id, func.max(ConsentRecord.recorded_at))
            .where(ConsentRecord.org_id == org.id, ConsentRecord.subject_id.in_(subject_ids))
            .group_by(ConsentRecord.subject_id)
        ).all(),
        session.execute(
            select(Event.subject_id, func.max(Event.recorded_at))
            .where(Event.org_id == org.id, Event.subject_id.in_(subject_ids))
            .group_by(Event.subject_id)
        ).all(),
        session.execute(
            select(Fact.subject_id, func.max(Fact.recorded_at))
            .where(Fact.source == str(org.id), Fact.subject_id.in_(subject_ids))
            .group_by(Fact.subject_id)
        ).all(),
    ):
        found[subject] = max(found.get(subject, at), at)
    return found
