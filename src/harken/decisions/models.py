from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from harken.db import Base, JSONType, NullableJSON
from harken.decisions.engine import Decision
from harken.decisions.reasons import Explanation, explain
from harken.orgs.catalogue import CatalogueEntry


class Offer(CatalogueEntry, Base):
    """An org's candidate message, kept in its catalogue."""

    __tablename__ = "offers"


class DecisionLog(Base):
    """Every decision asked, as answered: what the customer's access log shows."""

    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_subject_decided", "subject_id", "decided_at"),
        Index("ix_decisions_org_decided", "org_id", "decided_at"),
        Index("ix_decisions_contacts", "subject_id", "channel", "at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    subject_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subjects.id"))
    ref: Mapped[str] = mapped_column(String(128))
    purpose: Mapped[str] = mapped_column(String(64))
    channels: Mapped[list[str]] = mapped_column(JSONType)
    allowed: Mapped[bool]
    channel: Mapped[str | None] = mapped_column(String(16))
    offer_id: Mapped[str | None] = mapped_column(String(128))
    # {"codes": [...], "explanation": {...}}: the reasons' codes, and the explanation as values, to write
    # it again in the reader's language (`said`). Rows logged before the engine gave values: the codes alone.
    codes: Mapped[dict[str, Any] | list[str]] = mapped_column(JSONType)
    explanation: Mapped[str] = mapped_column(Text)  # in English, whatever language the org asked in
    data_used: Mapped[list[str]] = mapped_column(JSONType)
    retry_after: Mapped[datetime | None]
    at: Mapped[datetime]
    decided_at: Mapped[datetime]
    # scoring.Choice.as_record(): the actions, their features and scores, the one taken and its propensity
    # (None: a decision refused before any action was scored, or logged before choices were kept)
    choice: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)

    @staticmethod
    def codes_of(decision: Decision) -> dict[str, Any]:
        """What the `codes` column keeps of a decision."""
        return {"codes": [str(r.code) for r in decision.reasons], "explanation": decision.explained.as_json()}

    @property
    def reason_codes(self) -> list[str]:
        return self.codes["codes"] if isinstance(self.codes, dict) else self.codes

    def said(self, language: str) -> str:
        """The decision's explanation in `language` (English for rows logged before it could be rewritten)."""
        if isinstance(self.codes, dict):
            return explain(Explanation.from_json(self.codes["explanation"]), language)
        return self.explanation


class DecisionFeedback(Base):
    """What became of a decision: accepted, dismissed, not relevant, or the customer opted out."""

    __tablename__ = "decision_feedback"
    __table_args__ = (Index("ix_decision_feedback_subject", "subject_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    decision_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("decisions.id"))
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"))
    offer_id: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]


class ChangeCounter(Base):
    """How often what a decision may see has changed, per person (keyed by their root subject) and per
    org catalogue (keyed by the org): bumped by the database's own triggers (migration 0015), read by
    every decision to know whether what its process remembers still holds (`decisions.memory`)."""

    __tablename__ = "change_counters"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
