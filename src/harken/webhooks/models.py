from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from harken.db import Base, JSONType

SEQ = BigInteger().with_variant(Integer(), "sqlite")  # SQLite numbers only INTEGER PRIMARY KEYs itself


class Endpoint(Base):
    """Where an org wants to hear of changes, and which."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSONType)
    secret: Mapped[str] = mapped_column(String(200))  # sealed (webhooks.sealing); plaintext before 0013
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(String(200))


class OutboxEvent(Base):
    """A change an org must hear of, written in the same transaction as the change itself. Its id is
    the `webhook-id` of every delivery of it, so receivers can deduplicate."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_org_created", "org_id", "created_at"),)

    seq: Mapped[int] = mapped_column(SEQ, primary_key=True, autoincrement=True)  # the order of changes
    id: Mapped[str] = mapped_column(String(40), unique=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subjects.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime]


class Delivery(Base):
    """One event to one endpoint: pending until delivered, dead after 3 days of failures."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_order", "endpoint_id", "subject_id", "event_seq"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    event_seq: Mapped[int] = mapped_column(SEQ, ForeignKey("outbox_events.seq"))
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id"))
    subject_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(16))  # pending, delivered, dead, disabled
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    claim: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class Attempt(Base):
    """One try at a delivery, as it went."""

    __tablename__ = "webhook_attempts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int]
