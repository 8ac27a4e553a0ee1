"""shares: several businesses told at once, each its fields for its purpose, until it expires or is taken back

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import harken.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shares",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("window_org_id", sa.Uuid(), nullable=True),
        sa.Column("label", sa.JSON(), nullable=True),
        sa.Column("trip", sa.JSON(), nullable=True),
        sa.Column("created_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", harken.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_shares_subject_id_subjects")),
        sa.ForeignKeyConstraint(["window_org_id"], ["orgs.id"], name=op.f("fk_shares_window_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shares")),
    )
    with op.batch_alter_table("shares", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shares_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "share_grants",
        sa.Column("share_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("revoked_at", harken.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_share_grants_org_id_orgs")),
        sa.ForeignKeyConstraint(["share_id"], ["shares.id"], name=op.f("fk_share_grants_share_id_shares")),
        sa.PrimaryKeyConstraint("share_id", "org_id", name=op.f("pk_share_grants")),
    )
    op.create_table(
        "share_uses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("share_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("used_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_share_uses_org_id_orgs")),
        sa.ForeignKeyConstraint(["share_id"], ["shares.id"], name=op.f("fk_share_uses_share_id_shares")),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_share_uses_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_uses")),
    )
    with op.batch_alter_table("share_uses", schema=None) as batch_op:
        batch_op.create_index("ix_share_uses_subject", ["subject_id", "used_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("share_uses", schema=None) as batch_op:
        batch_op.drop_index("ix_share_uses_subject")

    op.drop_table("share_uses")
    op.drop_table("share_grants")
    with op.batch_alter_table("shares", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shares_subject_id"))

    op.drop_table("shares")
