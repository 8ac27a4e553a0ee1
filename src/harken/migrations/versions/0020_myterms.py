"""myterms: the agreements each org says it accepts, and the terms people proffer to businesses with
each business's answer; a proffer's change bumps the person's change counter (0015), since accepted
terms are hard gates of their decisions

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import harken.db

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENTS = ("INSERT", "UPDATE", "DELETE")
WATCHED = ("terms_proffers",)  # the tables this revision adds to 0015's WATCHED
# As 0015's BY_SUBJECT: the person whose counter a changed proffer bumps.
BY_SUBJECT = "SELECT coalesce(s.person_id, s.id) FROM subjects s WHERE s.id = {row}.subject_id"


def upgrade() -> None:
    op.create_table(
        "terms_published",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("agreement", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_terms_published_org_id_orgs")),
        sa.PrimaryKeyConstraint("org_id", "agreement", name=op.f("pk_terms_published")),
    )
    op.create_table(
        "terms_proffers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("agreement", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("alternative", sa.String(length=32), nullable=True),
        sa.Column("alternative_version", sa.Integer(), nullable=True),
        sa.Column("proffered_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", harken.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.Uuid(), nullable=True),
        sa.Column("withdrawn_at", harken.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("proffer_jws", sa.Text(), nullable=False),
        sa.Column("chain", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_terms_proffers_org_id_orgs")),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_terms_proffers_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terms_proffers")),
    )
    op.create_index("ix_terms_proffers_org_subject", "terms_proffers", ["org_id", "subject_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for event in EVENTS:  # 0015's function: the statement's changed rows name the people to bump
            side = "OLD" if event == "DELETE" else "NEW"
            op.execute(
                f"CREATE TRIGGER bump_terms_proffers_{event.lower()} AFTER {event} ON terms_proffers "
                f"REFERENCING {side} TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION harken_bump_by_subject()"
            )
    else:
        for event in EVENTS:
            row = "OLD" if event == "DELETE" else "NEW"
            keys = BY_SUBJECT.format(row=row).replace("SELECT ", "SELECT 1 AS version, ", 1)
            op.execute(
                f"CREATE TRIGGER bump_terms_proffers_{event.lower()} AFTER {event} ON terms_proffers BEGIN "
                f"INSERT INTO change_counters (version, id) {keys} "
                "ON CONFLICT (id) DO UPDATE SET version = change_counters.version + 1; END"
            )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for event in EVENTS:
        op.execute(
            f"DROP TRIGGER bump_terms_proffers_{event.lower()}" + (" ON terms_proffers" if postgresql else "")
        )
    op.drop_index("ix_terms_proffers_org_subject", table_name="terms_proffers")
    op.drop_table("terms_proffers")
    op.drop_table("terms_published")
