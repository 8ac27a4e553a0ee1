from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from harken.db import Base
from harken.orgs.catalogue import CatalogueEntry


class Question(CatalogueEntry, Base):
    """A question in an org's bank: its text per locale, the datum an answer declares, its options."""

    __tablename__ = "questions"


class QuestionAsk(Base):
    """A question put to a customer, and what became of it (answered, declined, or still open)."""

    __tablename__ = "question_asks"
    __table_args__ = (Index("ix_question_asks_subject", "org_id", "subject_id", "asked_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"))
    question_id: Mapped[str] = mapped_column(String(128))
    asked_at: Mapped[datetime]
    outcome: Mapped[str | None] = mapped_column(String(16))
    settled_at: Mapped[datetime | None]
