"""A consent's evidence is the customer's data: sealed with their key, given back as it was, proven by its
digest, and unreadable once they are erased. Nothing new is recorded about an erased customer."""

from __future__ import annotations

import hashlib
import uuid

import rfc8785
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from harken.consent import proof
from harken.consent.models import ConsentRecord
from harken.subjects import vault
from harken.subjects.models import SubjectKey
from tests.factories import grant, org_client

EVIDENCE = {"form": "checkout-v2", "signed_by": "Priya Natarajan", "ip": "203.0.113.7"}


def test_evidence_is_stored_sealed_and_given_back_as_it_was(client: TestClient, session: Session) -> None:
    headers = org_client(client, session)
    record = grant(client, headers, "priya", evidence=EVIDENCE)
    assert record["evidence"] == EVIDENCE
    stored = session.execute(select(ConsentRecord.evidence)).scalar_one()
    assert vault.is_sealed(stored) and "Priya" not in str(stored)
    history = client.get("/v1/subjects/priya/consents/history", headers=headers).json()
    assert [r["evidence"] for r in history["items"]] == [EVIDENCE]

    receipt = client.get(record["receipt"], headers=headers).json()["receipt"]
    assert receipt["evidence_sha256"] == hashlib.sha256(rfc8785.dumps(EVIDENCE)).hexdigest()
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
    session.execute(
        update(ConsentRecord.__table__).where(ConsentRecord.id == second_id).values(evidence=moved)
    )
    problems = [f.problem for f in proof.audit(session)]
    assert problems == [
        f"consent record {second_id}: its evidence does not open (changed, or moved from another record)"
    ]

    # ... or removes it.
    session.execute(
        update(ConsentRecord.__table__).where(ConsentRecord.id == second_id).values(evidence=None)
    )
    assert [f.problem for f in proof.audit(session)] == [
        f"consent record {second['id']}: its evidence is missing"
    ]


def test_after_erasure_the_evidence_is_unreadable_and_the_proof_stays(
    client: TestClient, session: Session
) -> None:
    headers = org_client(client, session)
    record = grant(client, headers, "priya", evidence=EVIDENCE)
    assert client.delete("/v1/subjects/priya", headers=headers).json()["scope"] == "this-business"

    history = client.get("/v1/subjects/priya/consents/history", headers=headers).json()
    assert [r["evidence"] for r in history["items"]] == [None]
    receipt = client.get(record["receipt"], headers=headers).json()["receipt"]
    assert receipt["evidence_sha256"] == hashlib.sha256(rfc8785.dumps(EVIDENCE)).hexdigest()
    assert list(proof.audit(session)) == []


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
