"""/metrics after known traffic: the counts by route template and status, decisions by outcome and
reason code, consent writes, a 429 and a 404 — and who may read it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import auth, make_org
from tests.observe.conftest import TOKEN, delta, scrape

DECISIONS = "/v1/decisions"
CONSENT = "/v1/subjects/{ref}/consents/{purpose}"


def decide(client: TestClient, org: dict[str, str], ref: str) -> dict[str, object]:
    body = {
        "subject": ref,
        "purpose": "marketing",
        "channels": ["email"],
        "candidates": [{"id": "lounge", "title": "Lounge", "topics": ["travel"]}],
    }
    response = client.post(DECISIONS, headers=org, json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    return answer


def test_metrics_count_known_traffic_by_route_template_and_status(
    app_with: Callable[..., TestClient], session: Session
) -> None:
    client = app_with(metrics_token=TOKEN, rate_limit_failed_auth=2)
    _, key = make_org(session, "Metered Air")
    org = auth(key)
    before = scrape(client)

    for ref, status in (("m-alice", "granted"), ("m-bob", "withdrawn")):
        assert client.put(f"/v1/subjects/{ref}", headers=org).status_code in (200, 201)
        body = {"status": status, "channels": ["email"]}
        written = client.put(f"/v1/subjects/{ref}/consents/marketing", headers=org, json=body)
        assert written.status_code == 201, written.text
    liking = {"interests": {"travel": 1}, "provenance": "inferred"}
    client.patch("/v1/subjects/m-alice/preferences", headers=org, json=liking).raise_for_status()
    answers = [decide(client, org, ref) for ref in ("m-alice", "m-bob", "m-nobody")]
    assert [a["allowed"] for a in answers] == [True, False, False], answers[0]["reasons"]
    assert client.get("/v1/subjects/m-carol", headers=org).status_code == 404
    for _ in range(2):
        assert client.get("/v1/offers", headers=auth("hk_forged")).status_code == 401
    assert client.get("/v1/offers", headers=org).status_code == 429  # past 2 failed authentications

    after = scrape(client)
    requests = "harken_http_requests_total"
    assert delta(before, after, requests, method="POST", route=DECISIONS, status="200") == 3
    assert delta(before, after, requests, method="PUT", route=CONSENT, status="201") == 2
    assert delta(before, after, requests, method="PUT", route="/v1/subjects/{ref}", status="201") == 2
    assert delta(before, after, requests, method="GET", route="/v1/subjects/{ref}", status="404") == 1
    assert delta(before, after, requests, method="GET", route="/v1/offers", status="401") == 2
    assert delta(before, after, requests, method="GET", route="/v1/offers", status="429") == 1
    latency = "harken_http_request_duration_seconds_count"
    assert delta(before, after, latency, method="POST", route=DECISIONS, status="200") == 3
    assert delta(before, after, "harken_decisions_total", outcome="allowed") == 1
    assert delta(before, after, "harken_decisions_total", outcome="refused") == 2
    given = Counter(
        ("allowed" if a["allowed"] else "refused", reason["code"])
        for a in answers
        for reason in a["reasons"]  # type: ignore[attr-defined]
    )
    assert given  # the refusals at least say why
    for (outcome, code), count in given.items():
        assert delta(before, after, "harken_decision_reasons_total", outcome=outcome, reason=code) == count
    assert delta(before, after, "harken_decision_engine_seconds_count") == 3
    assert delta(before, after, "harken_consent_writes_total", status="granted") == 1
    assert delta(before, after, "harken_consent_writes_total", status="withdrawn") == 1
    assert delta(before, after, "harken_rate_limit_refusals_total", policy="failed-auth") == 1
    # No series is named after a customer: refs are personal data.
    labels = {value for _, pairs in after for _, value in pairs}
    assert not [value for value in labels if "m-" in value and "/" not in value]
    assert not [value for value in labels if "m-alice" in value or "m-carol" in value]


def test_the_store_s_gauges_are_read_at_each_scrape(
    app_with: Callable[..., TestClient], session: Session
) -> None:
    client = app_with(metrics_token=TOKEN)
    created, key = make_org(session, "Gauged Rail")
    org = auth(key)
    chain = ("harken_ledger_head_seq", frozenset({("chain", created.chain)}))
    first = scrape(client).get(chain, 0.0)
    client.put("/v1/subjects/g-dan", headers=org).raise_for_status()
    body = {"status": "granted", "channels": ["email"]}
    client.put("/v1/subjects/g-dan/consents/marketing", headers=org, json=body).raise_for_status()
    after = scrape(client)
    assert after[chain] > first
    assert ("harken_outbox_pending", frozenset()) in after
    assert after[("harken_outbox_oldest_pending_seconds", frozenset())] >= 0


def test_without_a_token_only_loopback_may_scrape(app_with: Callable[..., TestClient]) -> None:
    assert app_with(client=("127.0.0.1", 40000)).get("/metrics").status_code == 200
    assert app_with(client=("::1", 40000)).get("/metrics").status_code == 200
    for refused in (
        app_with(client=("203.0.113.7", 40000)).get("/metrics"),
        app_with(client=("testclient", 40000)).get("/metrics"),  # no address at all
        # A proxy on this machine relays the world as loopback: a relayed request is never let in by address.
        app_with(client=("127.0.0.1", 40000)).get("/metrics", headers={"X-Forwarded-For": "198.51.100.4"}),
    ):
        assert refused.status_code == 404
        assert refused.headers["content-type"] == "application/problem+json"
        assert "harken_" not in refused.text


def test_an_allowed_network_may_scrape_without_a_token(app_with: Callable[..., TestClient]) -> None:
    allow = ["10.0.0.0/8"]
    assert app_with(client=("10.1.2.3", 40000), metrics_allow=allow).get("/metrics").status_code == 200
    assert app_with(client=("127.0.0.1", 40000), metrics_allow=allow).get("/metrics").status_code == 404
    assert app_with(client=("127.0.0.1", 40000), metrics_allow=[]).get("/metrics").status_code == 404


def test_with_a_token_a_wrong_or_missing_one_is_refused(
    app_with: Callable[..., TestClient], session: Session
) -> None:
    _, key = make_org(session, "Keyed Ferries")
    remote = app_with(client=("203.0.113.8", 40000), metrics_token=TOKEN)
    assert remote.get("/metrics", headers=auth(TOKEN)).status_code == 200
    for headers in ({}, auth("wrong"), auth(key), {"Authorization": f"Basic {TOKEN}"}):
        refused = remote.get("/metrics", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "harken_" not in refused.text
    # With a token set, loopback needs it too, unless HARKEN_METRICS_ALLOW says otherwise.
    local = app_with(client=("127.0.0.1", 40000), metrics_token=TOKEN)
    assert local.get("/metrics").status_code == 401
    assert local.get("/metrics", headers=auth("wrong")).status_code == 401
    opened = app_with(client=("127.0.0.1", 40000), metrics_token=TOKEN, metrics_allow=["127.0.0.0/8"])
    assert opened.get("/metrics").status_code == 200
