"""grants: the person's own agents — OAuth clients, grants, pending requests and codes, tokens, acts;
and `facts.via`, "agent" for what the customer declared through their own agent

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "oauth_clients",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("redirect_uris", JSON, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_clients")),
    )
    op.create_table(
        "grants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2000), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scopes", JSON, nullable=False),
        sa.Column("orgs", JSON, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.Column("revoked_why", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_grants_subject_id_subjects")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["oauth_clients.id"], name=op.f("fk_grants_client_id_oauth_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
    )
    op.create_index(op.f("ix_grants_subject_id"), "grants", ["subject_id"], unique=False)
    op.create_table(
        "grant_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2000), nullable=False),
        sa.Column("scopes", JSON, nullable=False),
        sa.Column("state", sa.String(length=500), nullable=True),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("grant_id", sa.Uuid(), nullable=True),
        sa.Column("code_sha256", sa.String(length=64), nullable=True),
        sa.Column("used_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["oauth_clients.id"], name=op.f("fk_grant_requests_client_id_oauth_clients")
        ),
        sa.ForeignKeyConstraint(["grant_id"], ["grants.id"], name=op.f("fk_grant_requests_grant_id_grants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_requests")),
        sa.UniqueConstraint("code_sha256", name=op.f("uq_grant_requests_code_sha256")),
    )
    op.create_table(
        "grant_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("grant_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("used_at", WHEN, nullable=True),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["grant_id"], ["grants.id"], name=op.f("fk_grant_tokens_grant_id_grants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_tokens")),
    )
    op.create_index(op.f("ix_grant_tokens_grant_id"), "grant_tokens", ["grant_id"], unique=False)
    op.create_table(
        "grant_acts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("grant_id", sa.Uuid(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("act", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["grant_id"], ["grants.id"], name=op.f("fk_grant_acts_grant_id_grants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_acts")),
    )
    op.create_index("ix_grant_acts_grant_at", "grant_acts", ["grant_id", "at"], unique=False)
    op.add_column("facts", sa.Column("via", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("facts", schema=None) as batch_op:
        batch_op.drop_column("via")
    op.drop_index("ix_grant_acts_grant_at", table_name="grant_acts")
    op.drop_table("grant_acts")
    op.drop_index(op.f("ix_grant_tokens_grant_id"), table_name="grant_tokens")
    op.drop_table("grant_tokens")
    op.drop_table("grant_requests")
    op.drop_index(op.f("ix_grants_subject_id"), table_name="grants")
    op.drop_table("grants")
    op.drop_table("oauth_clients")
