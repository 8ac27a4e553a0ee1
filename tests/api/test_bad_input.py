"""Bad input is told what is wrong and where, and changes nothing: malformed JSON (400, line and column
and a hint), a body that is not JSON (415), an expired token (401 that says so) — from the FastAPI
routes and from the fast routes (`harken.fastpath`) alike."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from harken.authority import authenticate, holder
from harken.errors import TokenExpired
from tests.factories import FixedClock, auth, grant, org_client

CANDIDATES = [{"id": "tea", "title": "Tea sampler", "topics": ["tea"], "channels": ["email"]}]
DECISION = {"subject": "c-1", "purpose": "marketing", "channels": ["email"], "candidates": CANDIDATES}
CONSENT = {"status": "granted", "channels": ["email"]}
# (method, path, a valid body): the fast routes, and FastAPI routes (one with an optional body).
FAST = [("POST", "/v1/decisions", DECISION), ("PUT", "/v1/subjects/c-1/consents/analytics", CONSENT)]
ROUTES = [
    *FAST,
    ("PUT", "/v1/subjects/c-1/context", {"situation": "commuting", "provenance": "observed"}),
    ("PUT", "/v1/subjects/c-2", {"email": "c2@example.com"}),
    ("POST", "/v1/subjects/c-1/sessions", {"ttl_seconds": 60}),
]
# The fast routes take `application/json`; a `+json` type goes to their FastAPI twin.
JSON_TYPES = ["application/json", "application/json; charset=utf-8", "application/vnd.harken+json"]


@pytest.fixture
def headers(client: TestClient, session: Session) -> dict[str, str]:
    found = org_client(client, session)
    grant(client, found, "c-1")
    return found


def send(
    client: TestClient, headers: dict[str, str], method: str, path: str, body: bytes, kind: str | None
) -> Any:
    sent = {**headers, **({"Content-Type": kind} if kind else {})}
    return client.request(method, path, headers=sent, content=body)


def problem(answer: Any, status: int, slug: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    found: dict[str, Any] = answer.json()
    assert found["type"] == f"/problems/{slug}" and found["status"] == status
    return found


def state(client: TestClient, headers: dict[str, str]) -> list[Any]:
    """What the org can read about its customers: unchanged by a refused request."""
    return [
        client.get(path, headers=headers).json()
        for path in ("/v1/subjects/c-1", "/v1/subjects/c-1/consents", "/v1/subjects/c-2")
    ]


# ---- malformed JSON: 400, where and why ------------------------------------------------------------------

MALFORMED = [
    (b'{"status": "granted",\n  "channels": ["email"]\n  "evidence": {}}', 3, 3, "comma missing"),
    (b'{"status": "granted",\n "channels": ["email"],\n}', 3, 1, "trailing comma"),
    (b"{'status': 'granted'}", 1, 2, "double quotes, not single"),
    (b'{"status": }', 1, 12, "a value left out"),
    (b'{"status": "granted"', 1, 21, "cut off"),
    (b'{"status": "granted}', 1, 12, "without its closing quote"),
    (b'{"status": True}', 1, 12, "lower case"),
    (b'{"status": "granted"}}', 1, 22, "follows the end"),
]


@pytest.mark.parametrize(("method", "path", "_body"), ROUTES)
@pytest.mark.parametrize(("body", "line", "column", "hint"), MALFORMED)
def test_malformed_json_says_where_and_what_probably_went_wrong(
    client: TestClient,
    headers: dict[str, str],
    method: str,
    path: str,
    _body: Any,
    body: bytes,
    line: int,
    column: int,
    hint: str,
) -> None:
    before = state(client, headers)
    for kind in JSON_TYPES:
        found = problem(send(client, headers, method, path, body, kind), 400, "malformed-json")
        [error] = found["errors"]
        assert error["field"] == "body" and f"at line {line}, column {column} — " in error["message"]
        assert hint in error["message"] and found["detail"].endswith(error["message"])
    assert state(client, headers) == before


@pytest.mark.parametrize(("method", "path", "_body"), FAST)
def test_the_fast_path_answers_malformed_json_as_its_twin(
    client: TestClient, headers: dict[str, str], method: str, path: str, _body: Any
) -> None:
    body = MALFORMED[0][0]
    fast = send(client, headers, method, path, body, "application/json")
    twin = send(client, headers, method, path, body, "application/vnd.x+json")
    assert fast.json() == twin.json() and fast.status_code == twin.status_code == 400
    assert fast.json()["detail"] == (
        "the body is not valid JSON: Expecting ',' delimiter at line 3, column 3 — "
        "is a comma missing between two items, or a quote left open?"
    )


@pytest.mark.parametrize(("method", "path", "_body"), ROUTES)
def test_a_body_that_is_not_utf8_says_which_byte(
    client: TestClient, headers: dict[str, str], method: str, path: str, _body: Any
) -> None:
    body = b'{"status":\n  "gr\xe4nted"}'  # Latin-1
    found = problem(send(client, headers, method, path, body, "application/json"), 400, "malformed-json")
    assert found["errors"] == [
        {"field": "body", "message": "byte 0xe4 at line 2, column 6 is not UTF-8: JSON is sent as UTF-8"}
    ]


def test_json_that_parses_but_breaks_the_schema_is_still_a_422_naming_the_field(
    client: TestClient, headers: dict[str, str]
) -> None:
    for path in ("/v1/decisions", "/v1/subjects/c-1/sessions"):
        found = problem(client.post(path, headers=headers, json=[1, 2]), 422, "validation")
        assert [e["field"] for e in found["errors"]] == ["body"]


# ---- a body that is not JSON: 415 ----------------------------------------------------------------------

NOT_JSON = [
    (b"status=granted&channels=email", "application/x-www-form-urlencoded"),
    (
        b"--x\r\nContent-Disposition: form-data; name=status\r\n\r\ngranted\r\n--x--\r\n",
        "multipart/form-data; boundary=x",
    ),
    (b'{"status": "granted"}', "text/plain"),
    (b'{"status": "granted"}', "application/xml"),
    (b'{"status": "granted"}', None),
]


@pytest.mark.parametrize(("method", "path", "_body"), ROUTES)
@pytest.mark.parametrize(("body", "kind"), NOT_JSON)
def test_a_body_that_is_not_json_is_415_naming_the_type_expected(
    client: TestClient,
    headers: dict[str, str],
    method: str,
    path: str,
    _body: Any,
    body: bytes,
    kind: str | None,
) -> None:
    before = state(client, headers)
    found = problem(send(client, headers, method, path, body, kind), 415, "unsupported-media-type")
    [error] = found["errors"]
    assert error["field"] == "header.content-type"
    assert error["message"].startswith("send the body as application/json")
    sent = kind.partition(";")[0] if kind else None
    assert error["message"].endswith(f", not {sent}" if sent else "(no Content-Type was sent)")
    assert state(client, headers) == before


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize("kind", JSON_TYPES)
def test_json_with_a_charset_or_a_json_suffix_type_is_served(
    client: TestClient, headers: dict[str, str], method: str, path: str, body: Any, kind: str
) -> None:
    answer = send(client, headers, method, path, json.dumps(body).encode(), kind)
    assert answer.status_code in (200, 201), answer.text


def test_the_operations_with_a_json_body_document_400_and_415(client: TestClient) -> None:
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        for method, operation in operations.items():
            takes_json = "application/json" in operation.get("requestBody", {}).get("content", {})
            documented = {"400", "415"} <= operation["responses"].keys()
            assert documented == takes_json, f"{method} {path}"


# ---- an expired token: 401 that says it expired ----------------------------------------------------------


def customer_token(client: TestClient, headers: dict[str, str], ttl: int = 60) -> str:
    made = client.post("/v1/subjects/c-1/sessions", headers=headers, json={"ttl_seconds": ttl})
    assert made.status_code == 201, made.text
    token: str = made.json()["token"]
    return token


@pytest.mark.parametrize("used_before", [True, False])  # remembered by the hub, or checked afresh
def test_an_expired_customer_token_says_it_expired(
    client: TestClient, headers: dict[str, str], clock: FixedClock, used_before: bool
) -> None:
    token = customer_token(client, headers)
    if used_before:
        assert client.get("/v1/me", headers=auth(token)).status_code == 200
    clock.advance(seconds=60)
    for method, path, body in [("GET", "/v1/me", None), ("PUT", "/v1/me/context", {"situation": "home"})]:
        answer = client.request(method, path, headers=auth(token), json=body)
        found = problem(answer, 401, "token-expired")
        assert found["title"] == "The token expired"
        assert found["detail"] == "this token expired at 2026-11-02T08:11:00.000000Z: ask for a new one"
        assert answer.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


def test_an_expired_token_on_a_fast_route_says_it_expired(
    client: TestClient, headers: dict[str, str], clock: FixedClock
) -> None:
    token = customer_token(client, headers)
    clock.advance(seconds=61)
    for method, path, body in FAST:
        problem(client.request(method, path, headers=auth(token), json=body), 401, "token-expired")


def test_an_expired_person_token_from_the_centre_says_it_expired(
    client: TestClient, headers: dict[str, str], clock: FixedClock, visitor: Any
) -> None:
    client.put("/v1/subjects/c-3", headers=headers, json={"email": "c3@example.com"}).raise_for_status()
    browser = visitor()
    browser.sign_in("c3@example.com")
    token = browser.person_token()
    assert client.get("/v1/me", headers=auth(token)).status_code == 200
    clock.advance(hours=1)
    problem(client.get("/v1/me", headers=auth(token)), 401, "token-expired")


@pytest.mark.parametrize(
    ("bearer", "detail"),
    [
        (None, "send an org API key (`hk_…`) or a customer token as `Authorization: Bearer …`"),
        ("hc_nonsense.token", None),
    ],
)
def test_a_missing_or_unknown_token_is_refused_as_before(
    client: TestClient, bearer: str | None, detail: str | None
) -> None:
    answer = client.get("/v1/me", headers=auth(bearer) if bearer else {})
    found = problem(answer, 401, "unauthenticated")
    assert found["title"] == "Not authenticated"
    # `/v1/me` also says where an agent learns how to get a token (RFC 9728, docs/agents.md).
    assert answer.headers["www-authenticate"] == (
        'Bearer resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource"'
    )
    assert detail is None or found["detail"] == detail


def test_a_revoked_token_is_not_called_expired(client: TestClient, headers: dict[str, str]) -> None:
    token = customer_token(client, headers)
    assert client.delete("/v1/subjects/c-1/sessions", headers=headers).status_code == 204
    found = problem(client.get("/v1/me", headers=auth(token)), 401, "unauthenticated")
    assert found["detail"] == "this token was revoked"


def test_a_token_expiring_inside_its_unit_of_work_says_it_expired(
    client: TestClient, headers: dict[str, str], session: Session, clock: FixedClock
) -> None:
    """The unit of work checks the token again (`holder`): one that expired after the middleware let it
    in is refused there, saying the same."""
    token = customer_token(client, headers)
    secret = client.app.state.hub.secret  # type: ignore[attr-defined]
    let_in = authenticate(session, secret=secret, bearer=token, now=clock.now)
    with pytest.raises(TokenExpired, match="this token expired at"):
        holder(session, let_in, clock.now + timedelta(seconds=60))
