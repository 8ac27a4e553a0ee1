from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, ForeignKeyConstraint, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from harken.db import Base


class StatusList(Base):
    """A Token Status List the hub publishes at /v1/status-lists/{id}: one bit per credential issued."""

    __tablename__ = "status_lists"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    full_at: Mapped[datetime | None]  # from then on, credentials are placed in another list


class StatusEntry(Base):
    """A taken place in a status list and its status. It outlives its credential (erasure deletes the
    credential, the entry stays INVALID) and says nothing of whose it was."""

    __tablename__ = "status_entries"

    list_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("status_lists.id"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[int] = mapped_column(SmallInteger)


class Credential(Base):
    """An SD-JWT VC issued to a customer: not the credential itself (the holder keeps it), only what
    revoking it, listing it and erasing its customer need. `fields` are names (trip.flight, context), never
    values."""

    __tablename__ = "credentials"
    __table_args__ = (
        ForeignKeyConstraint(["list_id", "idx"], ["status_entries.list_id", "status_entries.idx"]),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"), index=True)
    # The business whose app it was issued through; None: the centre.
    window_org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orgs.id"))
    list_id: Mapped[uuid.UUID]
    idx: Mapped[int] = mapped_column(Integer)
    vct: Mapped[str] = mapped_column(String(200))
    fields: Mapped[list[str]] = mapped_column(JSON)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class PresentationNonce(Base):
    """A nonce the hub gave an org to put in a presentation's key binding: used once, soon, by that org."""

    __tablename__ = "presentation_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
