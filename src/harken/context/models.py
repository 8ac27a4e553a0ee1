from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from harken.db import Base, JSONType

CENTRE = "centre"  # the source of what the customer declares in the Preference Centre


class Fact(Base):
    """One datum about a person, as it stands: what it is (`key`), who said it (`provenance`) and through
    whom (`source`: an org id, or `centre`). Declared data is the customer's; observed and inferred data
    belong to the org that wrote it. Each change is also a ledger entry."""

    __tablename__ = "facts"
    __table_args__ = (UniqueConstraint("subject_id", "key", "provenance", "source"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"))  # leads the unique index
    key: Mapped[str] = mapped_column(String(96))
    provenance: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(40))
    value: Mapped[dict[str, Any]] = mapped_column(JSONType)
    valid_until: Mapped[datetime | None]
    recorded_at: Mapped[datetime]
    # `agent`: the customer declared it through their own agent (a delegated grant, harken.grants); still
    # declared, their word, but a business may want to know it came that way.
    via: Mapped[str | None] = mapped_column(String(16))


class Sharing(Base):
    """What a person shares with one org beyond what they told that org itself."""

    __tablename__ = "sharing"

    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), primary_key=True)
    profile: Mapped[bool]
    purchases: Mapped[bool]
    updated_at: Mapped[datetime]


class Event(Base):
    """Something that happened, as an org observed it: a purchase, or an offer shown, accepted, dismissed.
    An offer event may name the decision it answers (`decision_id`: one of the same org, about the same
    customer, that chose that offer); an accepted or dismissed one is then that decision's reward."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_subject_occurred", "subject_id", "occurred_at"),
        Index("ix_events_decision", "decision_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"))
    type: Mapped[str] = mapped_column(String(32))
    item: Mapped[str | None] = mapped_column(String(128))
    topics: Mapped[list[str]] = mapped_column(JSONType)
    gift: Mapped[bool]
    offer_id: Mapped[str | None] = mapped_column(String(128))
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    decision_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("decisions.id"))
