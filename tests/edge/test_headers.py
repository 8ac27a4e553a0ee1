"""Every API answer says nosniff and no-store, once; the centre keeps its own headers; 405 says Allow."""

from __future__ import annotations

from fastapi.testclient import TestClient
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from harken.edge.headers import SecurityHeaders
from harken.errors import PROBLEM_JSON
from tests.edge import run_apart


def test_api_answers_are_not_sniffed_nor_stored(client: TestClient) -> None:
    for answer in (
        client.get("/healthz"),
        client.get("/v1/purposes"),
        client.get("/openapi.json"),
        client.get("/v1/subjects/x"),  # 401
        client.get("/no-such-page"),  # 404
    ):
        assert answer.headers.get_list("x-content-type-options") == ["nosniff"], answer.url
        assert answer.headers.get_list("cache-control") == ["no-store"], answer.url


def test_the_centre_keeps_its_own_headers_once(client: TestClient) -> None:
    page = client.get("/centre/sign-in")
    assert page.status_code == 200
    assert page.headers.get_list("x-content-type-options") == ["nosniff"]
    assert page.headers.get_list("cache-control") == ["no-store"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_the_centre_s_static_files_stay_cacheable_and_unsniffed(client: TestClient) -> None:
    sheet = client.get("/centre/static/centre.css")
    assert sheet.status_code == 200
    assert sheet.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in sheet.headers.get("cache-control", "")


def test_an_answer_s_own_caching_is_kept() -> None:
    """A status list, for one, is meant to be cached for its max-age."""
    sent: list[Message] = []

    async def cacheable(scope: Scope, receive: Receive, send: Send) -> None:
        await Response("list", headers={"Cache-Control": "public, max-age=300"})(scope, receive, send)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "path": "/v1/status-lists/1", "method": "GET", "headers": []}
    run_apart(SecurityHeaders(cacheable), scope, receive, send)
    headers = sent[0]["headers"]
    assert [v for n, v in headers if n == b"cache-control"] == [b"public, max-age=300"]
    assert (b"x-content-type-options", b"nosniff") in headers


def test_a_method_a_path_does_not_take_is_405_with_allow(client: TestClient) -> None:
    answer = client.delete("/v1/purposes")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET"
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert answer.json()["type"] == "/problems/method-not-allowed"
