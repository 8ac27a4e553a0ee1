"""ledger anchoring: a consent's evidence digest keyed with the customer's data key

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

Evidence recorded from now on is digested as HMAC-SHA256 under the customer's data key
(consent_records.evidence_hmac, and `evidence_hmac` in its ledger entry and receipt), so that once
their erasure destroys the key nobody can test a guess of the evidence against the ledger. Records
from before keep their plain sha256 (evidence_sha256): their ledger entries were hashed with it and
stay exactly as they are. An import's evidence (the org's file and line, nothing the customer said)
keeps a plain sha256.

Nothing else in the ledger's tables changes: every entry's body already states its chain, seq, type,
time and data, and `harken ledger verify` now requires the stored columns to be what the body states,
so entries from before verify as they always did. Checkpoints signed from now on also state the
interval the hub signs them at (`every`); those from before are taken to have been signed at the
interval in force (HARKEN_CHECKPOINT_EVERY).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence_hmac", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.drop_column("evidence_hmac")
