"""A consent's evidence is the customer's data: sealed with their key, given back as it was, proven by its
digest keyed with that key, and unreadable once they are erased, when no guess of it can be tested against
the ledger any more. Nothing new is recorded about an erased customer."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, cast

import rfc8785
from fastapi.testclient import TestClient
from sqlalchemy import Table, select, text, update
from sqlalchemy.orm import Session

from harken import jws
from harken.consent import proof
from harken.consent import service as consent_service
from harken.consent.models import ConsentRecord
from harken.ledger import service as ledger_service
from harken.ledger.models import LedgerEntry
from harken.ledger.receipts import verify_receipt
from harken.ledger.service import Notary
from harken.subjects import service as subject_service
from harken.subjects import vault
from harken.subjects.models import SubjectKey
from tests.factories import T0, grant, make_org, org_client

RECORDS = cast(
    Table, ConsentRecord.__table__
)  # updated as a table: past the ORM, as someone with the database would

EVIDENCE = {"form": "checkout-v2", "signed_by": "Priya Natarajan", "ip": "203.0.113.7"}
PLAIN = hashlib.sha256(rfc8785.dumps(EVIDENCE)).hexdigest()  # what anyone guessing the evidence can compute


def no_plain_digest_in_the_ledger(session: Session) -> bool:
    return all(PLAIN not in body for body in session.execute(select(LedgerEntry.body)).scalars())


def test_evidence_is_stored_sealed_and_given_back_as_it_was(client: TestClient, session: Session) -> None:
    headers = org_client(client, session)
    record = grant(client, headers, "priya", evidence=EVIDENCE)
    assert record["evidence"] == EVIDENCE
    stored = session.execute(select(ConsentRecord.evidence)).scalar_one()
    assert vault.is_sealed(stored) and "Priya" not in str(stored)
    history = client.get("/v1/subjects/priya/consents/history", headers=headers).json()
    assert [r["evidence"] for r in history["items"]] == [EVIDENCE]

    signed = client.get(record["receipt"], headers=headers).json()
    receipt = verify_receipt(signed, signed_keys(client))  # the customer's check, with the public keys alone
    data_key = vault.data_key(session, session.execute(select(ConsentRecord.subject_id)).scalar_one())
    assert receipt["evidence_hmac"] == consent_service.evidence_digest(data_key, EVIDENCE)
    assert receipt["evidence_sha256"] is None and no_plain_digest_in_the_ledger(session)
    # The same decision with the same evidence is the same record; other evidence is a new one.
    body = {"status": "granted", "channels": ["email"], "evidence": EVIDENCE}
    again = client.put("/v1/subjects/priya/consents/marketing", headers=headers, json=body)
    assert (again.status_code, again.json()["id"]) == (200, record["id"])
    body["evidence"] = {**EVIDENCE, "form": "checkout-v3"}
    assert client.put("/v1/subjects/priya/consents/marketing", headers=headers, json=body).status_code == 201


def test_the_audit_opens_each_record_s_evidence_in_its_own_place(
    client: TestClient, session: Session
) -> None:
    headers = org_client(client, session)
    first = grant(client, headers, "priya", evidence=EVIDENCE)
    second = grant(client, headers, "priya", purpose="analytics", evidence={"form": "settings"})
    grant(client, headers, "sam")  # no evidence at all
    assert list(proof.audit(session)) == []

    # Someone with the database moves Priya's sealed evidence onto another of her records.
    first_id, second_id = uuid.UUID(first["id"]), uuid.UUID(second["id"])
    moved = session.execute(select(ConsentRecord.evidence).where(ConsentRecord.id == first_id)).scalar()
    session.execute(update(RECORDS).where(ConsentRecord.id == second_id).values(evidence=moved))
    problems = [f.problem for f in proof.audit(session)]
    assert problems == [
        f"consent record {second_id}: its evidence does not open (changed, or moved from another record)"
    ]

    # ... or removes it.
    session.execute(update(RECORDS).where(ConsentRecord.id == second_id).values(evidence=None))
    assert [f.problem for f in proof.audit(session)] == [
        f"consent record {second['id']}: its evidence is missing"
    ]


def test_after_erasure_the_evidence_is_unreadable_and_the_proof_stays(
    client: TestClient, session: Session
) -> None:
    headers = org_client(client, session)
    record = grant(client, headers, "priya", evidence=EVIDENCE)
    assert client.delete("/v1/subjects/priya", headers=headers).json()["scope"] == "this-business"

    # Reads about the erased ref show nothing (410); the record stays as proof, behind its receipt.
    assert client.get("/v1/subjects/priya/consents/history", headers=headers).status_code == 410
    signed = client.get(record["receipt"], headers=headers).json()
    receipt = verify_receipt(signed, signed_keys(client))
    assert receipt["evidence_hmac"] and receipt["evidence_sha256"] is None
    assert no_plain_digest_in_the_ledger(session)  # a guess of the evidence matches nothing kept
    assert list(proof.audit(session)) == []


def test_evidence_that_is_not_what_its_keyed_digest_says_is_named(
    client: TestClient, session: Session
) -> None:
    headers = org_client(client, session)
    record = grant(client, headers, "priya", evidence=EVIDENCE)
    record_id = uuid.UUID(record["id"])
    data_key = vault.data_key(session, session.execute(select(ConsentRecord.subject_id)).scalar_one())
    # Someone with the database and the hub's secret seals other evidence into the record's own place.
    other = vault.seal(data_key, {**EVIDENCE, "ip": "198.51.100.9"}, f"consent-evidence:{record_id}")
    session.execute(update(RECORDS).where(ConsentRecord.id == record_id).values(evidence=other))
    assert [f.problem for f in proof.audit(session)] == [
        f"consent record {record_id}: its evidence differs from its digest"
    ]


def test_evidence_recorded_before_keyed_digests_keeps_its_plain_digest_and_verifies(
    session: Session, notary: Notary
) -> None:
    """Entries hashed before migration 0012 carry `evidence_sha256` alone; they are never re-hashed."""
    org, _ = make_org(session)
    subject, _ = subject_service.register(session, org=org, ref="priya", now=T0)
    record_id = uuid.uuid4()
    data_key = vault.data_key(session, subject.subject_id, now=T0)
    older = ConsentRecord(
        id=record_id,
        org_id=org.id,
        subject_id=subject.subject_id,
        purpose="marketing",
        status="granted",
        channels=["email"],
        method="api",
        captured_at=T0,
        recorded_at=T0,
        evidence=vault.seal(data_key, EVIDENCE, f"consent-evidence:{record_id}"),
        evidence_sha256=PLAIN,
        chain=org.chain,
        seq=0,
    )
    data = consent_service.ledger_data(older)
    assert "evidence_hmac" not in data  # exactly the data such entries were hashed with
    older.seq = ledger_service.append(
        session, notary=notary, chain_id=org.chain, type=consent_service.LEDGER_TYPE, data=data, at=T0
    ).seq
    session.add(older)
    session.flush()
    assert list(proof.audit(session)) == []

    other = vault.seal(data_key, {"form": "forged"}, f"consent-evidence:{record_id}")
    session.execute(update(RECORDS).where(ConsentRecord.id == record_id).values(evidence=other))
    session.expire_all()
    assert [f.problem for f in proof.audit(session)] == [
        f"consent record {record_id}: its evidence differs from its digest"
    ]


def test_nothing_new_is_recorded_about_an_erased_customer(client: TestClient, session: Session) -> None:
    headers = org_client(client, session)
    grant(client, headers, "priya")
    subject_id = session.execute(select(ConsentRecord.subject_id)).scalar_one()
    assert client.delete("/v1/subjects/priya", headers=headers).json()["scope"] == "this-business"
    records = session.execute(text("SELECT count(*) FROM consent_records")).scalar_one()

    for method, path, body in (
        ("PUT", "/v1/subjects/priya/consents/marketing", {"status": "granted", "channels": ["sms"]}),
        ("PUT", "/v1/subjects/priya/consents/analytics", {"status": "denied", "evidence": {"form": "x"}}),
        ("PATCH", "/v1/subjects/priya/preferences", {"provenance": "observed", "interests": {"deals": 0.9}}),
        ("POST", "/v1/subjects/priya/events", {"type": "purchase", "item": "running-shoes"}),
    ):
        response = client.request(method, path, headers=headers, json=body)
        assert response.status_code == 410, (path, response.text)
        assert response.json()["type"] == "/problems/subject-erased"
    assert session.execute(text("SELECT count(*) FROM consent_records")).scalar_one() == records
    assert session.execute(select(SubjectKey).where(SubjectKey.subject_id == subject_id)).first() is None


def signed_keys(client: TestClient) -> dict[str, Any]:
    return jws.keys_from_jwks(client.get("/.well-known/jwks.json").json())
