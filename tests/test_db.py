"""Storage helpers, on both databases; the SQLite files at rest."""

from __future__ import annotations

import os
import stat
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from harken.cli import app as cli
from harken.consent.models import ConsentRecord
from harken.db import COPY_FROM, create_db_engine, insert_many
from harken.subjects.models import Subject
from tests.factories import T0, make_org
from tests.live import serve


@pytest.mark.parametrize("rows", [COPY_FROM - 1, COPY_FROM + 50])
def test_insert_many_stores_each_value_as_an_insert_would(session: Session, rows: int) -> None:
    """Below COPY_FROM rows an INSERT, from it on the bulk way (PostgreSQL's COPY, SQLite's executemany
    through the column types' own bind processors): the same rows come back either way, JSON lists and
    objects, times with their zone, and empty values."""
    org, _ = make_org(session)
    person = uuid.uuid4()
    insert_many(
        session.connection(),
        Subject,
        [{"id": person, "created_at": T0, "email_digest": None, "erased_at": None}],
    )
    written = [
        {
            "id": uuid.uuid4(),
            "org_id": org.id,
            "subject_id": person,
            "purpose": "marketing",
            "status": "granted",
            "channels": ["email", "sms"][: n % 3],
            "notice_version": n % 2 or None,
            "notice_sha256": "ab" * 32 if n % 2 else None,
            "method": "import",
            "captured_at": T0 + timedelta(seconds=n),
            "expires_at": T0 + timedelta(days=n) if n % 4 == 0 else None,
            "recorded_at": T0,
            "evidence": {
                "import": {"file_sha256": "cd" * 32, "line": n, "note": 'tab\there, quote " and ünïcödé'}
            },
            "evidence_sha256": "ef" * 32,
            "evidence_hmac": None,
            "chain": "org:test",
            "seq": n + 1,
        }
        for n in range(rows)
    ]
    insert_many(session.connection(), ConsentRecord, written)
    session.expire_all()
    stored = session.execute(select(ConsentRecord).order_by(ConsentRecord.seq)).scalars().all()
    read = [{c.key: getattr(r, c.key) for c in ConsentRecord.__table__.columns} for r in stored]
    assert read == written


@pytest.mark.parametrize("rows", [1, COPY_FROM + 50])
def test_none_in_a_json_column_is_sql_null_whichever_way_the_rows_go(session: Session, rows: int) -> None:
    """One row goes as an INSERT, 150 the bulk way (PostgreSQL's COPY, SQLite's executemany): either
    way an empty evidence is SQL NULL, as `evidence IS NULL` (migration 0008's reader) expects, not the
    JSON value null; and so is one the ORM adds."""
    org, _ = make_org(session)
    person = uuid.uuid4()
    subject = {"id": person, "created_at": T0, "email_digest": None, "erased_at": None}
    insert_many(session.connection(), Subject, [subject])
    record = {
        "org_id": org.id,
        "subject_id": person,
        "purpose": "marketing",
        "status": "granted",
        "channels": ["email"],
        "notice_version": None,
        "notice_sha256": None,
        "method": "import",
        "captured_at": T0,
        "expires_at": None,
        "recorded_at": T0,
        "evidence_sha256": None,
        "evidence_hmac": None,
        "chain": "org:test",
    }
    written = [
        {**record, "id": uuid.uuid4(), "seq": n + 1, "evidence": {"line": n} if n % 2 else None}
        for n in range(rows)
    ]
    insert_many(session.connection(), ConsentRecord, written)
    session.add(ConsentRecord(**{**record, "id": uuid.uuid4(), "seq": rows + 1, "evidence": None}))
    session.flush()

    nulls = session.execute(select(func.count()).where(ConsentRecord.evidence.is_(None))).scalar_one()
    empty = sum(1 for row in written if row["evidence"] is None) + 1
    assert nulls == empty
    kept = session.execute(select(ConsentRecord.evidence).where(ConsentRecord.evidence.is_not(None)))
    assert sorted(e["line"] for (e,) in kept) == [n for n in range(rows) if n % 2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.slow  # a real server process
def test_the_database_its_wal_and_the_hubs_keys_are_readable_by_the_hubs_user_alone(tmp_path: Path) -> None:
    """`harken db upgrade` creates the SQLite file (and its directory) owner-only; the -wal and -shm
    files a serving hub's writes create get the same mode; the signing keys and the secret are 0600."""
    database, data = tmp_path / "store" / "harken.db", tmp_path / "data"
    url = f"sqlite:///{database}"
    upgraded = CliRunner().invoke(
        cli, ["db", "upgrade"], env={"HARKEN_DATABASE_URL": url, "HARKEN_DATA_DIR": str(data)}
    )
    assert upgraded.exit_code == 0, upgraded.output
    assert mode(database) == 0o600 and mode(database.parent) == 0o700
    with serve(url, data) as hub:
        hub.create_org("Skyway Airlines").put("/v1/subjects/c1").raise_for_status()
        stored = {path.name: mode(path) for path in database.parent.iterdir()}
    assert stored == dict.fromkeys(
        ["harken.db", "harken.db-wal", "harken.db-shm", "harken.db-writer.lock"], 0o600
    )
    kept = {str(path.relative_to(data)): mode(path) for path in data.rglob("*") if path.is_file()}
    assert "secret" in kept and any(name.endswith(".pem") for name in kept)
    assert set(kept.values()) == {0o600}, kept


def test_a_new_database_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    """The mode is given when the file is created, not taken from the process's umask (nor set after)."""
    before = os.umask(0)
    try:
        engine = create_db_engine(f"sqlite:///{tmp_path / 'h.db'}")
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x)")
        stored = {path.name: mode(path) for path in tmp_path.iterdir()}
        engine.dispose()
    finally:
        os.umask(before)
    assert stored == dict.fromkeys(["h.db", "h.db-wal", "h.db-shm", "h.db-writer.lock"], 0o600)


def test_an_existing_database_keeps_the_mode_its_operator_gave_it(tmp_path: Path) -> None:
    database = tmp_path / "h.db"
    database.touch(mode=0o640)
    database.chmod(0o640)
    create_db_engine(f"sqlite:///{database}").dispose()
    assert mode(database) == 0o640
