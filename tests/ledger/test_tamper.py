"""Tampering with the stored ledger or consent tables, directly in the database, is detected by
`harken ledger verify`, which names the first bad entry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from typer.testing import CliRunner

from harken.cli import app as cli
from harken.config import Settings
from harken.consent import service as consent_service
from harken.consent.schemas import ConsentPut, Status
from harken.db import make_session_factory, session_scope
from harken.ledger import keys
from harken.ledger.service import Notary
from harken.orgs import service as org_service
from harken.subjects import service as subject_service
from harken.subjects import tokens, vault
from tests.conftest import Database
from tests.factories import T0, FixedClock

Tamper = Callable[[Connection, str], None]


@pytest.fixture
def ledger_db(fresh_database: Database, tmp_path: Path) -> tuple[Database, Settings, str]:
    """12 consent changes on one org's chain (checkpoints every 5 entries), committed."""
    settings = Settings(database_url=fresh_database.url, data_dir=tmp_path / "data", checkpoint_every=5)
    notary = Notary(keys.load_or_create(settings.keys_dir), settings.checkpoint_every)
    clock = FixedClock()
    with session_scope(make_session_factory(fresh_database.engine)) as session:
        vault.bind(session, tokens.load_or_create_secret(settings.data_dir / "secret"))
        org, _ = org_service.create(session, name="Skyway Airlines", now=T0)
        for n in range(12):
            ref = f"cust-{n % 3}"
            subject_service.register(session, org=org, ref=ref, now=clock())
            status = Status.granted if (n // 3) % 2 == 0 else Status.withdrawn
            consent_service.record(
                session,
                org=org,
                ref=ref,
                purpose="marketing",
                change=ConsentPut(status=status, channels=[]),
                notary=notary,
                now=clock.advance(minutes=1),
            )
        chain_id = org.chain
    return fresh_database, settings, chain_id


def verify(settings: Settings) -> tuple[int, str]:
    env = {"HARKEN_DATABASE_URL": settings.database_url, "HARKEN_DATA_DIR": str(settings.data_dir)}
    result = CliRunner().invoke(cli, ["ledger", "verify"], env=env)
    return result.exit_code, " ".join(result.output.split())  # as read, whatever the terminal's width


def sql(*statements: str) -> Tamper:
    def tamper(connection: Connection, chain_id: str) -> None:
        for statement in statements:
            connection.execute(text(statement), {"chain": chain_id})

    return tamper


CASES: dict[str, tuple[Tamper, str]] = {
    "a field of a ledger entry changed": (
        sql(
            "UPDATE ledger_entries SET body = REPLACE(body, 'withdrawn', 'granted') WHERE chain = :chain AND seq = 4"
        ),
        "entry 4 was altered",
    ),
    "a field of a consent record changed": (
        sql("UPDATE consent_records SET status = 'granted' WHERE chain = :chain AND seq = 5"),
        "entry 5: consent record",
    ),
    "a ledger entry deleted": (
        sql("DELETE FROM ledger_entries WHERE chain = :chain AND seq = 3"),
        "entry 3 is missing",
    ),
    "an old consent record deleted": (
        sql("DELETE FROM consent_records WHERE chain = :chain AND seq = 2"),
        "the consent record of ledger entry 2 is missing",
    ),
    "a consent record inserted without a ledger entry": (
        sql(
            "INSERT INTO consent_records (id, org_id, subject_id, purpose, status, channels, method, captured_at,"
            " recorded_at, chain, seq) SELECT '00000000-0000-4000-8000-000000000001', org_id, subject_id, purpose,"
            " 'granted', channels, method, captured_at, recorded_at, chain, 99"
            " FROM consent_records WHERE chain = :chain AND seq = 1"
        ),
        "has no ledger entry",
    ),
    "a ledger entry inserted after the head": (
        sql(
            "INSERT INTO ledger_entries (chain, seq, type, prev_hash, hash, body)"
            " SELECT chain, 13, type, hash, hash, body FROM ledger_entries WHERE chain = :chain AND seq = 12"
        ),
        "entry 13",
    ),
    "two entries reordered": (
        sql(
            "UPDATE ledger_entries SET seq = -1 WHERE chain = :chain AND seq = 6",
            "UPDATE ledger_entries SET seq = 6 WHERE chain = :chain AND seq = 7",
            "UPDATE ledger_entries SET seq = 7 WHERE chain = :chain AND seq = -1",
        ),
        "entry 6",
    ),
    "the tail truncated, head and all": (
        sql(
            "DELETE FROM ledger_entries WHERE chain = :chain AND seq > 8",
            "DELETE FROM ledger_checkpoints WHERE chain = :chain AND seq > 10",
            "UPDATE ledger_heads SET seq = 8, hash = (SELECT hash FROM ledger_entries WHERE chain = :chain"
            " AND seq = 8) WHERE chain = :chain",
        ),
        "checkpoint covers entry 10",
    ),
    "the tail truncated after the last checkpoint": (
        sql("DELETE FROM ledger_entries WHERE chain = :chain AND seq > 11"),
        "recorded head is entry 12",
    ),
    "a checkpoint moved to a forged hash": (
        sql(
            # another first hex digit, whatever it was (a hash starting with 'f' once made this a no-op)
            "UPDATE ledger_checkpoints SET hash = CASE WHEN SUBSTR(hash, 1, 1) = 'f' THEN '0' ELSE 'f' END"
            " || SUBSTR(hash, 2) WHERE chain = :chain AND seq = 5"
        ),
        "checkpoint at entry 5",
    ),
}


def test_an_untouched_ledger_verifies(ledger_db: tuple[Database, Settings, str]) -> None:
    code, output = verify(ledger_db[1])
    assert code == 0, output
    assert "12 entries, 2 signed checkpoints" in output and "The ledger verifies." in output


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_tampering_is_detected_and_the_first_bad_entry_named(
    ledger_db: tuple[Database, Settings, str], case: str
) -> None:
    database, settings, chain_id = ledger_db
    tamper, expected = CASES[case]
    with database.engine.connect() as connection:
        if (
            database.backend == "postgresql"
        ):  # let the tamperer bypass foreign keys, as an attacker with the DB could
            connection.execute(text("SET session_replication_role = replica"))
        else:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        tamper(connection, chain_id)
        connection.commit()
    code, output = verify(settings)
    assert code == 1, output
    assert expected in output, output
