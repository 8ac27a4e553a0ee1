"""facts: drop `ix_facts_subject_id`, which repeats the leading column of the facts' unique index
(subject, key, provenance, source) and cost every fact written an index entry for nothing

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_facts_subject_id", table_name="facts")


def downgrade() -> None:
    op.create_index("ix_facts_subject_id", "facts", ["subject_id"], unique=False)
