"""`POST /v1/decisions` and consent writes on the fast path (`harken.fastpath`, plain Starlette
routes): the same contract as their FastAPI twins — the same answer, the same problems naming the same
fields, the same OpenAPI operation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from harken.orgs.api import OrgCall
from tests.factories import grant, org_client

SNAPSHOT = Path(__file__).with_name("openapi_hot_routes.json")
HOT = {"/v1/decisions": ("post",)}
CANDIDATES: list[dict[str, Any]] = [
    {"id": "tea", "title": "Tea sampler", "topics": ["tea"], "channels": ["email"]},
    {"id": "book", "title": "A novel", "topics": ["books", "fiction"], "suppress_days": 7},
]
DECISION = {"subject": "c-1", "purpose": "marketing", "channels": ["email", "sms"], "candidates": CANDIDATES}


def hot_routes(document: dict[str, Any]) -> dict[str, Any]:
    """The hot routes' operations and every component schema they reach."""
    operations = {f"{m} {p}": document["paths"][p][m] for p, methods in HOT.items() for m in methods}
    components, pending = {}, [operations]
    while pending:
        for ref in _refs(pending.pop()):
            name = ref.rsplit("/", 1)[-1]
            if name not in components:
                components[name] = document["components"]["schemas"][name]
                pending.append(components[name])
    return {"operations": operations, "components": components}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [r for v in node.values() for r in _refs(v)]
    return [r for v in node for r in _refs(v)] if isinstance(node, list) else []


def test_openapi_of_the_hot_routes_is_as_before_the_fast_path(client: TestClient) -> None:
    """The snapshot was taken from main at a1ac736, before the fast path (`hot_routes` of its document),
    and has since gained only the 400 and 415 every JSON body documents, the 401's wording, French, the reason code relevance.learned, and the MyTerms codes terms.*."""
    assert hot_routes(client.get("/openapi.json").json()) == json.loads(SNAPSHOT.read_text())


@pytest.fixture
def headers(client: TestClient, session: Session) -> dict[str, str]:
    found = org_client(client, session)
    grant(client, found, "c-1", channels=["email", "sms"])
    return found


