from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, LargeBinary, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from harken.db import Base, NullableJSON

OPTED_OUT_REWARD = -1.0  # what an opt-out costs a model, unless the org says otherwise


class LearningModel(Base):
    """One version of an org's learned model. Versions count up per org; at most one is live (the
    scorer its decisions use); an org with none live decides by the rules alone.

    `metrics` is what offline evaluation found (harken.learning.evaluate writes it). Promotion without
    --force reads two keys of it: `beats_current` (true when the candidate's lower confidence bound beat
    the estimated value of the policy in force) and `against` (the name of that policy: "rules", or the
    live model's `vw:<org>:<version>`), so an evaluation against a policy no longer in force gates nothing.

    A version is forgotten (`model` None, `forgotten_at` set) when an erasure removed decisions it may
    have learned from and the org's model was rebuilt from the log without them: it never serves again."""

    __tablename__ = "learning_models"
    __table_args__ = (
        UniqueConstraint("org_id", "version"),
        Index(
            "ix_learning_models_live",
            "org_id",
            unique=True,
            sqlite_where=text("live"),
            postgresql_where=text("live"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    version: Mapped[int]
    created_at: Mapped[datetime]
    trained_through: Mapped[datetime]  # the decided_at of the last decision this version learned from
    examples: Mapped[int]  # decisions learned from, this version and the ones it continued
    model: Mapped[bytes | None] = mapped_column(LargeBinary)  # None once forgotten
    live: Mapped[bool]
    metrics: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    # When a rebuild after an erasure deleted this version's model: the row stays, as history only.
    forgotten_at: Mapped[datetime | None]

    @property
    def scorer_name(self) -> str:
        return f"vw:{self.org_id}:{self.version}"


class LearningSettings(Base):
    """An org's own learning settings: what an opt-out costs (a penalty, as a negative reward), and how far
    its decisions may explore at most (each customer's own "surprise me" bounds it further; 0: never).

    `rebuild_requested_at`: when an erasure removed logged choices its models may have learned from;
    until the next training rebuilds the model from the remaining log (and forgets the older versions),
    it stays set."""

    __tablename__ = "learning_settings"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), primary_key=True)
    opted_out_reward: Mapped[float] = mapped_column(Float)
    explore_cap: Mapped[float] = mapped_column(Float, server_default="0")
    updated_at: Mapped[datetime]
    rebuild_requested_at: Mapped[datetime | None]
