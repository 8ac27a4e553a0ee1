from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from harken.db import Base, NullableJSON


class Share(Base):
    """One act of sharing: a trip (or nothing of its own) and live data, for businesses, until expires_at.
    The label and the trip are sealed with the customer's key."""

    __tablename__ = "shares"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"), index=True)
    # The business whose app it was made in (its window bounds the live data shared); None: the centre.
    window_org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orgs.id"))
    label: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    trip: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ShareGrant(Base):
    """What one business may read of a share, and for which purpose."""

    __tablename__ = "share_grants"

    share_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("shares.id"), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(64))
    fields: Mapped[list[str]] = mapped_column(JSON)
    revoked_at: Mapped[datetime | None]


class ShareUse(Base):
    """A business read a share: the customer's access log shows it."""

    __tablename__ = "share_uses"
    __table_args__ = (Index("ix_share_uses_subject", "subject_id", "used_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    share_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("shares.id"))
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"))
    fields: Mapped[list[str]] = mapped_column(JSON)
    used_at: Mapped[datetime]
