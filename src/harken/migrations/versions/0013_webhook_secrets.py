"""webhook secrets sealed: room for an endpoint's secret sealed under the hub's key

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05

A migration has no hub secret (it lives in HARKEN_DATA_DIR, not the database), so existing secrets stay
in plaintext here; `harken worker` seals them when it starts (harken.webhooks.sealing).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=64), type_=sa.String(length=200), existing_nullable=False
        )


def downgrade() -> None:
    # Sealed secrets do not fit back (nor can a migration unseal them): PostgreSQL refuses, as it should.
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=200), type_=sa.String(length=64), existing_nullable=False
        )
