"""The audit compares each consent record with its ledger entry on the entry's bytes, and again field by
field on the loaded record where the bytes differ: a value stored in another spelling is no finding, a
changed value is."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from harken.consent import proof
from tests.factories import grant, org_client


def test_a_record_stored_in_another_spelling_of_its_values_is_no_finding(
    client: TestClient, session: Session
) -> None:
    headers = org_client(client, session)
    grant(client, headers, "priya", channels=["email", "sms"])
    grant(client, headers, "sam")
    # The same channels, spaced otherwise; on SQLite (which keeps ids as text) the same id in capitals.
    session.execute(text("""UPDATE consent_records SET channels = '[ "email" ,"sms" ]' WHERE seq = 1"""))
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA defer_foreign_keys = ON"))  # checked at commit: never here
        session.execute(text("UPDATE consent_records SET subject_id = UPPER(subject_id) WHERE seq = 2"))
    assert list(proof.audit(session)) == []


def test_a_changed_value_is_a_finding_once(client: TestClient, session: Session) -> None:
    headers = org_client(client, session)
    grant(client, headers, "priya")
    record = grant(client, headers, "sam")
    session.execute(text("""UPDATE consent_records SET channels = '["sms"]' WHERE seq = 2"""))
    assert [(f.seq, f.problem) for f in proof.audit(session)] == [
        (2, f"consent record {record['id']} differs from its ledger entry")
    ]
