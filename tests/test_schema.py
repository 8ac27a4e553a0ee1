"""The server and the CLI refuse a database that is not at this Harken's schema, in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from harken import schema
from tests.conftest import Database


def harken(*args: str, url: str, data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harken", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "HARKEN_DATABASE_URL": url,
            "HARKEN_DATA_DIR": str(data),
            "COLUMNS": "200",
        },
    )


@pytest.mark.slow  # `harken` processes
def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    done = harken("serve", "--port", "1", url=f"sqlite:///{tmp_path}/new.db", data=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0
    assert "is not migrated: run `harken db upgrade`" in done.stderr


@pytest.mark.slow  # `harken` processes
def test_serve_refuses_a_database_from_a_newer_harken(fresh_database: Database, tmp_path: Path) -> None:
    with fresh_database.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    done = harken("serve", "--port", "1", url=fresh_database.url, data=tmp_path)
    assert done.returncode == 1
    assert "has schema 9999, newer than this Harken knows" in done.stderr and "upgrade Harken" in done.stderr


@pytest.mark.slow  # `harken` processes
def test_db_upgrade_migrates_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/fresh.db"
    first = harken("db", "upgrade", url=url, data=tmp_path)
    again = harken("db", "upgrade", url=url, data=tmp_path)
    assert first.returncode == again.returncode == 0, first.stderr
    assert f"empty → {schema.head()}" in first.stdout and "already at" in again.stdout


def test_the_models_and_the_migrations_agree(database: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from harken.models import Base

    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_migration_0008_gives_earlier_records_the_digest_of_their_evidence(tmp_path: Path) -> None:
    """Records from before 0008 hold their evidence in clear; their ledger entries name its sha256,
    which the record must now carry itself (the audit compares it)."""
    from alembic import command
    from sqlalchemy import create_engine

    from harken.ledger import chain

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")  # no foreign keys: a record alone will do
    config = schema._config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
        for n, evidence in enumerate(('{"form": "checkout-v2", "ip": "203.0.113.7"}', "null")):
            connection.execute(
                text(
                    "INSERT INTO consent_records (id, org_id, subject_id, purpose, status, channels, method, "
                    "captured_at, recorded_at, evidence, chain, seq) VALUES (:id, :org, :subject, 'marketing', "
                    "'granted', '[]', 'api', '2026-01-01', '2026-01-01', :evidence, 'org:x', :seq)"
                ),
                {"id": f"{n:032x}", "org": "0" * 32, "subject": "0" * 32, "evidence": evidence, "seq": n + 1},
            )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        digests = connection.execute(text("SELECT evidence_sha256 FROM consent_records ORDER BY seq")).all()
    given = {"form": "checkout-v2", "ip": "203.0.113.7"}
    assert [d for (d,) in digests] == [chain.digest(chain.canonical(given)), None]
