from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from harken.db import Base


class Subject(Base):
    """A person as one window knows them: an org's customer (through its ref), or a verified person
    (an email address they proved they control). Subjects linked to one verified person are that person:
    `person_id` names it; a subject that names none is a person of its own."""

    __tablename__ = "subjects"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime]
    # A keyed digest of an email address the person proved they control (never the address, never
    # what an org asserted): set on verified people only.
    email_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subjects.id"), index=True)
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
    # The org says this customer has this email (keyed digest): a claim the person may confirm, never proof.
    claimed_email_digest: Mapped[str | None] = mapped_column(String(64), index=True)


class Token(Base):
    """A token that speaks for a person: minted by an org for its customer (tier `customer`, that org's
    window only) or from a verified person's session (tier `person`). Only its id is in the token, under
    the hub's MAC; this row says whom it speaks for, until when, and whether it was revoked."""

    __tablename__ = "tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tier: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"), index=True)
    org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orgs.id"))
    ref: Mapped[str | None] = mapped_column(String(128))  # the org's ref, for a customer token
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class SubjectKey(Base):
    """A person's data key, wrapped by the hub's secret. Destroyed when the person is erased."""

    __tablename__ = "subject_keys"

    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"), primary_key=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
