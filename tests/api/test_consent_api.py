"""The org API for subjects, notices, consents and receipts, over both databases."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harken import jws
from harken.consent.models import ConsentRecord
from harken.ledger.models import LedgerEntry
from harken.ledger.receipts import verify_receipt
from tests.factories import FixedClock, grant, org_client


def count(session: Session, model: Any) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_every_org_call_needs_a_known_key(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer hk_nope"}, {"Authorization": "Basic abc"}):
        response = client.put("/v1/subjects/c1", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 401


def test_registering_a_subject_is_idempotent(client: TestClient, session: Session) -> None:
    headers = org_client(client, session)
    first = client.put("/v1/subjects/cust-1", headers=headers)
    again = client.put("/v1/subjects/cust-1", headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["created_at"] == again.json()["created_at"]


def test_a_consent_is_recorded_with_its_ledger_position_and_current_state(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    headers = org_client(client, session)
    client.put("/v1/notices/marketing", headers=headers, json={"text": "May we email you offers?"})
    record = grant(client, headers, "cust-1", channels=["sms", "email"], evidence={"form": "checkout-v2"})
    assert record["status"] == "granted" and record["channels"] == ["email", "sms"]
    assert record["notice"]["version"] == 1 and record["ledger"]["seq"] == 1
    assert record["method"] == "api" and record["receipt"] == f"/v1/receipts/{record['id']}"

    state = client.get("/v1/subjects/cust-1/consents", headers=headers).json()
    assert [(c["purpose"], c["status"]) for c in state["consents"]] == [("marketing", "granted")]


def test_the_same_decision_sent_again_writes_nothing(client: TestClient, session: Session) -> None:
    headers = org_client(client, session)
    first = grant(client, headers, "cust-1")
    again = client.put(
        "/v1/subjects/cust-1/consents/marketing",
        headers=headers,
        json={"status": "granted", "channels": ["email"]},
    )
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    assert count(session, ConsentRecord) == 1


def test_withdrawal_replaces_the_current_state_and_history_keeps_both(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    headers = org_client(client, session)
    grant(client, headers, "cust-1")
    clock.advance(minutes=8)
    withdrawn = client.put(
        "/v1/subjects/cust-1/consents/marketing", headers=headers, json={"status": "withdrawn"}
    )
    assert withdrawn.status_code == 201
    state = client.get("/v1/subjects/cust-1/consents", headers=headers).json()
    assert state["consents"][0]["status"] == "withdrawn"
    history = client.get("/v1/subjects/cust-1/consents/history", headers=headers).json()
    assert [r["status"] for r in history["items"]] == ["withdrawn", "granted"]


def test_an_older_capture_arriving_late_does_not_override_the_current_state(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    headers = org_client(client, session)
    grant(client, headers, "cust-1")
    late = client.put(
        "/v1/subjects/cust-1/consents/marketing",
        headers=headers,
        json={"status": "denied", "captured_at": "2026-10-01T09:00:00+02:00"},
    )
    assert late.status_code == 201
    state = client.get("/v1/subjects/cust-1/consents", headers=headers).json()
    assert state["consents"][0]["status"] == "granted"


def test_expiry_is_computed_when_read(client: TestClient, session: Session, clock: FixedClock) -> None:
    headers = org_client(client, session)
    grant(client, headers, "cust-1", expires_at="2026-11-02T09:10:00+00:00")
    assert (
        client.get("/v1/subjects/cust-1/consents", headers=headers).json()["consents"][0]["status"]
        == "granted"
    )
    clock.advance(hours=1)
    assert (
        client.get("/v1/subjects/cust-1/consents", headers=headers).json()["consents"][0]["status"]
        == "expired"
    )


def test_history_pages_newest_first(client: TestClient, session: Session, clock: FixedClock) -> None:
    headers = org_client(client, session)
    client.put("/v1/subjects/cust-1", headers=headers)
    for i in range(5):
        clock.advance(minutes=1)
        status = "granted" if i % 2 == 0 else "withdrawn"
        client.put("/v1/subjects/cust-1/consents/marketing", headers=headers, json={"status": status})
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/subjects/cust-1/consents/history", headers=headers, params=params).json()
        seen += [r["ledger"]["seq"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [5, 4, 3, 2, 1]


def test_notices_are_versioned_by_their_exact_text(client: TestClient, session: Session) -> None:
    headers = org_client(client, session)
    first = client.put("/v1/notices/marketing", headers=headers, json={"text": "Offers by email?"})
    same = client.put("/v1/notices/marketing", headers=headers, json={"text": "Offers by email?"})
    changed = client.put("/v1/notices/marketing", headers=headers, json={"text": "Offers by email or SMS?"})
    assert (first.status_code, same.status_code, changed.status_code) == (201, 200, 201)
    assert changed.json()["version"] == 2
    import hashlib

    assert changed.json()["sha256"] == hashlib.sha256(b"Offers by email or SMS?").hexdigest()
    old = client.get("/v1/notices/marketing", headers=headers, params={"version": 1}).json()
    assert old["text"] == "Offers by email?"


def test_bad_input_is_a_problem_naming_the_field_and_writes_nothing(
    client: TestClient, session: Session
) -> None:
    headers = org_client(client, session)
    client.put("/v1/subjects/cust-1", headers=headers)
    cases = [
        ("/v1/subjects/cust-1/consents/astrology", {"status": "granted"}, "purpose"),
        ("/v1/subjects/cust-1/consents/marketing", {"status": "maybe"}, "body.status"),
        (
            "/v1/subjects/cust-1/consents/marketing",
            {"status": "granted", "channels": ["pigeon"]},
            "body.channels[0]",
        ),
        (
            "/v1/subjects/cust-1/consents/marketing",
            {"status": "granted", "notice_version": 3},
            "notice_version",
        ),
        (
            "/v1/subjects/cust-1/consents/marketing",
            {"status": "granted", "captured_at": "2026-11-02T08:10:00"},
            "body.captured_at",
        ),
        (
            "/v1/subjects/cust-1/consents/marketing",
            {"status": "granted", "captured_at": "2030-01-01T00:00:00Z"},
            "captured_at",
        ),
        (
            "/v1/subjects/cust-1/consents/marketing",
            {"status": "granted", "evidence": {"n": 2**60}},
            "body.evidence",
        ),
        (
            "/v1/subjects/cust-1/consents/marketing",
            {"status": "granted", "expires_at": "2020-01-01T00:00:00Z"},
            "expires_at",
        ),
        ("/v1/subjects/cust-1/consents/marketing", {"status": "granted", "surprise": 1}, "body.surprise"),
    ]
    for path, body, field in cases:
        response = client.put(path, headers=headers, json=body)
        assert response.status_code == 422, (body, response.text)
        problem = response.json()
        assert problem["type"].endswith("/validation") and problem["status"] == 422
        assert any(e["field"].endswith(field) for e in problem["errors"]), (field, problem)
    assert count(session, ConsentRecord) == 0 and count(session, LedgerEntry) == 0


def test_another_orgs_customer_is_indistinguishable_from_no_customer(
    client: TestClient, session: Session
) -> None:
    airline = org_client(client, session, "Skyway Airlines")
    coffee = org_client(client, session, "Bean There Coffee")
    record = grant(client, airline, "lena")
    for path in (
        "/v1/subjects/lena/consents",
        "/v1/subjects/lena/consents/history",
        f"/v1/receipts/{record['id']}",
    ):
        theirs = client.get(path, headers=coffee)
        nobody = client.get(
            path.replace("lena", "nobody").replace(record["id"], "0" * 8 + record["id"][8:]), headers=coffee
        )
        assert theirs.status_code == nobody.status_code == 404
        assert theirs.json()["title"] == nobody.json()["title"]
    refused = client.put("/v1/subjects/lena/consents/marketing", headers=coffee, json={"status": "withdrawn"})
    assert refused.status_code == 404
    # Coffee registering its own "lena" is a different person: the airline's records stay the airline's.
    client.put("/v1/subjects/lena", headers=coffee)
    assert client.get("/v1/subjects/lena/consents", headers=coffee).json()["consents"] == []


def test_a_receipt_verifies_offline_with_the_published_keys_and_fails_when_altered(
    client: TestClient, session: Session
) -> None:
    headers = org_client(client, session)
    client.put("/v1/notices/marketing", headers=headers, json={"text": "May we email you offers?"})
    record = grant(client, headers, "cust-1")
    saved = client.get(record["receipt"], headers=headers).json()
    public = jws.keys_from_jwks(client.get("/.well-known/jwks.json").json())

    receipt = verify_receipt(saved, public)
    assert receipt["record_id"] == record["id"] and receipt["pii_principal_id"] == "cust-1"
    assert receipt["purposes"][0]["purpose_type"] == "dpv:DirectMarketing"
    assert receipt["events"][0]["event_state"] == "dpv:ConsentGiven"
    assert {k: receipt["ledger"][k] for k in ("chain", "seq", "hash")} == record["ledger"]
    assert receipt["privacy_notice"]["sha256"] == record["notice"]["sha256"]

    altered = {**saved, "receipt": {**saved["receipt"], "consent_status": "withdrawn"}}
    import pytest

    from harken.ledger.receipts import ReceiptProblem

    with pytest.raises(ReceiptProblem):
        verify_receipt(altered, public)


def test_malformed_json_unknown_routes_and_methods_are_problems(client: TestClient, session: Session) -> None:
    headers = org_client(client, session)
    client.put("/v1/subjects/cust-1", headers=headers)
    broken = client.put(
        "/v1/subjects/cust-1/consents/marketing",
        headers=headers | {"content-type": "application/json"},
        content=b'{"status": "granted",',
    )
    assert broken.status_code == 400 and broken.json()["errors"][0]["field"] == "body"
    for response in (
        client.get("/v1/nowhere", headers=headers),
        client.patch("/v1/subjects/cust-1", headers=headers),
    ):
        assert response.status_code in (404, 405)
        assert response.headers["content-type"] == "application/problem+json"
    # Without a credential nothing under /v1/ says whether it exists.
    assert client.get("/v1/nowhere").status_code == 401
    assert count(session, ConsentRecord) == 0
