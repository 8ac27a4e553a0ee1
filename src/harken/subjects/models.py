from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from harken.db import Base


class Subject(Base):
    """A person. Holds nothing an org can read by itself; orgs reach it through their own refs."""

    __tablename__ = "subjects"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime]
    # A keyed digest of the person's email (never the address): how two orgs' refs reach one person.
    email_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    erased_at: Mapped[
        datetime | None
    ]  # erased: the key is gone, the data deleted, the ref kept as a tombstone


class SubjectRef(Base):
    """How one org names one person. Another org's ref is simply not found."""

    __tablename__ = "subject_refs"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), primary_key=True)
    ref: Mapped[str] = mapped_column(String(128), primary_key=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"), index=True)
    created_at: Mapped[datetime]


class SubjectKey(Base):
    """A person's data key, wrapped by the hub's secret. Destroyed when the person is erased."""

    __tablename__ = "subject_keys"

    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"), primary_key=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