def test_a_valid_decision_takes_the_fast_path(
    client: TestClient, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[Any] = []
    of = OrgCall.of

    def spied(scope: Any) -> Any:
        taken.append(scope)
        return of(scope)

    monkeypatch.setattr(OrgCall, "of", staticmethod(spied))
    answer = client.post("/v1/decisions", headers=headers, json=DECISION)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert len(taken) == 1 and [r["offer_id"] for r in answer.json()["ranking"]] == ["tea", "book"]


@pytest.mark.parametrize("language", [None, "de-DE, en;q=0.5"])
def test_the_fast_path_answers_as_its_twin(
    client: TestClient, headers: dict[str, str], language: str | None
) -> None:
    """A content type the fast path does not take (`+json`) goes to the FastAPI twin: same answer, in
    the same language."""
    body = json.dumps(DECISION).encode()
    asked = {**headers, **({"Accept-Language": language} if language else {})}
    fast = client.post("/v1/decisions", headers={**asked, "Content-Type": "application/json"}, content=body)
    twin = client.post(
        "/v1/decisions", headers={**asked, "Content-Type": "application/vnd.x+json"}, content=body
    )
    assert fast.status_code == twin.status_code == 200
    assert set(fast.headers.keys()) == set(twin.headers.keys())
    assert (
        fast.headers["content-language"] == twin.headers["content-language"] == ("de" if language else "en")
    )
    assert fast.headers["vary"] == twin.headers["vary"] == "Accept-Language"
    fast_json, twin_json = fast.json(), twin.json()
    assert fast_json.pop("decision_id") != twin_json.pop("decision_id")
    assert fast_json == twin_json


def test_lax_values_are_accepted_as_before(client: TestClient, headers: dict[str, str]) -> None:
    lax = {**DECISION, "candidates": [{**CANDIDATES[0], "sensitive": 0, "suppress_days": 30.0}]}
    assert client.post("/v1/decisions", headers=headers, json=lax).status_code == 200


# Malformed JSON (400) and bodies of another media type (415): tests/api/test_bad_input.py.
PROBLEMS = [
    (
        json.dumps({**DECISION, "subject": "c-1\n"}).encode(),
        "application/json",
        [
            {
                "field": "body.subject",
                "message": "String should match pattern '^[A-Za-z0-9][A-Za-z0-9._:@+\\-]{0,127}$'",
            }
        ],
    ),
    (
        json.dumps({**DECISION, "candidates": [{**CANDIDATES[0], "topics": ["tea", "Tea"]}]}).encode(),
        "application/json",
        [
            {
                "field": "body.candidates[0].topics[1]",
                "message": "String should match pattern '^[a-z0-9][a-z0-9-]{0,63}$'",
            }
        ],
    ),
    (
        json.dumps({**DECISION, "channels": ["email", "email"]}).encode(),
        "application/json",
        [{"field": "body.channels", "message": "Value error, each value at most once"}],
    ),
    (
        json.dumps({**DECISION, "offer_ids": ["tea"]}).encode(),
        "application/json",
        [{"field": "body", "message": "Value error, give exactly one of offer_ids and candidates"}],
    ),
    (
        json.dumps({**DECISION, "at": "2026-03-01T09:00:00"}).encode(),
        "application/json",
        [{"field": "body.at", "message": "Input should have timezone info"}],
    ),
    (
        json.dumps({**DECISION, "extra": 1}).encode(),
        "application/json",
        [{"field": "body.extra", "message": "Extra inputs are not permitted"}],
    ),
]


@pytest.mark.parametrize(("body", "kind", "errors"), PROBLEMS)
def test_refusals_are_the_problems_of_before(
    client: TestClient, headers: dict[str, str], body: bytes, kind: str, errors: list[dict[str, str]]
) -> None:
    answer = client.post("/v1/decisions", headers={**headers, "Content-Type": kind}, content=body)
    assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"] == errors


def test_a_customer_token_is_refused_as_before(client: TestClient, headers: dict[str, str]) -> None:
    token = client.post("/v1/subjects/c-1/sessions", headers=headers).json()["token"]
    answer = client.post("/v1/decisions", headers={"Authorization": f"Bearer {token}"}, json=DECISION)
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"


# ---- consent writes: PUT /v1/subjects/{ref}/consents/{purpose} ------------------------------------------

CONSENT = {"status": "granted", "channels": ["email"], "evidence": {"form": "signup-v3"}}


def test_a_consent_write_takes_the_fast_path_and_answers_as_its_twin(
    client: TestClient, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[Any] = []
    of = OrgCall.of

    def spied(scope: Any) -> Any:
        taken.append(scope)
        return of(scope)

    monkeypatch.setattr(OrgCall, "of", staticmethod(spied))
    client.put("/v1/subjects/c-2", headers=headers).raise_for_status()
    body = json.dumps(CONSENT).encode()
    fast = client.put(
        "/v1/subjects/c-1/consents/analytics",
        headers={**headers, "Content-Type": "application/json"},
        content=body,
    )
    twin = client.put(
        "/v1/subjects/c-2/consents/analytics",
        headers={**headers, "Content-Type": "application/vnd.x+json"},
        content=body,
    )
    assert len(taken) == 1 and fast.status_code == twin.status_code == 201
    assert set(fast.headers.keys()) == set(twin.headers.keys())
    shape = {"id", "ledger", "ref", "receipt"}  # its own record, entry and customer
    fast_json, twin_json = fast.json(), twin.json()
    assert {k: v for k, v in fast_json.items() if k not in shape} == {
        k: v for k, v in twin_json.items() if k not in shape
    }
    assert fast_json.keys() == twin_json.keys()
    again = client.put("/v1/subjects/c-1/consents/analytics", headers=headers, json=CONSENT)
    assert again.status_code == 200 and again.json()["id"] == fast_json["id"]


CONSENT_PROBLEMS = [
    ("/v1/subjects/c-1%0A/consents/marketing", CONSENT, 422, "path.ref"),
    ("/v1/subjects/c-1/consents/no-such-purpose", CONSENT, 422, "path.purpose"),
    ("/v1/subjects/c-1/consents/marketing", {**CONSENT, "status": "maybe"}, 422, "body.status"),
    ("/v1/subjects/nobody/consents/marketing", CONSENT, 404, None),
]


@pytest.mark.parametrize(("path", "body", "status", "field"), CONSENT_PROBLEMS)
def test_consent_refusals_are_the_problems_of_before(
    client: TestClient,
    headers: dict[str, str],
    path: str,
    body: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    sent = json.dumps(body).encode()
    fast = client.put(path, headers={**headers, "Content-Type": "application/json"}, content=sent)
    twin = client.put(path, headers={**headers, "Content-Type": "application/vnd.x+json"}, content=sent)
    assert fast.status_code == twin.status_code == status
    assert fast.headers["content-type"] == "application/problem+json"
    assert fast.json() == twin.json()
    if field:
        assert [e["field"] for e in fast.json()["errors"]] == [field]
