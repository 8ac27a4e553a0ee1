from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from harken.db import Base, JSONType
from harken.orgs.catalogue import CatalogueEntry


class Offer(CatalogueEntry, Base):
    """An org's candidate message, kept in its catalogue."""

    __tablename__ = "offers"


class DecisionLog(Base):
    """Every decision asked, as answered: what the customer's access log shows."""

    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_subject_decided", "subject_id", "decided_at"),
        Index("ix_decisions_org_decided", "org_id", "decided_at"),
        Index("ix_decisions_contacts", "subject_id", "channel", "at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subjects.id"))
    ref: Mapped[str] = mapped_column(String(128))
    purpose: Mapped[str] = mapped_column(String(64))
    channels: Mapped[list[str]] = mapped_column(JSONType)
    allowed: Mapped[bool]
    channel: Mapped[str | None] = mapped_column(String(16))
    offer_id: Mapped[str | None] = mapped_column(String(128))
    codes: Mapped[list[str]] = mapped_column(JSONType)
    explanation: Mapped[str] = mapped_column(Text)
    data_used: Mapped[list[str]] = mapped_column(JSONType)
    retry_after: Mapped[datetime | None]
    at: Mapped[datetime]
    decided_at: Mapped[datetime]


class DecisionFeedback(Base):
    """What became of a decision: accepted, dismissed, not relevant, or the customer opted out."""

    __tablename__ = "decision_feedback"
    __table_args__ = (Index("ix_decision_feedback_subject", "subject_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    decision_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("decisions.id"))
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"))
    offer_id: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]


class ChangeCounter(Base):
    """How often what a decision may see has changed, per person (keyed by their root subject) and per
    org catalogue (keyed by the org): bumped by the database's own triggers (migration 0015), read by
    every decision to know whether what its process remembers still holds (`decisions.memory`)."""

    __tablename__ = "change_counters"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
