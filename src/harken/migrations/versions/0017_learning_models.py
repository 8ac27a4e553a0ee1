"""learning models: each org's learned model versions (one live at most: the scorer its decisions use
beside the rules) and its learning settings (what an opt-out costs)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learning_models",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trained_through", sa.DateTime(timezone=True), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("model", sa.LargeBinary(), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.Column("metrics", sa.JSON(none_as_null=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_learning_models_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_models")),
        sa.UniqueConstraint("org_id", "version", name=op.f("uq_learning_models_org_id")),
    )
    # One live model per org, kept by the database whatever writes.
    op.create_index(
        "ix_learning_models_live",
        "learning_models",
        ["org_id"],
        unique=True,
        sqlite_where=sa.text("live"),
        postgresql_where=sa.text("live"),
    )
    op.create_table(
        "learning_settings",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("opted_out_reward", sa.Float(), nullable=False),
        sa.Column("explore_cap", sa.Float(), nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_learning_settings_org_id_orgs")),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_learning_settings")),
    )


def downgrade() -> None:
    op.drop_table("learning_settings")
    op.drop_index("ix_learning_models_live", table_name="learning_models")
    op.drop_table("learning_models")
