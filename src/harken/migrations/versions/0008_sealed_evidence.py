"""sealed consent evidence: each record keeps its evidence's digest, so the evidence can be sealed

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from harken.ledger import chain

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RECORDS = sa.table(
    "consent_records",
    sa.column("id", sa.Uuid()),
    sa.column("evidence", sa.JSON()),
    sa.column("evidence_sha256", sa.String(64)),
)


def upgrade() -> None:
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence_sha256", sa.String(length=64), nullable=True))
    # Records from before hold their evidence in clear: its digest is what their ledger entries say.
    db = op.get_bind()
    rows = db.execute(sa.select(_RECORDS.c.id, _RECORDS.c.evidence).where(_RECORDS.c.evidence.is_not(None)))
    digests = [
        {"record": id, "digest": chain.digest(chain.canonical(evidence))} for id, evidence in rows if evidence
    ]
    if digests:
        db.execute(
            _RECORDS.update()
            .where(_RECORDS.c.id == sa.bindparam("record"))
            .values(evidence_sha256=sa.bindparam("digest")),
            digests,
        )


def downgrade() -> None:
    with op.batch_alter_table("consent_records", schema=None) as batch_op:
        batch_op.drop_column("evidence_sha256")
