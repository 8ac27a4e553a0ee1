"""Erasure by crypto-shredding: the person's data key is destroyed and the rows holding their data
deleted, in one transaction. An org erases what it holds about its customer (`end_relationship`); only
the verified person erases everything, at every business they linked (`erase_person`). What must stay as proof stays, unreadable: consent records (pseudonymous
ids, statuses and digests) and the ledger (digests keyed by the destroyed key, which no guess can be
tested against). The subject row remains as a tombstone, so every business's ref to them answers
"erased" rather than "unknown", and every business that dealt with them is told (`subject.erased`).
A business whose learned models may have learned from the person's logged decisions has them rebuilt
without them, the older versions forgotten (harken.learning.forgetting)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, Uuid, column, delete, or_, select, table, update
from sqlalchemy.orm import Session

from harken.centre.models import CentreSession, ErasureRequest, SignInLink
from harken.context.models import Event, Fact, Sharing
from harken.credentials import service as credential_service
from harken.decisions.models import DecisionFeedback, DecisionLog
from harken.grants import service as grant_service
from harken.learning import forgetting
from harken.ledger import service as ledger_service
from harken.ledger.service import Notary
from harken.orgs.models import Org
from harken.profiling.models import QuestionAsk
from harken.shares.models import Share, ShareGrant, ShareUse
from harken.subjects import service as subject_service
from harken.subjects import vault
from harken.subjects.models import Subject, SubjectRef
from harken.subjects.service import person
from harken.webhooks import outbox
from harken.webhooks.schemas import EventType

# Every table that holds what a person told or did, by its subject column; the order respects keys
# (feedback and events may name a decision).
HOLDING = (
    DecisionFeedback,
    Event,
    DecisionLog,
    Fact,
    Sharing,
    ShareUse,
    QuestionAsk,
    CentreSession,
    SignInLink,
)


def erase_person(
    session: Session, *, subject_id: uuid.UUID, notary: Notary, now: datetime
) -> list[tuple[Org, str]]:
    """Erase the verified person and every subject linked to them; returns the (org, ref) pairs told."""
    told = []
    for each in person(session, subject_id):
        told += erase(session, subject_id=each, notary=notary, now=now)
    return told


def end_relationship(session: Session, *, org: Org, ref: str, notary: Notary, now: datetime) -> None:
    """An org's erasure of its customer: everything held under its ref is erased and the ref stays a
    tombstone (410), unlinked from the verified person, whom nothing else touches. A subject that other
    orgs' refs reach as well (joined by an asserted email before migration 0011) keeps their data: this
    org's part of it is deleted and its ref moves to a tombstone of its own."""
    found = subject_service.get(session, org=org, ref=ref)
    subject = session.get_one(Subject, found.subject_id)
    others = session.execute(
        select(SubjectRef.org_id)
        .where(SubjectRef.subject_id == subject.id, SubjectRef.org_id != org.id)
        .limit(1)
    ).first()
    if others is None:
        erase(session, subject_id=subject.id, notary=notary, now=now)
        subject.person_id = None
        session.flush()
        return
    _forget_org(session, org, subject.id, now)
    outbox.forget(session, subject_id=subject.id, org_id=org.id)
    tombstone = Subject(id=uuid.uuid4(), created_at=now, erased_at=now)
    session.add(tombstone)
    session.flush()
    found.subject_id = tombstone.id
    session.flush()
    _told(session, org, ref, subject.id, notary, now)


def _forget_org(session: Session, org: Org, subject_id: uuid.UUID, now: datetime) -> None:
    """Delete what one org holds of a subject other orgs also reach."""
    forgetting.mark_erased(session, subject_id=subject_id, org_id=org.id, now=now)
    for model in (DecisionFeedback, Event, DecisionLog, Sharing, ShareUse, QuestionAsk):
        session.execute(delete(model).where(model.subject_id == subject_id, model.org_id == org.id))
    session.execute(delete(Fact).where(Fact.subject_id == subject_id, Fact.source == str(org.id)))
    shares = select(Share.id).where(Share.subject_id == subject_id).scalar_subquery()
    session.execute(delete(ShareGrant).where(ShareGrant.share_id.in_(shares), ShareGrant.org_id == org.id))


# The org API's kept responses (harken.idempotency, a web layer this service does not import): those
# to calls about an erased ref go, so a retried call is refused (410) rather than answered from them.
_KEPT = table("idempotency_keys", column("org_id", Uuid), column("path", String))


def _forget_responses(session: Session, org: Org, ref: str) -> None:
    path = f"/v1/subjects/{ref}"
    under = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"
    session.execute(
        delete(_KEPT).where(
            _KEPT.c.org_id == org.id, or_(_KEPT.c.path == path, _KEPT.c.path.like(under, escape="\\"))
        )
    )


def _told(session: Session, org: Org, ref: str, subject_id: uuid.UUID, notary: Notary, now: datetime) -> None:
    _forget_responses(session, org, ref)
    ledger_service.append(
        session,
        notary=notary,
        chain_id=org.chain,
        type="subject.erased",
        at=now,
        data={"subject": str(subject_id)},
    )
    outbox.emit(
        session,
        org_id=org.id,
        type=EventType.subject_erased,
        subject_id=subject_id,
        data={"ref": ref},
        now=now,
    )


def erase(session: Session, *, subject_id: uuid.UUID, notary: Notary, now: datetime) -> list[tuple[Org, str]]:
    """Erase one subject; returns the (org, ref) pairs that were told. Erasing twice does nothing."""
    subject = session.get_one(Subject, subject_id)
    if subject.erased_at is not None:
        return []
    forgetting.mark_erased(session, subject_id=subject_id, now=now)
    for model in HOLDING:
        session.execute(delete(model).where(model.subject_id == subject_id))
    shares = select(Share.id).where(Share.subject_id == subject_id).scalar_subquery()
    session.execute(delete(ShareGrant).where(ShareGrant.share_id.in_(shares)))
    session.execute(delete(Share).where(Share.subject_id == subject_id))
    credential_service.erase(session, subject_id=subject_id)
    grant_service.forget(session, subject_id=subject_id)
    outbox.forget(session, subject_id=subject_id)
    vault.destroy(session, subject_id)
    subject.email_digest, subject.erased_at = None, now
    session.execute(
        update(ErasureRequest)
        .where(ErasureRequest.subject_id == subject_id, ErasureRequest.completed_at.is_(None))
        .values(completed_at=now)
    )
    told = [
        (org, ref)
        for org, ref in session.execute(
            select(Org, SubjectRef.ref)
            .join(SubjectRef, SubjectRef.org_id == Org.id)
            .where(SubjectRef.subject_id == subject_id)
        )
    ]
    for org, ref in told:
        _told(session, org, ref, subject_id, notary, now)
    session.flush()
    return told
