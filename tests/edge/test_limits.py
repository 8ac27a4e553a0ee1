"""Rate limits per address, per credential and on failed authentication: 429 with Retry-After and the
RateLimit fields, counted in one store by every worker."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from harken.errors import PROBLEM_JSON
from tests.conftest import Database
from tests.factories import FixedClock, auth, make_org
from tests.live import UNLIMITED, serve

HIGH = 10**6
FIELD = re.compile(r'^"([a-z-]+)";(.+)$')


def fields(value: str) -> dict[str, dict[str, int]]:
    """A RateLimit or RateLimit-Policy field: policy → its integer parameters."""
    parsed = {}
    for item in value.split(", "):
        name, parameters = FIELD.match(item).groups()  # type: ignore[union-attr]
        parsed[name] = {k: int(v) for k, v in (p.split("=") for p in parameters.split(";"))}
    return parsed


def test_an_address_past_its_quota_is_refused_until_the_window_ends(
    hub_with: Callable[..., TestClient], clock: FixedClock
) -> None:
    client = hub_with(rate_limit_per_address=3, rate_limit_window=60)
    answers = [client.get("/v1/purposes") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert fields(answers[0].headers["ratelimit-policy"])["address"] == {"q": 3, "w": 60}
    assert [fields(a.headers["ratelimit"])["address"]["r"] for a in answers] == [2, 1, 0, 0]
    refused = answers[-1]
    assert refused.headers["content-type"] == PROBLEM_JSON
    assert refused.json()["type"] == "/problems/quota-exceeded"
    retry = int(refused.headers["retry-after"])
    assert 1 <= retry <= 60 and fields(refused.headers["ratelimit"])["address"]["t"] == retry
    clock.advance(seconds=retry)
    assert client.get("/v1/purposes").status_code == 200


def test_a_key_past_its_quota_is_refused_and_another_key_is_not(
    hub_with: Callable[..., TestClient], session: Session
) -> None:
    client = hub_with(rate_limit_per_key=2, rate_limit_per_address=HIGH)
    (_, first), (_, second) = make_org(session, "First"), make_org(session, "Second")
    assert [client.get("/v1/subjects/x", headers=auth(first)).status_code for _ in range(3)] == [
        404,
        404,
        429,
    ]
    assert client.get("/v1/subjects/x", headers=auth(second)).status_code == 404
    assert "too many requests with this credential" in client.get("/v1/subjects/x", headers=auth(first)).text


def test_failed_authentications_close_the_address_even_to_a_good_key(
    hub_with: Callable[..., TestClient], session: Session, clock: FixedClock
) -> None:
    client = hub_with(rate_limit_failed_auth=3)
    _, key = make_org(session)
    guesses = [client.get("/v1/subjects/x", headers=auth(f"hk_guess{n}")) for n in range(3)]
    assert [g.status_code for g in guesses] == [401, 401, 401]
    assert [fields(g.headers["ratelimit"])["failed-auth"]["r"] for g in guesses] == [2, 1, 0]
    refused = client.get("/v1/subjects/x", headers=auth(key))
    assert refused.status_code == 429
    assert "failed authentications" in refused.json()["detail"]
    clock.advance(seconds=int(refused.headers["retry-after"]))
    assert client.get("/v1/subjects/x", headers=auth(key)).status_code == 404


def test_a_different_x_forwarded_for_per_guess_does_not_reset_the_count(
    hub_with: Callable[..., TestClient],
) -> None:
    client = hub_with(rate_limit_failed_auth=3)
    statuses = [
        client.get(
            "/v1/subjects/x", headers={**auth("hk_guess"), "X-Forwarded-For": f"198.51.100.{n}"}
        ).status_code
        for n in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]


def test_what_is_not_the_api_is_not_counted(hub_with: Callable[..., TestClient]) -> None:
    client = hub_with(rate_limit_per_address=1)
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
        assert client.get("/.well-known/jwks.json").status_code == 200
        assert "ratelimit" not in client.get("/healthz").headers


def test_a_quota_of_zero_is_no_limit(hub_with: Callable[..., TestClient]) -> None:
    client = hub_with(rate_limit_per_address=0, rate_limit_per_key=0, rate_limit_failed_auth=0)
    answers = [client.get("/v1/subjects/x", headers=auth("hk_guess")) for _ in range(5)]
    assert {a.status_code for a in answers} == {401}
    assert "ratelimit" not in answers[0].headers


def test_two_hubs_on_one_store_share_their_counts(hub_with: Callable[..., TestClient]) -> None:
    one, other = hub_with(rate_limit_per_address=4), hub_with(rate_limit_per_address=4)
    statuses = [(one if n % 2 else other).get("/v1/purposes").status_code for n in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_a_new_window_forgets_the_windows_before(
    hub_with: Callable[..., TestClient], clock: FixedClock, database: Database
) -> None:
    client = hub_with(rate_limit_per_address=HIGH, rate_limit_window=60)
    client.get("/v1/purposes")
    clock.advance(seconds=120)
    client.get("/v1/purposes")
    if database.backend == "postgresql":  # (on SQLite the counts are in the data directory's file)
        current = int(clock().timestamp()) // 60 * 60
        with database.engine.connect() as connection:
            oldest = connection.execute(text("SELECT min(window_start) FROM rate_counts")).scalar()
            unlogged = connection.execute(
                text("SELECT relpersistence FROM pg_class WHERE relname = 'rate_counts'")
            ).scalar()
        assert oldest == current and unlogged == "u"


def test_every_api_operation_documents_429(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert ("429" in operation["responses"]) == path.startswith("/v1/"), f"{method} {path}"
            if path.startswith("/v1/"):
                assert {"Retry-After", "RateLimit", "RateLimit-Policy"} <= set(
                    operation["responses"]["429"]["headers"]
                )


@pytest.mark.slow  # a real server, two workers
def test_two_server_workers_hold_one_quota(fresh_database: Database, tmp_path: Path) -> None:
    """`harken serve --workers 2`, each request on a connection of its own, many at once, so both
    workers serve them: counted apart, each worker would let QUOTA through; counted together, QUOTA
    pass in all. Then guesses, each claiming another address in X-Forwarded-For, which neither the app
    nor uvicorn (which believes 127.0.0.1 unless told otherwise) may take for the client."""
    quota, guesses = 10, 5
    limits = {
        **{f"HARKEN_{name.upper()}": str(value) for name, value in UNLIMITED.items()},
        "HARKEN_RATE_LIMIT_PER_KEY": str(quota),
        "HARKEN_RATE_LIMIT_FAILED_AUTH": str(guesses),
        "HARKEN_RATE_LIMIT_WINDOW": "3600",  # the real clock: no window may end during the test
    }
    with serve(fresh_database.url, tmp_path / "data", workers=2, extra_env=limits) as hub:
        key = hub.create_org("Quota Org").headers["Authorization"]

        def ask(headers: dict[str, str]) -> int:
            with httpx.Client(base_url=hub.url, timeout=10) as fresh:
                return fresh.get("/v1/subjects/x", headers=headers).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(ask, [{"Authorization": key}] * (4 * quota)))
        assert (statuses.count(404), statuses.count(429)) == (quota, 3 * quota)

        claims = [{**auth(f"hk_guess{n}"), "X-Forwarded-For": f"198.51.100.{n}"} for n in range(guesses + 2)]
        assert [ask(claim) for claim in claims] == [401] * guesses + [429] * 2


def test_an_agents_registrations_and_failed_logins_on_mcp_are_counted_too(
    hub_with: Callable[..., TestClient],
) -> None:
    """/oauth/ (open to anyone: registering a client, trading a code) counts as the API does; /mcp counts
    its failed authentications, its tools' calls being counted where they land, on /v1/me."""
    client = hub_with(rate_limit_per_address=2, rate_limit_failed_auth=2)
    body = {"client_name": "Pocket Assistant", "redirect_uris": ["http://127.0.0.1:8765/callback"]}
    registered = [client.post("/oauth/register", json=body).status_code for _ in range(3)]
    assert registered == [201, 201, 429]
    other = hub_with(rate_limit_per_address=100, rate_limit_failed_auth=2)
    guesses = [other.post("/mcp", headers={"Authorization": "Bearer hp_guess"}).status_code for _ in range(3)]
    assert guesses == [401, 401, 429]
