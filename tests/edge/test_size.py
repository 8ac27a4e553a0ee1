"""The request-size limit: 413 before the body is read, whoever would have read it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.types import Message

from harken.errors import PROBLEM_JSON
from tests.edge import run_apart
from tests.factories import auth, make_org

LIMIT = 4096


def chunks(size: int, chunk: int = 1024) -> Iterator[bytes]:
    """A body sent chunked, without a Content-Length."""
    for start in range(0, size, chunk):
        yield b" " * min(chunk, size - start)


def test_a_body_declared_too_large_is_refused_without_reading_a_byte(
    hub_with: Callable[..., TestClient],
) -> None:
    app = hub_with(max_body_bytes=LIMIT).app
    sent: list[Message] = []

    async def receive() -> Message:
        raise AssertionError("the body was read")

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/decisions",
        "raw_path": b"/v1/decisions",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"content-length", str(200 * 1024 * 1024).encode()),
            (b"content-type", b"application/json"),
        ],
        "client": ("203.0.113.7", 4711),
        "server": ("testserver", 80),
    }
    run_apart(app, scope, receive, send)
    start, body = sent[0], json.loads(sent[1]["body"])
    assert start["status"] == 413
    assert (b"content-type", PROBLEM_JSON.encode()) in start["headers"]
    assert (b"connection", b"close") in start["headers"]
    assert body["type"] == "/problems/content-too-large" and body["status"] == 413
    assert str(LIMIT) in body["detail"]


def test_a_chunked_body_is_cut_off_at_the_limit(
    hub_with: Callable[..., TestClient], session: Session
) -> None:
    client = hub_with(max_body_bytes=LIMIT)
    _, key = make_org(session)
    answer = client.post("/v1/decisions", content=chunks(LIMIT + 1), headers=auth(key))
    assert answer.status_code == 413
    assert answer.headers["content-type"] == PROBLEM_JSON


def test_a_body_the_idempotency_layer_reads_is_cut_off_too(
    hub_with: Callable[..., TestClient], session: Session
) -> None:
    client = hub_with(max_body_bytes=LIMIT)
    _, key = make_org(session)
    headers = {**auth(key), "Idempotency-Key": "k-1"}
    answer = client.post("/v1/decisions", content=chunks(10 * LIMIT), headers=headers)
    assert answer.status_code == 413
    assert answer.json()["type"] == "/problems/content-too-large"


def test_a_preference_centre_form_is_cut_off_too(hub_with: Callable[..., TestClient]) -> None:
    client = hub_with(max_body_bytes=LIMIT)
    form = {"content-type": "application/x-www-form-urlencoded"}
    answer = client.post("/centre/sign-in", content=chunks(LIMIT + 1), headers=form)
    assert answer.status_code == 413


def test_a_body_at_the_limit_is_read(hub_with: Callable[..., TestClient], session: Session) -> None:
    client = hub_with(max_body_bytes=LIMIT)
    _, key = make_org(session)
    headers = {**auth(key), "content-type": "application/json"}
    padded = "{}".ljust(LIMIT)  # JSON may end in whitespace
    assert client.put("/v1/subjects/padded", content=padded, headers=headers).status_code in (200, 201)
    assert client.put("/v1/subjects/padded", content=padded + " ", headers=headers).status_code == 413


def test_every_operation_documents_413(client: TestClient) -> None:
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        for method, operation in operations.items():
            assert "413" in operation["responses"], f"{method} {path}"
