"""listening engine: facts, sharing, events, offers, decisions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import harken.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("ref", sa.String(length=128), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("channels", harken.db.JSONType, nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("offer_id", sa.String(length=128), nullable=True),
        sa.Column("codes", harken.db.JSONType, nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("data_used", harken.db.JSONType, nullable=False),
        sa.Column("retry_after", harken.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_decisions_org_id_orgs")),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_decisions_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index("ix_decisions_org_decided", ["org_id", "decided_at"], unique=False)
        batch_op.create_index("ix_decisions_contacts", ["subject_id", "channel", "at"], unique=False)
        batch_op.create_index("ix_decisions_subject_decided", ["subject_id", "decided_at"], unique=False)

    op.create_table(
        "events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("item", sa.String(length=128), nullable=True),
        sa.Column("topics", harken.db.JSONType, nullable=False),
        sa.Column("gift", sa.Boolean(), nullable=False),
        sa.Column("offer_id", sa.String(length=128), nullable=True),
        sa.Column("occurred_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_events_org_id_orgs")),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_events_subject_id_subjects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_subject_occurred", ["subject_id", "occurred_at"], unique=False)

    op.create_table(
        "facts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("provenance", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("value", harken.db.JSONType, nullable=False),
        sa.Column("valid_until", harken.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_facts_subject_id_subjects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facts")),
        sa.UniqueConstraint("subject_id", "key", "provenance", "source", name=op.f("uq_facts_subject_id")),
    )
    with op.batch_alter_table("facts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_facts_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "offers",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("spec", harken.db.JSONType, nullable=False),
        sa.Column("updated_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_offers_org_id_orgs")),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_offers")),
    )
    op.create_table(
        "sharing",
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("profile", sa.Boolean(), nullable=False),
        sa.Column("purchases", sa.Boolean(), nullable=False),
        sa.Column("updated_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_sharing_org_id_orgs")),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_sharing_subject_id_subjects")),
        sa.PrimaryKeyConstraint("subject_id", "org_id", name=op.f("pk_sharing")),
    )
    op.create_table(
        "decision_feedback",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("decision_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("offer_id", sa.String(length=128), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name=op.f("fk_decision_feedback_decision_id_decisions")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_decision_feedback_org_id_orgs")),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_decision_feedback_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_feedback")),
    )
    with op.batch_alter_table("decision_feedback", schema=None) as batch_op:
        batch_op.create_index("ix_decision_feedback_subject", ["subject_id", "at"], unique=False)

    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_digest", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_subjects_email_digest"), ["email_digest"])


def downgrade() -> None:
    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_subjects_email_digest"), type_="unique")
        batch_op.drop_column("email_digest")

    with op.batch_alter_table("decision_feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_decision_feedback_subject")

    op.drop_table("decision_feedback")
    op.drop_table("sharing")
    op.drop_table("offers")
    with op.batch_alter_table("facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_facts_subject_id"))

    op.drop_table("facts")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_subject_occurred")

    op.drop_table("events")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_decisions_subject_decided")
        batch_op.drop_index("ix_decisions_org_decided")
        batch_op.drop_index("ix_decisions_contacts")

    op.drop_table("decisions")
