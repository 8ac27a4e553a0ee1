"""Idempotency-Key on the org API's POST and PUT: the same key and body again get the first response
and write nothing; another body is refused; a key is the org's, the method's and the path's own and
lives 24 hours; only 2xx answers are kept — on both databases."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response  # what the TestClient answers with
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harken.consent.models import ConsentRecord
from harken.context import events as context_events
from harken.context.models import Event
from harken.decisions.models import DecisionFeedback, DecisionLog
from harken.edge.models import IdempotencyKey
from harken.ledger.models import LedgerEntry
from tests.factories import FixedClock, auth, make_org, org_client

KEY = "8e03978e-40d5-43e8-bc93-6894a57f9324"
PURCHASE = {"type": "purchase", "item": "isbn-1"}
DECISION = {
    "subject": "c-1",
    "purpose": "marketing",
    "channels": ["email"],
    "candidates": [{"id": "tea", "title": "Tea sampler", "topics": ["tea"]}],
}
EVENTS = "/v1/subjects/c-1/events"


def count(session: Session, model: Any) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def keyed(headers: dict[str, str], key: str = KEY) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def registered(client: TestClient, session: Session, name: str = "Skyway Airlines") -> dict[str, str]:
    headers = org_client(client, session, name)
    client.put("/v1/subjects/c-1", headers=headers).raise_for_status()
    return headers


def assert_replayed(first: Response, again: Response) -> None:
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again.headers.get("content-type") == first.headers.get("content-type")
    assert again.headers.get("content-language") == first.headers.get("content-language")
    assert again.headers.get("vary") == first.headers.get("vary")


def assert_problem(response: Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    if field:
        assert [e["field"] for e in problem["errors"]] == [field]
    return problem


def test_a_consent_sent_again_with_its_key_is_replayed_and_recorded_once(
    client: TestClient, session: Session
) -> None:
    headers = registered(client, session)
    body = {"status": "granted", "channels": ["email"]}
    first = client.put("/v1/subjects/c-1/consents/marketing", headers=keyed(headers), json=body)
    entries = count(session, LedgerEntry)
    again = client.put("/v1/subjects/c-1/consents/marketing", headers=keyed(headers), json=body)

    assert first.status_code == 201, first.text
    assert_replayed(first, again)
    history = client.get("/v1/subjects/c-1/consents/history", headers=headers).json()
    assert [r["id"] for r in history["items"]] == [first.json()["id"]]
    assert count(session, ConsentRecord) == 1 and count(session, LedgerEntry) == entries


@pytest.mark.parametrize(
    ("path", "body", "model"),
    [
        (EVENTS, PURCHASE, Event),
        ("/v1/decisions", DECISION, DecisionLog),
    ],
)
def test_a_post_sent_again_with_its_key_is_replayed_and_written_once(
    client: TestClient, session: Session, path: str, body: dict[str, Any], model: Any
) -> None:
    headers = registered(client, session)
    first = client.post(path, headers=keyed(headers), json=body)
    again = client.post(path, headers=keyed(headers), json=body)

    assert first.status_code in (200, 201), first.text
    assert_replayed(first, again)
    assert count(session, model) == 1


def test_a_decision_is_replayed_in_the_language_it_was_answered_in(
    client: TestClient, session: Session
) -> None:
    headers = registered(client, session)
    first = client.post("/v1/decisions", headers={**keyed(headers), "Accept-Language": "de"}, json=DECISION)
    again = client.post("/v1/decisions", headers={**keyed(headers), "Accept-Language": "en"}, json=DECISION)
    assert first.headers["content-language"] == "de" and first.json()["explanation"].startswith("Wird nicht")
    assert_replayed(first, again)


def test_a_decision_kept_from_before_its_customer_was_erased_is_not_given_again(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    headers = registered(client, session)
    client.put("/v1/notices/marketing", headers=headers, json={"text": "May we?"}).raise_for_status()
    granted = {"status": "granted", "channels": ["email"]}
    client.put("/v1/subjects/c-1/consents/marketing", headers=headers, json=granted).raise_for_status()
    told = {"situation": "travelling", "topics": ["tea"], "provenance": "observed"}
    client.put("/v1/subjects/c-1/context", headers=headers, json=told).raise_for_status()
    first = client.post("/v1/decisions", headers=keyed(headers), json=DECISION)
    assert first.json()["allowed"] and "context.topics" in first.text  # what was known of her, kept
    clock.advance(minutes=5)
    assert client.delete("/v1/subjects/c-1", headers=headers).status_code == 200
    clock.advance(minutes=5)

    again = client.post("/v1/decisions", headers=keyed(headers), json=DECISION)
    assert again.status_code == 200 and "idempotent-replayed" not in again.headers
    assert [r["code"] for r in again.json()["reasons"]] == ["subject.erased"]
    assert "context.topics" not in again.text
    assert_replayed(again, client.post("/v1/decisions", headers=keyed(headers), json=DECISION))  # kept now
    assert count(session, DecisionLog) == 1  # the first went with her; the retry was answered once


def test_an_empty_204_is_replayed_too(client: TestClient, session: Session) -> None:
    headers = registered(client, session)
    decision = client.post("/v1/decisions", headers=headers, json=DECISION)
    path = f"/v1/decisions/{decision.json()['decision_id']}/feedback"
    first = client.post(path, headers=keyed(headers), json={"kind": "dismissed"})
    again = client.post(path, headers=keyed(headers), json={"kind": "dismissed"})

    assert first.status_code == 204, first.text
    assert_replayed(first, again)
    assert again.content == b"" and count(session, DecisionFeedback) == 1


def test_the_same_key_with_another_body_is_refused_and_writes_nothing(
    client: TestClient, session: Session
) -> None:
    headers = registered(client, session)
    client.post(EVENTS, headers=keyed(headers), json=PURCHASE).raise_for_status()
    other = client.post(EVENTS, headers=keyed(headers), json={**PURCHASE, "item": "isbn-2"})
    # The fingerprint is the body's bytes: the same JSON spelled otherwise is another body.
    respelled = client.post(EVENTS, headers=keyed(headers), content=json.dumps(PURCHASE, indent=2))

    for refused in (other, respelled):
        problem = assert_problem(refused, 422, "Idempotency-Key")
        assert "another body" in problem["errors"][0]["message"]
    assert count(session, Event) == 1


def test_a_key_is_the_orgs_own_and_the_method_and_paths_own(client: TestClient, session: Session) -> None:
    skyway = registered(client, session)
    other_org = registered(client, session, "Bookshop")
    client.put("/v1/subjects/c-2", headers=skyway).raise_for_status()

    answers = [
        client.post(EVENTS, headers=keyed(skyway), json=PURCHASE),
        client.post("/v1/subjects/c-2/events", headers=keyed(skyway), json=PURCHASE),
        client.post(EVENTS, headers=keyed(other_org), json=PURCHASE),
        client.put("/v1/subjects/c-3", headers=keyed(skyway), json={}),
    ]

    assert [a.status_code for a in answers] == [201, 201, 201, 201]
    assert not any("idempotent-replayed" in a.headers for a in answers)
    assert count(session, Event) == 3


def test_a_key_expires_after_24_hours(client: TestClient, session: Session, clock: FixedClock) -> None:
    headers = registered(client, session)
    first = client.post(EVENTS, headers=keyed(headers), json=PURCHASE)
    clock.advance(hours=23, minutes=59)
    assert client.post(EVENTS, headers=keyed(headers), json=PURCHASE).headers["idempotent-replayed"] == "true"

    clock.advance(minutes=1)
    fresh = client.post(EVENTS, headers=keyed(headers), json={**PURCHASE, "item": "isbn-2"})

    assert fresh.status_code == 201 and "idempotent-replayed" not in fresh.headers
    assert fresh.json()["id"] != first.json()["id"] and count(session, Event) == 2
    assert count(session, IdempotencyKey) == 1  # the expired key was purged


@pytest.mark.parametrize("value", ["", '""', "x" * 256, "tab\there", "clé".encode()])
def test_a_malformed_key_is_refused_with_a_problem_naming_the_header(
    client: TestClient, session: Session, value: str | bytes
) -> None:
    headers = registered(client, session)
    sent: dict[str, Any] = {**headers, "Idempotency-Key": value}  # str or bytes values, as httpx sends them
    refused = client.post(EVENTS, headers=sent, json=PURCHASE)

    assert_problem(refused, 422, "Idempotency-Key")
    assert count(session, Event) == count(session, IdempotencyKey) == 0


def test_a_quoted_key_is_the_same_key_bare_and_255_characters_are_allowed(
    client: TestClient, session: Session
) -> None:
    headers = registered(client, session)
    longest = "k" * 255
    first = client.post(EVENTS, headers=keyed(headers, longest), json=PURCHASE)
    again = client.post(EVENTS, headers=keyed(headers, f'"{longest}"'), json=PURCHASE)

    assert first.status_code == 201, first.text
    assert_replayed(first, again)


def test_without_the_header_nothing_changes(client: TestClient, session: Session) -> None:
    headers = registered(client, session)
    answers = [client.post(EVENTS, headers=headers, json=PURCHASE) for _ in range(2)]

    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json()["id"] != answers[1].json()["id"]
    assert not any("idempotent-replayed" in a.headers for a in answers)
    assert count(session, Event) == 2 and count(session, IdempotencyKey) == 0


def test_only_2xx_answers_are_kept_so_a_corrected_retry_runs(client: TestClient, session: Session) -> None:
    headers = org_client(client, session)
    unknown = client.post(EVENTS, headers=keyed(headers), json=PURCHASE)
    invalid = client.post(EVENTS, headers=keyed(headers, "second"), json={"type": "nope"})
    invalid_again = client.post(EVENTS, headers=keyed(headers, "second"), json={"type": "nope"})
    assert count(session, IdempotencyKey) == 0

    client.put("/v1/subjects/c-1", headers=headers).raise_for_status()
    after_registering = client.post(EVENTS, headers=keyed(headers), json=PURCHASE)
    fixed = client.post(EVENTS, headers=keyed(headers, "second"), json=PURCHASE)

    assert_problem(unknown, 404)
    for refused in (invalid, invalid_again):
        assert_problem(refused, 422, "body.type")
        assert "idempotent-replayed" not in refused.headers
    assert (after_registering.status_code, fixed.status_code) == (201, 201)
    assert count(session, Event) == 2


def test_a_key_whose_request_is_in_flight_gets_409_until_it_is_taken_over(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    org, api_key = make_org(session)
    headers = {**auth(api_key), "Content-Type": "application/json"}
    client.put("/v1/subjects/c-1", headers=headers).raise_for_status()
    body = json.dumps(PURCHASE).encode()
    session.add(
        IdempotencyKey(
            org_id=org.id,
            key=KEY,
            method="POST",
            path=EVENTS,
            fingerprint=hashlib.sha256(body).hexdigest(),
            created_at=clock(),
            headers={},
            body=b"",
        )
    )
    session.commit()

    assert_problem(client.post(EVENTS, headers=keyed(headers), content=body), 409)
    assert_problem(client.post(EVENTS, headers=keyed(headers), json={"type": "gift"}), 422, "Idempotency-Key")
    assert count(session, Event) == 0

    clock.advance(seconds=61)  # the first attempt died without answering: the retry runs it
    taken_over = client.post(EVENTS, headers=keyed(headers), content=body)
    again = client.post(EVENTS, headers=keyed(headers), content=body)

    assert taken_over.status_code == 201, taken_over.text
    assert_replayed(taken_over, again)
    assert count(session, Event) == 1


def test_a_request_that_fails_keeps_no_key(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = registered(client, session)

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("the disk is full")

    with monkeypatch.context() as patch:
        patch.setattr(context_events, "record_event", broken)
        with pytest.raises(RuntimeError):
            client.post(EVENTS, headers=keyed(headers), json=PURCHASE)
    assert count(session, IdempotencyKey) == 0

    retried = client.post(EVENTS, headers=keyed(headers), json=PURCHASE)
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers


def test_an_unknown_api_key_is_answered_by_the_app(client: TestClient, session: Session) -> None:
    refused = client.post(EVENTS, headers=keyed(auth("hk_nope")), json=PURCHASE)

    assert_problem(refused, 401)
    assert count(session, IdempotencyKey) == 0


def test_the_header_is_documented_on_the_org_apis_posts_and_puts(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    def documented(path: str, method: str) -> bool:
        parameters = paths[path][method].get("parameters", [])
        return any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in parameters)

    assert documented("/v1/subjects/{ref}/events", "post")
    assert documented("/v1/subjects/{ref}/consents/{purpose}", "put")
    assert not documented("/v1/subjects/{ref}/consents", "get")
    assert not documented("/v1/me/context", "put")
