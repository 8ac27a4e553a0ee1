"""verified identity: an email an org asserts is a claim on its own ref, a person is linked across orgs
only once they prove control of the address; customer and person tokens recorded so they can be revoked

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

Before this revision an org's asserted email joined its ref to whoever else was known by that email.
Such joins cannot be undone from the data (one subject's rows are sealed with one key), so subjects
that already have refs at several orgs stay one subject; their email becomes each ref's claim, and no
subject counts as verified until the person signs in and confirms.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import harken.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_subjects_person_id_subjects"), "subjects", ["person_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_subjects_person_id"), ["person_id"], unique=False)
    with op.batch_alter_table("subject_refs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_email_digest", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_subject_refs_claimed_email_digest"), ["claimed_email_digest"], unique=False
        )
    op.execute(
        "UPDATE subject_refs SET claimed_email_digest = "
        "(SELECT email_digest FROM subjects WHERE subjects.id = subject_refs.subject_id)"
    )
    op.execute("UPDATE subjects SET email_digest = NULL")
    op.create_table(
        "tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("ref", sa.String(length=128), nullable=True),
        sa.Column("created_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", harken.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", harken.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_tokens_org_id_orgs")),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.id"], name=op.f("fk_tokens_subject_id_subjects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokens")),
    )
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tokens_subject_id"), ["subject_id"], unique=False)
    with op.batch_alter_table("centre_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_centre_sessions_token_id_tokens"), "tokens", ["token_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("centre_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_centre_sessions_token_id_tokens"), type_="foreignkey")
        batch_op.drop_column("token_id")
    op.drop_table("tokens")
    with op.batch_alter_table("subject_refs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subject_refs_claimed_email_digest"))
        batch_op.drop_column("claimed_email_digest")
    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subjects_person_id"))
        batch_op.drop_constraint(batch_op.f("fk_subjects_person_id_subjects"), type_="foreignkey")
        batch_op.drop_column("person_id")
