"""event decisions and forgetting: an offer event may name the decision it answers (its accepted or
dismissed is that decision's reward); an erasure that removes decisions an org's models may have learned
from marks the org's learning to be rebuilt, and the rebuild forgets the older versions (their bytes
deleted, the rows kept with the time they were forgotten)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # On SQLite, added in place with the key written inline: it alters no constraint, and its batch mode
    # would recreate the table and lose the change-counter triggers on `events` (0015).
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column(
        "events",
        sa.Column(
            "decision_id",
            sa.Uuid(),
            sa.ForeignKey("decisions.id", name=op.f("fk_events_decision_id_decisions")),
            nullable=True,
        ),
        inline_references=sqlite,
    )
    op.create_index("ix_events_decision", "events", ["decision_id"], unique=False)
    with op.batch_alter_table("learning_settings") as batch:
        batch.add_column(sa.Column("rebuild_requested_at", sa.DateTime(timezone=True), nullable=True))
    # SQLite recreates learning_models to make `model` nullable: its partial index is dropped first and
    # made again after, rather than trusted to the copy.
    op.drop_index("ix_learning_models_live", table_name="learning_models")
    with op.batch_alter_table("learning_models") as batch:
        batch.alter_column("model", existing_type=sa.LargeBinary(), nullable=True)
        batch.add_column(sa.Column("forgotten_at", sa.DateTime(timezone=True), nullable=True))
    _live_index()


def _live_index() -> None:
    op.create_index(
        "ix_learning_models_live",
        "learning_models",
        ["org_id"],
        unique=True,
        sqlite_where=sa.text("live"),
        postgresql_where=sa.text("live"),
    )


def downgrade() -> None:
    op.drop_index("ix_learning_models_live", table_name="learning_models")
    op.execute("DELETE FROM learning_models WHERE model IS NULL")  # forgotten: nothing left to keep
    with op.batch_alter_table("learning_models") as batch:
        batch.drop_column("forgotten_at")
        batch.alter_column("model", existing_type=sa.LargeBinary(), nullable=False)
    _live_index()
    with op.batch_alter_table("learning_settings") as batch:
        batch.drop_column("rebuild_requested_at")
    op.drop_index("ix_events_decision", table_name="events")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_column("events", "decision_id")
        return
    # SQLite drops no column under a foreign key: the table is recreated, and with it 0015's triggers.
    with op.batch_alter_table("events", recreate="always") as batch:
        batch.drop_column("decision_id")
    for event in ("INSERT", "UPDATE", "DELETE"):
        row = "OLD" if event == "DELETE" else "NEW"
        op.execute(
            f"CREATE TRIGGER bump_events_{event.lower()} AFTER {event} ON events BEGIN "
            "INSERT INTO change_counters (version, id) SELECT 1 AS version, coalesce(s.person_id, s.id) "
            f"FROM subjects s WHERE s.id = {row}.subject_id "
            "ON CONFLICT (id) DO UPDATE SET version = change_counters.version + 1; END"
        )
