"""change counters: one per person and one per org catalogue, bumped by the database itself in the
same transaction as any write that changes what a decision may see, so a process may keep decision
inputs in memory and know with one read whether they still hold

Triggers, not application code: every path that writes (API, centre, CLI, worker, bulk import, COPY)
bumps, and a path added later cannot forget to. A person's counter is keyed by their root subject
(`coalesce(subjects.person_id, subjects.id)`); an org catalogue's by the org's id.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table → how a changed row names the counter's key. `{row}` is NEW or OLD (SQLite, per row) or the
# statement's transition table `changed` (PostgreSQL).
BY_SUBJECT = "SELECT coalesce(s.person_id, s.id) FROM subjects s WHERE s.id = {row}.subject_id"
BY_SHARE = (
    "SELECT coalesce(s.person_id, s.id) FROM shares sh JOIN subjects s ON s.id = sh.subject_id "
    "WHERE sh.id = {row}.share_id"
)
BY_ORG = "SELECT {row}.org_id WHERE true"
WATCHED: dict[str, tuple[str, tuple[str, ...]]] = {
    "consent_current": (BY_SUBJECT, ("INSERT", "UPDATE", "DELETE")),
    "facts": (BY_SUBJECT, ("INSERT", "UPDATE", "DELETE")),
    "sharing": (BY_SUBJECT, ("INSERT", "UPDATE", "DELETE")),
    "events": (BY_SUBJECT, ("INSERT", "UPDATE", "DELETE")),
    "decision_feedback": (BY_SUBJECT, ("INSERT", "UPDATE", "DELETE")),
    "shares": (BY_SUBJECT, ("INSERT", "UPDATE", "DELETE")),
    "share_grants": (BY_SHARE, ("INSERT", "UPDATE", "DELETE")),
    "subject_keys": (BY_SUBJECT, ("DELETE",)),  # erasure destroys the key
    "offers": (BY_ORG, ("INSERT", "UPDATE", "DELETE")),
}
BUMP = "INSERT INTO change_counters (id, version) {keys} ON CONFLICT (id) DO UPDATE SET version = change_counters.version + 1"


def upgrade() -> None:
    op.create_table(
        "change_counters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_counters")),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql()
    else:
        _sqlite()


def _sqlite() -> None:
    for table, (key, events) in WATCHED.items():
        for event in events:
            row = "OLD" if event == "DELETE" else "NEW"
            keys = key.format(row=row).replace("SELECT ", "SELECT 1 AS version, ", 1)
            _sqlite_trigger(f"{table}_{event.lower()}", f"AFTER {event} ON {table}", keys)
    # Linking, unlinking and erasure: the subject's old person and its new one.
    for row in ("OLD", "NEW"):
        keys = f"SELECT 1 AS version, coalesce({row}.person_id, {row}.id) WHERE true"
        _sqlite_trigger(
            f"subjects_update_{row.lower()}", "AFTER UPDATE OF person_id, erased_at ON subjects", keys
        )


def _sqlite_trigger(name: str, when: str, keys: str) -> None:
    # SQLite's INSERT … SELECT names columns by position: (version, id) here.
    bump = BUMP.replace("(id, version)", "(version, id)").format(keys=keys)
    op.execute(f"CREATE TRIGGER bump_{name} {when} BEGIN {bump}; END")


def _postgresql() -> None:
    for name, key in (("subject", BY_SUBJECT), ("share", BY_SHARE), ("org", BY_ORG)):
        keys = (
            f"SELECT DISTINCT k, 1 FROM changed, LATERAL ({key.format(row='changed')}) AS found(k) ORDER BY 1"
        )
        op.execute(
            f"CREATE FUNCTION harken_bump_by_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {BUMP.format(keys=keys)}; RETURN NULL; END $$"
        )
    for table, (key, events) in WATCHED.items():
        name = {BY_SUBJECT: "subject", BY_SHARE: "share", BY_ORG: "org"}[key]
        for event in events:
            side = "OLD" if event == "DELETE" else "NEW"
            op.execute(
                f"CREATE TRIGGER bump_{table}_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {side} TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION harken_bump_by_{name}()"
            )
    # Linking, unlinking and erasure: the old person and the new one of every subject whose link or
    # erasure changed (a column list cannot go with transition tables: the function compares).
    keys = (
        "SELECT DISTINCT k, 1 FROM before JOIN after ON after.id = before.id, "
        "LATERAL (VALUES (coalesce(before.person_id, before.id)), (coalesce(after.person_id, after.id))) AS found(k) "
        "WHERE before.person_id IS DISTINCT FROM after.person_id OR before.erased_at IS DISTINCT FROM after.erased_at "
        "ORDER BY 1"
    )
    op.execute(
        "CREATE FUNCTION harken_bump_by_subject_update() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {BUMP.format(keys=keys)}; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER bump_subjects_update AFTER UPDATE ON subjects REFERENCING OLD TABLE AS before "
        "NEW TABLE AS after FOR EACH STATEMENT EXECUTE FUNCTION harken_bump_by_subject_update()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, (_key, events) in WATCHED.items():
            for event in events:
                op.execute(f"DROP TRIGGER bump_{table}_{event.lower()} ON {table}")
        op.execute("DROP TRIGGER bump_subjects_update ON subjects")
        for name in ("subject", "share", "org", "subject_update"):
            op.execute(f"DROP FUNCTION harken_bump_by_{name}()")
    else:
        for table, (_key, events) in WATCHED.items():
            for event in events:
                op.execute(f"DROP TRIGGER bump_{table}_{event.lower()}")
        for row in ("old", "new"):
            op.execute(f"DROP TRIGGER bump_subjects_update_{row}")
    op.drop_table("change_counters")
