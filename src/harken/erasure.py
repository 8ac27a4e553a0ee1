"""Erasure by crypto-shredding: the person's data key is destroyed and the rows holding their data
deleted, in one transaction. What must stay as proof stays, unreadable: consent records (pseudonymous
ids, statuses and digests) and the ledger (digests keyed by the destroyed key, which no guess can be
tested against). The subject row remains as a tombstone, so every business's ref to them answers
"erased" rather than "unknown", and every business that dealt with them is told (`subject.erased`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from harken.centre.models import CentreSession, ErasureRequest, SignInLink
from harken.context.models import Event, Fact, Sharing
from harken.credentials import service as credential_service
from harken.decisions.models import DecisionFeedback, DecisionLog
from harken.ledger import service as ledger_service
from harken.ledger.service import Notary
from harken.orgs.models import Org
from harken.profiling.models import QuestionAsk
from harken.shares.models import Share, ShareGrant, ShareUse
from harken.subjects import vault
from harken.subjects.models import Subject, SubjectRef
from harken.webhooks import outbox
from harken.webhooks.schemas import EventType

# Every table that holds what a person told or did, by its subject column; the order respects keys.
HOLDING = (
    DecisionFeedback,
    DecisionLog,
    Fact,
    Event,
    Sharing,
    ShareUse,
    QuestionAsk,
    CentreSession,
    SignInLink,
)


def erase(session: Session, *, subject_id: uuid.UUID, notary: Notary, now: datetime) -> list[tuple[Org, str]]:
    """Erase the person; returns the (org, ref) pairs that were told. Erasing twice does nothing."""
    subject = session.get_one(Subject, subject_id)
    if subject.erased_at is not None:
        return []
    for model in HOLDING:
        session.execute(delete(model).where(model.subject_id == subject_id))
    shares = select(Share.id).where(Share.subject_id == subject_id).scalar_subquery()
    session.execute(delete(ShareGrant).where(ShareGrant.share_id.in_(shares)))
    session.execute(delete(Share).where(Share.subject_id == subject_id))
    credential_service.erase(session, subject_id=subject_id)
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
    session.flush()
    return told
