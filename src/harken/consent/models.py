from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from harken.db import Base, NullableJSON


class Notice(Base):
    """The exact text an org showed when asking for a purpose; each change is a new version."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("org_id", "purpose", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    purpose: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(35))
    created_at: Mapped[datetime]


class ConsentRecord(Base):
    """One consent decision by a customer, as captured. Never updated, never deleted."""

    __tablename__ = "consent_records"
    __table_args__ = (
        UniqueConstraint("chain", "seq"),
        Index("ix_consent_records_subject", "org_id", "subject_id", "purpose"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"))
    purpose: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    channels: Mapped[list[str]] = mapped_column(JSON)
    notice_version: Mapped[int | None]
    notice_sha256: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(32))
    captured_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    recorded_at: Mapped[datetime]
    # As given, sealed with the customer's data key; unsealed, from an import (its file and line: nothing
    # the customer said). Its digest stays for the ledger and receipts when the key is destroyed: keyed
    # with that key (evidence_hmac, since migration 0012), so that then no guess can be tested against it;
    # a plain sha256 for an import's and for evidence recorded before.
    evidence: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    evidence_hmac: Mapped[str | None] = mapped_column(String(64))
    chain: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int]


class CurrentConsent(Base):
    """Which record is in force per (org, subject, purpose): the one captured last."""

    __tablename__ = "consent_current"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), primary_key=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("consent_records.id"))
    captured_at: Mapped[datetime]


@event.listens_for(ConsentRecord, "before_update")
@event.listens_for(ConsentRecord, "before_delete")
def _append_only(*_args: Any) -> None:
    raise RuntimeError("consent records are append-only: record a new one instead")
