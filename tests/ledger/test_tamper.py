"""Tampering with the stored ledger or consent tables, directly in the database, is detected by
`harken ledger verify`, which names the first bad entry; what the database alone cannot show (a
consistent rewrite of what no signed checkpoint in it covers) is detected against heads kept elsewhere
(`--witness`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text
from typer.testing import CliRunner

from harken.cli import app as cli
from harken.config import Settings
from harken.consent import service as consent_service
from harken.consent.schemas import ConsentPut, Status
from harken.db import make_session_factory, session_scope
from harken.ledger import chain, keys
from harken.ledger import service as ledger_service
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


def verify(settings: Settings, *options: str) -> tuple[int, str]:
    env = {
        "HARKEN_DATABASE_URL": settings.database_url,
        "HARKEN_DATA_DIR": str(settings.data_dir),
        "HARKEN_CHECKPOINT_EVERY": str(settings.checkpoint_every),
    }
    result = CliRunner().invoke(cli, ["ledger", "verify", *options], env=env)
    return result.exit_code, " ".join(result.output.split())  # as read, whatever the terminal's width


def sql(*statements: str) -> Tamper:
    def tamper(connection: Connection, chain_id: str) -> None:
        for statement in statements:
            connection.execute(text(statement), {"chain": chain_id})

    return tamper


def rewrite(seq: int, *, drop_checkpoints_from: int, **change: Any) -> Tamper:
    """What someone with write access to the database, but not the hub's key, can do: change entry `seq`
    (`change` merged into its stated fields; `data` merged into its data, and into its consent record so
    that the record still matches), re-hash it and every later entry, fix the head, and delete the
    checkpoints from `drop_checkpoints_from` on, which would no longer match."""

    def tamper(connection: Connection, chain_id: str) -> None:
        at = {"chain": chain_id, "seq": seq}
        head = connection.execute(
            text("SELECT hash FROM ledger_entries WHERE chain = :chain AND seq = :seq - 1"), at
        ).scalar()
        stored = connection.execute(
            text("SELECT seq, body FROM ledger_entries WHERE chain = :chain AND seq >= :seq ORDER BY seq"), at
        ).all()
        head = head or chain.GENESIS
        for position, body in stored:
            stated = json.loads(body)
            if position == seq:
                stated = {**stated, **change, "data": {**stated["data"], **change.get("data", {})}}
            entry = chain.next_entry(
                chain=chain_id,
                head_seq=position - 1,
                head_hash=head,
                type=stated["type"],
                at=stated["at"],
                data=stated["data"],
            )
            connection.execute(
                text(
                    "UPDATE ledger_entries SET type = :type, prev_hash = :prev, hash = :hash, body = :body"
                    " WHERE chain = :chain AND seq = :seq"
                ),
                {
                    **at,
                    "seq": position,
                    "type": stated["type"],
                    "prev": head,
                    "hash": entry.hash,
                    "body": entry.body.decode(),
                },
            )
            head = entry.hash
        for column, value in change.get("data", {}).items():
            connection.execute(
                text(f"UPDATE consent_records SET {column} = :value WHERE chain = :chain AND seq = :seq"),
                {**at, "value": value},
            )
        connection.execute(
            text("UPDATE ledger_heads SET hash = :hash WHERE chain = :chain"), {**at, "hash": head}
        )
        connection.execute(
            text("DELETE FROM ledger_checkpoints WHERE chain = :chain AND seq >= :seq"),
            {**at, "seq": drop_checkpoints_from},
        )

    return tamper


def apply(database: Database, chain_id: str, tamper: Tamper) -> None:
    with database.engine.connect() as connection:
        if (
            database.backend == "postgresql"
        ):  # let the tamperer bypass foreign keys, as an attacker with the DB could
            connection.execute(text("SET session_replication_role = replica"))
        else:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        tamper(connection, chain_id)
        connection.commit()


def kept_heads(database: Database) -> list[Mapping[str, Any]]:
    """Every head the hub signed, as the `ledger.checkpoint` webhook delivered them to the org (who kept them)."""
    with database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT chain, seq, hash, jws FROM ledger_checkpoints ORDER BY chain, seq")
        )
        return [chain.signed_head(chain.Checkpoint(*row)) for row in rows]


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
    "only the type column of an entry changed": (
        sql("UPDATE ledger_entries SET type = 'profile.changed' WHERE chain = :chain AND seq = 4"),
        "entry 4 was altered: its stored chain, seq or type ('profile.changed') is not what its hashed body states",
    ),
    "every checkpoint deleted, an entry and its record rewritten, the chain re-hashed and its head fixed": (
        rewrite(4, drop_checkpoints_from=1, data={"status": "granted"}),
        "entry 5 has no signed checkpoint, though the hub signs one every 5 entries",
    ),
    "an entry's type rewritten, the chain re-hashed from there and the later checkpoints deleted": (
        rewrite(7, drop_checkpoints_from=7, type="profile.changed"),
        "entry 10 has no signed checkpoint",
    ),
    "an entry's time rewritten, the chain re-hashed from there and the later checkpoints deleted": (
        rewrite(3, drop_checkpoints_from=3, at="2026-01-01T00:00:00Z"),
        "entry 5 has no signed checkpoint",
    ),
    "one checkpoint deleted": (
        sql("DELETE FROM ledger_checkpoints WHERE chain = :chain AND seq = 5"),
        "entry 5 has no signed checkpoint",
    ),
    "the last checkpoint deleted": (
        sql("DELETE FROM ledger_checkpoints WHERE chain = :chain AND seq = 10"),
        "entry 10 has no signed checkpoint",
    ),
    "a checkpoint moved to another chain": (
        sql("UPDATE ledger_checkpoints SET chain = 'centre' WHERE chain = :chain AND seq = 5"),
        "checkpoint at entry 5 does not match what its signature covers",
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
    apply(database, chain_id, tamper)
    code, output = verify(settings)
    assert code == 1, output
    assert expected in output, output


# What the database alone cannot show: consistent rewrites of what no checkpoint left in it covers.
# Each is done after `harken ledger checkpoint` signed the head (entry 12), whose checkpoint the
# tamperer deletes with the rest: only a copy kept elsewhere remembers it.
UNSEEN: dict[str, tuple[Tamper, str]] = {
    "an entry after the last periodic checkpoint rewritten, re-hashed, head fixed": (
        rewrite(11, drop_checkpoints_from=11, data={"status": "granted"}),
        "first bad entry 12: entry 12 differs from the signed head kept at that position",
    ),
    "the tail truncated with its checkpoints and records, head fixed": (
        sql(
            "DELETE FROM ledger_entries WHERE chain = :chain AND seq > 7",
            "DELETE FROM consent_current WHERE record_id IN"
            " (SELECT id FROM consent_records WHERE chain = :chain AND seq > 7)",
            "DELETE FROM consent_records WHERE chain = :chain AND seq > 7",
            "DELETE FROM ledger_checkpoints WHERE chain = :chain AND seq > 7",
            "UPDATE ledger_heads SET seq = 7, hash = (SELECT hash FROM ledger_entries WHERE chain = :chain"
            " AND seq = 7) WHERE chain = :chain",
        ),
        "first bad entry 8: the ledger ends at entry 7, but a signed head kept elsewhere covers entry 12",
    ),
    "a whole chain deleted, with its records": (
        sql(
            "DELETE FROM consent_current",
            "DELETE FROM consent_records WHERE chain = :chain",
            "DELETE FROM ledger_entries WHERE chain = :chain",
            "DELETE FROM ledger_checkpoints WHERE chain = :chain",
            "DELETE FROM ledger_heads WHERE chain = :chain",
        ),
        "first bad entry 1: the database holds no entry of this chain, but a signed head kept elsewhere covers"
        " entry 12",
    ),
}


@pytest.mark.parametrize("case", UNSEEN, ids=list(UNSEEN))
def test_a_consistent_rewrite_passes_the_database_alone_and_fails_against_kept_heads(
    ledger_db: tuple[Database, Settings, str], case: str, tmp_path: Path
) -> None:
    database, settings, chain_id = ledger_db
    checkpointed = CliRunner().invoke(
        cli,
        ["ledger", "checkpoint"],
        env={"HARKEN_DATABASE_URL": settings.database_url, "HARKEN_DATA_DIR": str(settings.data_dir)},
    )
    assert "signed" in checkpointed.output, checkpointed.output
    witness = tmp_path / "heads.jsonl"
    witness.write_text("".join(json.dumps(head) + "\n" for head in kept_heads(database)))
    assert verify(settings, "--witness", str(witness))[0] == 0

    tamper, expected = UNSEEN[case]
    apply(database, chain_id, tamper)
    code, output = verify(settings)
    assert code == 0, output  # the limit of what a database can say about itself
    code, output = verify(settings, "--witness", str(witness))
    assert code == 1, output
    assert f"✗ {chain_id}: {expected}" in output, output


def test_kept_heads_verify_as_the_endpoint_lists_them(
    ledger_db: tuple[Database, Settings, str], tmp_path: Path
) -> None:
    database, settings, chain_id = ledger_db
    with session_scope(make_session_factory(database.engine)) as session:  # as the org's key lists them
        listed = {"heads": ledger_service.heads(session, org_id=ledger_service.org_of(chain_id))}
    assert [h["seq"] for h in listed["heads"]] == [10]
    witness = tmp_path / "heads.json"
    witness.write_text(json.dumps(listed))
    code, output = verify(settings, "--witness", str(witness))
    assert code == 0, output
    assert "12 entries, 2 signed checkpoints, 1 kept heads matched" in output
    assert "The ledger verifies, against 1 kept heads." in output


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({"hash": "ab" * 32}, "kept head at entry 10 does not match what its signature covers"),
        ({"jws": "e30.e30.e30"}, "kept head at entry 10: "),
        ({"chain": "org:else"}, "kept head at entry 10 does not match what its signature covers"),
    ],
)
def test_a_kept_head_not_as_the_hub_signed_it_fails(
    ledger_db: tuple[Database, Settings, str], tmp_path: Path, edit: dict[str, str], expected: str
) -> None:
    database, settings, _ = ledger_db
    head = {**kept_heads(database)[-1], **edit}
    witness = tmp_path / "heads.json"
    witness.write_text(json.dumps([head]))
    code, output = verify(settings, "--witness", str(witness))
    assert code == 1 and expected in output, output


def test_a_witness_file_that_holds_no_heads_is_refused(
    ledger_db: tuple[Database, Settings, str], tmp_path: Path
) -> None:
    witness = tmp_path / "heads.json"
    witness.write_text("{not json")
    code, output = verify(ledger_db[1], "--witness", str(witness))
    assert code == 1 and "is not a file of signed heads" in output, output
