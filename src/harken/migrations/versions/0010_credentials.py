"""credentials: SD-JWT VCs issued to customers, their status lists and verifiers' nonces

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import harken.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "status_lists",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("full_at", harken.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_lists")),
    )
    op.create_table(
        "presentation_nonces",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", harken.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_presentation_nonces_org_id_orgs")),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_presentation_nonces")),
    )
    op.create_table(
        "status_entries",
        sa.Column("list_id", sa.Uuid(), nullable=False),
        sa.Column("idx", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"], ["status_lists.id"], name=op.f("fk_status_entries_list_id_status_lists")
        ),
        sa.PrimaryKeyConstraint("list_id", "idx", name=op.f("pk_status_entries")),
    )
    op.create_table(
        "credentials",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("window_org_id", sa.Uuid(), nullable=True),
        sa.Column("list_id", sa.Uuid(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("vct", sa.String(length=200), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("issued_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", harken.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id", "idx"],
            ["status_entries.list_id", "status_entries.idx"],
            name=op.f("fk_credentials_list_id_status_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_credentials_subject_id_subjects")
        ),
        sa.ForeignKeyConstraint(
            ["window_org_id"], ["orgs.id"], name=op.f("fk_credentials_window_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
    )
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credentials_subject_id"), ["subject_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credentials_subject_id"))

    op.drop_table("credentials")
    op.drop_table("status_entries")
    op.drop_table("presentation_nonces")
    op.drop_table("status_lists")
