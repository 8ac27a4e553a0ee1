"""preference centre: sign-in links, sessions, erasure requests

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import harken.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "centre_sessions",
        sa.Column("id_sha256", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", harken.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_centre_sessions_org_id_orgs")),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_centre_sessions_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id_sha256", name=op.f("pk_centre_sessions")),
    )
    with op.batch_alter_table("centre_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_centre_sessions_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("requested_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", harken.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_erasure_requests_org_id_orgs")),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_erasure_requests_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_requests")),
    )
    with op.batch_alter_table("erasure_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erasure_requests_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "sign_in_links",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=True),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("email_digest", sa.String(length=64), nullable=False),
        sa.Column("ip_digest", sa.String(length=64), nullable=False),
        sa.Column("next_path", sa.String(length=200), nullable=False),
        sa.Column("requested_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", harken.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_sign_in_links_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_links")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_sign_in_links_token_sha256")),
    )
    with op.batch_alter_table("sign_in_links", schema=None) as batch_op:
        batch_op.create_index("ix_sign_in_links_email", ["email_digest", "requested_at"], unique=False)
        batch_op.create_index("ix_sign_in_links_ip", ["ip_digest", "requested_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sign_in_links", schema=None) as batch_op:
        batch_op.drop_index("ix_sign_in_links_ip")
        batch_op.drop_index("ix_sign_in_links_email")

    op.drop_table("sign_in_links")
    with op.batch_alter_table("erasure_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasure_requests_subject_id"))

    op.drop_table("erasure_requests")
    with op.batch_alter_table("centre_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_centre_sessions_subject_id"))

    op.drop_table("centre_sessions")
