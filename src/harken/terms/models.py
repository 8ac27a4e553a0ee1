from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from harken.db import Base

# A proffer's states: the person's offer awaits an answer, the business accepted it, offered one
# alternative from the roster, or declined; the person may withdraw it at any time (also once accepted:
# the terms are theirs).
PROFFERED, ACCEPTED, ALTERNATIVE, DECLINED, WITHDRAWN = (
    "proffered",
    "accepted",
    "alternative",
    "declined",
    "withdrawn",
)
LIVE = (PROFFERED, ACCEPTED, ALTERNATIVE, DECLINED)


class TermsPublished(Base):
    """An agreement of the roster the org says it accepts (public: `/.well-known/myterms/{org_id}`)."""

    __tablename__ = "terms_published"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), primary_key=True)
    agreement: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int]
    published_at: Mapped[datetime]


class TermsProffer(Base):
    """One agreement the person proffered to one business, and its answer. `subject_id` is the person
    as that business knows them (its records are kept under it). The hub signed the person's side when
    it was proffered (`proffer_jws`); the business's answer is its authenticated call, the key that made
    it named by `answered_by`. Each change is an entry on the business's ledger chain (`seq`: the last)."""

    __tablename__ = "terms_proffers"
    __table_args__ = (Index("ix_terms_proffers_org_subject", "org_id", "subject_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"))
    ref: Mapped[str] = mapped_column(String(200))
    agreement: Mapped[str] = mapped_column(String(32))
    version: Mapped[int]
    text_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    alternative: Mapped[str | None] = mapped_column(String(32))
    alternative_version: Mapped[int | None]
    proffered_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[uuid.UUID | None]  # the org API key that answered
    withdrawn_at: Mapped[datetime | None]
    proffer_jws: Mapped[str] = mapped_column(Text)
    chain: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int]
