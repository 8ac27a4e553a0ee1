"""A change of a proffer, told: its entry on the business's ledger chain (`terms.<state>`) and its
`terms.updated` webhook to that business alone, both in the caller's transaction. Every change of a
proffer, the person's or the business's, goes through here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from harken.clock import rfc3339
from harken.ledger import service as ledger_service
from harken.ledger.service import Notary
from harken.terms.models import TermsProffer
from harken.webhooks import outbox
from harken.webhooks.schemas import EventType


def enter(session: Session, notary: Notary, row: TermsProffer, now: datetime) -> None:
    """The change, on the business's chain: pseudonymous ids and the agreement, nothing readable."""
    entry = ledger_service.append(
        session,
        notary=notary,
        chain_id=row.chain,
        type=f"terms.{row.state}",
        data={
            "proffer": str(row.id),
            "org": str(row.org_id),
            "subject": str(row.subject_id),
            "agreement": row.agreement,
            "version": row.version,
            "text_sha256": row.text_sha256,
            "state": row.state,
            "alternative": row.alternative,
            "answered_by": str(row.answered_by) if row.answered_by else None,
            "at": rfc3339(now),
        },
        at=now,
    )
    row.seq = entry.seq


def announce(session: Session, row: TermsProffer, now: datetime) -> None:
    """`terms.updated` to the business the proffer was made to, and to no other: the proffer (read its
    record with GET /v1/terms/proffers/{id}), the agreement, where it stands, and its ref for the person."""
    outbox.emit(
        session,
        org_id=row.org_id,
        type=EventType.terms_updated,
        subject_id=row.subject_id,
        data={
            "proffer": str(row.id),
            "ref": row.ref,
            "agreement": row.agreement,
            "version": row.version,
            "status": row.state,
            "alternative": row.alternative,
            "alternative_version": row.alternative_version,
            "at": rfc3339(now),
        },
        now=now,
    )
