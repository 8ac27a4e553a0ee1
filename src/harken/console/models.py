from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from harken.db import Base


class Staff(Base):
    """Someone who works for an org and may sign in to its console: `admin` changes things, `viewer`
    only reads. Removed staff are kept, disabled (the ledger names them by id)."""

    __tablename__ = "console_staff"
    __table_args__ = (UniqueConstraint("org_id", "email"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))  # lower case: one spelling per address
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]


class StaffLink(Base):
    """One request for a console sign-in link. A request for an address that is no one's is recorded
    too (with no token and no staff), so the rate limits count it and nothing tells the two apart."""

    __tablename__ = "console_links"
    __table_args__ = (
        Index("ix_console_links_email", "email_digest", "requested_at"),
        Index("ix_console_links_ip", "ip_digest", "requested_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    token_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("console_staff.id"))
    email_digest: Mapped[str] = mapped_column(String(64))
    ip_digest: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class StaffSession(Base):
    """A signed-in staff member. The cookie holds a random id; only its sha256 is stored here."""

    __tablename__ = "console_sessions"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("console_staff.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
