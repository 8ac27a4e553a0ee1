"""console staff: each org's staff accounts for the business console, their sign-in links and sessions

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_staff",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_console_staff_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_staff")),
        sa.UniqueConstraint("org_id", "email", name=op.f("uq_console_staff_org_id")),
    )
    op.create_index(op.f("ix_console_staff_org_id"), "console_staff", ["org_id"], unique=False)
    op.create_table(
        "console_links",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=True),
        sa.Column("staff_id", sa.Uuid(), nullable=True),
        sa.Column("email_digest", sa.String(length=64), nullable=False),
        sa.Column("ip_digest", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["console_staff.id"], name=op.f("fk_console_links_staff_id_console_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_links")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_console_links_token_sha256")),
    )
    op.create_index("ix_console_links_email", "console_links", ["email_digest", "requested_at"], unique=False)
    op.create_index("ix_console_links_ip", "console_links", ["ip_digest", "requested_at"], unique=False)
    op.create_table(
        "console_sessions",
        sa.Column("id_sha256", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["console_staff.id"], name=op.f("fk_console_sessions_staff_id_console_staff")
        ),
        sa.PrimaryKeyConstraint("id_sha256", name=op.f("pk_console_sessions")),
    )
    op.create_index(op.f("ix_console_sessions_staff_id"), "console_sessions", ["staff_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_console_sessions_staff_id"), table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_index("ix_console_links_ip", table_name="console_links")
    op.drop_index("ix_console_links_email", table_name="console_links")
    op.drop_table("console_links")
    op.drop_index(op.f("ix_console_staff_org_id"), table_name="console_staff")
    op.drop_table("console_staff")
