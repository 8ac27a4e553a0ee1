"""progressive profiling: question banks and asks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import harken.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "question_asks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("question_id", sa.String(length=128), nullable=False),
        sa.Column("asked_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("settled_at", harken.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_question_asks_org_id_orgs")),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_question_asks_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_asks")),
    )
    with op.batch_alter_table("question_asks", schema=None) as batch_op:
        batch_op.create_index("ix_question_asks_subject", ["org_id", "subject_id", "asked_at"], unique=False)

    op.create_table(
        "questions",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("spec", harken.db.JSONType, nullable=False),
        sa.Column("updated_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_questions_org_id_orgs")),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_questions")),
    )


def downgrade() -> None:
    op.drop_table("questions")
    with op.batch_alter_table("question_asks", schema=None) as batch_op:
        batch_op.drop_index("ix_question_asks_subject")

    op.drop_table("question_asks")
