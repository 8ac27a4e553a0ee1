"""One JSON line per request on stderr, with its request id, and nothing of the customer's in any."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import auth, make_org

EMAIL = "zelda.quill@example.org"
REF = "cust-zq-7f3a9"
TOPIC = "kitesurfing-lessons"
ZONE = "Pacific/Chatham"


def lines(captured: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


def test_one_line_per_request_with_the_request_id_round_trip(
    app_with: Callable[..., TestClient], session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    client = app_with(log_format="json")
    _, key = make_org(session, "Logged Lines")
    org = auth(key)
    capsys.readouterr()
    given = client.get("/v1/offers", headers={**org, "X-Request-ID": "edge-42.a_b"})
    insane = client.get("/v1/offers", headers={**org, "X-Request-ID": "not sane; " + "x" * 200})
    refused = client.get("/v1/offers")  # a problem from a middleware carries the id too
    missing = client.get("/no/such/path")
    logged = lines(capsys.readouterr().err)

    assert [line["event"] for line in logged] == ["request"] * 4
    assert given.headers["x-request-id"] == "edge-42.a_b"
    generated = [r.headers["x-request-id"] for r in (insane, refused, missing)]
    assert all(len(rid) == 32 and int(rid, 16) >= 0 for rid in generated)
    assert len(set(generated)) == 3
    assert [line["request_id"] for line in logged] == ["edge-42.a_b", *generated]
    assert [(line["route"], line["status"]) for line in logged] == [
        ("/v1/offers", 200),
        ("/v1/offers", 200),
        ("/v1/offers", 401),
        ("unmatched", 404),
    ]
    org_id = logged[0]["org"]
    assert org_id and logged[1]["org"] == org_id and logged[2]["org"] is None
    assert all(
        line["method"] == "GET" and line["duration_ms"] >= 0 and line["level"] == "info" for line in logged
    )


def test_no_line_holds_the_customer_s_data(
    app_with: Callable[..., TestClient], session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    client = app_with(log_format="json")
    _, key = make_org(session, "Discreet Air")
    org = auth(key)
    capsys.readouterr()
    calls: list[tuple[str, str, Any]] = [
        ("PUT", f"/v1/subjects/{REF}", {"email": EMAIL}),
        ("PUT", f"/v1/subjects/{REF}/consents/marketing", {"status": "granted", "channels": ["email"]}),
        ("PUT", f"/v1/subjects/{REF}/context", {"topics": [TOPIC], "provenance": "observed"}),
        ("PATCH", f"/v1/subjects/{REF}/preferences", {"time_zone": ZONE, "provenance": "inferred"}),
        (
            "POST",
            "/v1/decisions",
            {
                "subject": REF,
                "purpose": "marketing",
                "channels": ["email"],
                "candidates": [{"id": "kite", "title": "Kite", "topics": [TOPIC]}],
            },
        ),
        ("GET", f"/v1/subjects/{REF}?email={EMAIL}", None),
        ("GET", f"/v1/subjects/{REF}/consents", None),
        ("PUT", f"/v1/subjects/{REF}", {"email": "not an email " + EMAIL}),  # a 422 that names the value
        ("GET", f"/v1/subjects/{REF}-unknown", None),
    ]
    for method, path, body in calls:
        assert client.request(method, path, headers=org, json=body).status_code < 500
    captured = capsys.readouterr()
    logged = lines(captured.err)
    assert len(logged) == len(calls)
    text = captured.err + captured.out
    for secret in (EMAIL, REF, TOPIC, ZONE, "zelda", "7f3a9", "Chatham", "kitesurfing"):
        assert secret not in text


def test_console_format_for_people(
    app_with: Callable[..., TestClient], capsys: pytest.CaptureFixture[str]
) -> None:
    client = app_with(log_format="console")
    capsys.readouterr()
    client.get("/healthz")
    err = capsys.readouterr().err
    assert not err.startswith("{") and "request" in err and "/healthz" in err and "200" in err


def test_the_level_filters_lines(
    app_with: Callable[..., TestClient], capsys: pytest.CaptureFixture[str]
) -> None:
    client = app_with(log_format="json", log_level="warning")
    capsys.readouterr()
    client.get("/healthz")
    assert lines(capsys.readouterr().err) == []


def test_an_unhandled_error_is_logged_and_answered_with_its_request_id(
    app_with: Callable[..., TestClient], capsys: pytest.CaptureFixture[str]
) -> None:
    client = app_with(log_format="json")

    async def boom() -> None:
        raise RuntimeError("a bug")

    client.app.add_api_route("/boom", boom)  # type: ignore[attr-defined]
    capsys.readouterr()
    failed = TestClient(client.app, raise_server_exceptions=False).get(
        "/boom", headers={"X-Request-ID": "r-500"}
    )
    assert failed.status_code == 500 and failed.headers["x-request-id"] == "r-500"
    [line] = lines(capsys.readouterr().err)
    assert (line["route"], line["status"], line["level"], line["request_id"]) == (
        "/boom",
        500,
        "error",
        "r-500",
    )
