from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from harken.db import Base


class SignInLink(Base):
    """One request for a magic link. A request for an unknown address is recorded too (with no token
    and no person), so rate limits count it and nothing tells the two apart."""

    __tablename__ = "sign_in_links"
    __table_args__ = (
        Index("ix_sign_in_links_email", "email_digest", "requested_at"),
        Index("ix_sign_in_links_ip", "ip_digest", "requested_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    token_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    subject_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subjects.id"))
    email_digest: Mapped[str] = mapped_column(String(64))
    ip_digest: Mapped[str] = mapped_column(String(64))
    next_path: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class CentreSession(Base):
    """A signed-in customer. The cookie holds a random id; only its sha256 is stored here.

    Opened by email, the session sees the whole person; opened from an org's app (a customer token),
    it sees that org's window only."""

    __tablename__ = "centre_sessions"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"), index=True)
    org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orgs.id"))
    # Opened from a customer token: ends when the token expires or is revoked.
    token_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tokens.id"))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class ErasureRequest(Base):
    """The customer asked for their data to be deleted — by every business (`org_id` None) or by one:
    marketing stopped at once; the erasure itself follows."""

    __tablename__ = "erasure_requests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"), index=True)
    org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orgs.id"))
    requested_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
