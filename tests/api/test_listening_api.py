"""The listening engine's HTTP surface: customer tokens, what orgs may write and read, bad input that
changes nothing, decisions for unknown customers, feedback, GPC and the access log — on both databases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harken.config import Settings
from harken.consent.models import ConsentRecord
from harken.context.models import Event, Fact
from harken.decisions.models import DecisionLog
from harken.ledger import keys
from harken.ledger import service as ledger_service
from harken.ledger.models import LedgerEntry
from tests.centre_client import Visitor
from tests.factories import FixedClock, auth, grant, org_client

TABLES = (Fact, Event, DecisionLog, ConsentRecord, LedgerEntry)


def counts(session: Session) -> dict[str, int]:
    return {
        m.__tablename__: session.execute(select(func.count()).select_from(m)).scalar_one() for m in TABLES
    }


def customer_token(client: TestClient, headers: dict[str, str], ref: str, **body: Any) -> dict[str, str]:
    client.put(f"/v1/subjects/{ref}", headers=headers).raise_for_status()
    response = client.post(f"/v1/subjects/{ref}/sessions", headers=headers, json=body or None)
    assert response.status_code == 201, response.text
    return auth(response.json()["token"])


def decide(client: TestClient, headers: dict[str, str], ref: str, **body: Any) -> Any:
    payload = {"subject": ref, "purpose": "marketing", "channels": ["email"], **body}
    payload.setdefault("candidates", [{"id": "tea", "title": "Tea sampler", "topics": ["tea"]}])
    response = client.post("/v1/decisions", headers=headers, json=payload)
    assert response.status_code == 200, response.text
    return response.json()


def test_customer_calls_need_a_live_token_of_a_known_customer(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    org = org_client(client, session)
    token = customer_token(client, org, "c-1", ttl_seconds=60)
    assert client.get("/v1/me", headers=token).status_code == 200
    clear = token["Authorization"].removeprefix("Bearer ")
    # One character of the MAC changed where all six of its bits count (the last one's may not): a
    # different MAC, never the same token spelled another way.
    where = clear.index(".") + 5
    forged = auth(clear[:where] + ("A" if clear[where] != "A" else "B") + clear[where + 1 :])
    for headers in ({}, org, auth("hc_garbage"), forged):
        response = client.get("/v1/me", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
    clock.advance(seconds=61)
    assert client.get("/v1/me", headers=token).status_code == 401


def test_a_session_is_only_minted_for_the_orgs_own_customer(client: TestClient, session: Session) -> None:
    airline, hotel = org_client(client, session, "Airline"), org_client(client, session, "Hotel")
    client.put("/v1/subjects/c-1", headers=airline).raise_for_status()
    assert client.post("/v1/subjects/c-1/sessions", headers=hotel).status_code == 404
    assert client.post("/v1/subjects/nobody/sessions", headers=airline).status_code == 404


def test_orgs_write_only_observed_or_inferred_data(client: TestClient, session: Session) -> None:
    org = org_client(client, session)
    client.put("/v1/subjects/c-1", headers=org).raise_for_status()
    before = counts(session)
    body = {"provenance": "declared", "interests": {"tea": 0.5}}
    response = client.patch("/v1/subjects/c-1/preferences", headers=org, json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.provenance"
    assert counts(session) == before
    ok = client.patch("/v1/subjects/c-1/preferences", headers=org, json={**body, "provenance": "observed"})
    assert ok.status_code == 200 and ok.json()[0]["provenance"] == "observed"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/me/preferences", {"interests": {"tea": 1.5}}, "body.interests"),
        ("/v1/me/preferences", {"interests": {"Tea Time": 0.5}}, "body.interests.Tea Time.[key]"),
        ("/v1/me/preferences", {"time_zone": "Mars/Olympus_Mons"}, "body.time_zone"),
        ("/v1/me/preferences", {"quiet_hours": {"start": "25:00", "end": "08:00"}}, "body.quiet_hours.start"),
        ("/v1/me/preferences", {"quiet_hours": {"start": "08:00", "end": "08:00"}}, "body.quiet_hours"),
        ("/v1/me/preferences", {"novelty": 2}, "body.novelty"),
        ("/v1/me/preferences", {"channels": {"pigeon": {"allowed": True}}}, "body.channels.pigeon.[key]"),
        ("/v1/me/preferences", {"country": "Canada"}, "body.country"),
        (
            "/v1/me/preferences",
            {
                "life_events": {
                    "moved": {"label": "Moved", "topics": ["removals"], "until": "2020-01-01T00:00:00Z"}
                }
            },
            "life_events.moved.until",
        ),
        ("/v1/me/context", {"intent": "shopping"}, "body.intent"),
        ("/v1/me/context", {"situation": "home", "valid_until": "2026-11-01T00:00:00Z"}, "valid_until"),
        ("/v1/me/context", {"situation": "home", "valid_until": "2027-06-01T00:00:00Z"}, "valid_until"),
        ("/v1/me/context", {"do_not_disturb_until": "2026-11-02T22:00:00"}, "body.do_not_disturb_until"),
    ],
)
def test_bad_customer_input_is_a_problem_that_changes_nothing(
    client: TestClient, session: Session, path: str, body: dict[str, Any], field: str
) -> None:
    token = customer_token(client, org_client(client, session), "c-1")
    before = counts(session)
    method = "PATCH" if path.endswith("preferences") else "PUT"
    response = client.request(method, path, headers=token, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
    assert counts(session) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"offer_ids": ["tea", "no-such-offer"], "candidates": None}, "offer_ids[1]"),
        ({"at": "2026-11-01T08:00:00Z"}, "at"),
        ({"at": "2026-11-20T08:00:00Z"}, "at"),
        ({"channels": ["email", "email"]}, "body.channels"),
        ({"channels": ["telegram"]}, "body.channels[0]"),
        ({"purpose": "mind-reading"}, "body.purpose"),
        ({"offer_ids": ["tea"]}, "body"),  # both offer_ids and candidates
    ],
)
def test_bad_decision_requests_are_problems_that_log_nothing(
    client: TestClient, session: Session, body: dict[str, Any], field: str
) -> None:
    org = org_client(client, session)
    grant(client, org, "c-1")
    client.put("/v1/offers/tea", headers=org, json={"title": "Tea", "topics": ["tea"]}).raise_for_status()
    before = counts(session)
    payload = {"subject": "c-1", "purpose": "marketing", "channels": ["email"]}
    payload.update({"candidates": [{"id": "tea", "title": "Tea"}]} | body)
    payload = {k: v for k, v in payload.items() if v is not None}
    response = client.post("/v1/decisions", headers=org, json=payload)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert counts(session) == before


def test_an_unknown_or_foreign_customer_is_dont_send_and_reveals_nothing(
    client: TestClient, session: Session
) -> None:
    airline, hotel = org_client(client, session, "Airline"), org_client(client, session, "Hotel")
    grant(client, hotel, "guest-1")
    foreign, unknown = decide(client, airline, "guest-1"), decide(client, airline, "nobody-at-all")
    for answer in (foreign, unknown):
        assert answer["allowed"] is False
        assert [r["code"] for r in answer["reasons"]] == ["subject.unknown"]
    strip = ("decision_id",)
    assert {k: v for k, v in foreign.items() if k not in strip} == {
        k: v for k, v in unknown.items() if k not in strip
    }


def test_offers_round_trip_and_stay_with_their_org(client: TestClient, session: Session) -> None:
    airline, hotel = org_client(client, session, "Airline"), org_client(client, session, "Hotel")
    spec = {"title": "Lounge pass", "topics": ["travel"], "channels": ["email"], "countries": ["GB"]}
    assert client.put("/v1/offers/lounge", headers=airline, json=spec).status_code == 201
    assert client.put("/v1/offers/lounge", headers=airline, json=spec).status_code == 200
    read = client.get("/v1/offers/lounge", headers=airline).json()
    assert read["title"] == "Lounge pass" and read["countries"] == ["GB"] and read["suppress_days"] == 30
    assert client.get("/v1/offers/lounge", headers=hotel).status_code == 404
    grant(client, hotel, "g-1")
    response = client.post(
        "/v1/decisions",
        headers=hotel,
        json={"subject": "g-1", "purpose": "marketing", "channels": ["email"], "offer_ids": ["lounge"]},
    )
    assert response.status_code == 422  # another org's offer is not in your catalogue


def test_feedback_holds_an_offer_back_and_opting_out_withdraws(client: TestClient, session: Session) -> None:
    org = org_client(client, session)
    grant(client, org, "c-1")
    token = customer_token(client, org, "c-1")
    client.patch("/v1/me/preferences", headers=token, json={"interests": {"tea": 0.8, "cake": 0.6}})
    cake = {"id": "cake", "title": "Cake", "topics": ["cake"]}
    tea = {"id": "tea", "title": "Tea", "topics": ["tea"]}
    first = decide(client, org, "c-1", candidates=[tea, cake])
    assert first["offer"] == "tea"

    fb = client.post(
        f"/v1/decisions/{first['decision_id']}/feedback", headers=org, json={"kind": "dismissed"}
    )
    assert fb.status_code == 204
    second = decide(client, org, "c-1", candidates=[tea, cake])
    assert second["offer"] == "cake"
    assert [r["code"] for r in second["ranking"][1]["reasons"]] == ["feedback.suppressed"]

    other = org_client(client, session, "Other Org")
    assert (
        client.post(
            f"/v1/decisions/{second['decision_id']}/feedback", headers=other, json={"kind": "accepted"}
        ).status_code
        == 404
    )
    out = client.post(
        f"/v1/decisions/{second['decision_id']}/feedback", headers=org, json={"kind": "opted-out"}
    )
    assert out.status_code == 204
    history = client.get("/v1/subjects/c-1/consents/history", headers=org).json()
    assert history["items"][0]["status"] == "withdrawn"
    third = decide(client, org, "c-1", candidates=[tea, cake])
    assert [r["code"] for r in third["reasons"]] == ["consent.withdrawn"]


def test_a_gpc_signal_is_recorded_as_the_customers_refusal(client: TestClient, session: Session) -> None:
    org = org_client(client, session)
    grant(client, org, "c-1", purpose="personalised-offers")
    token = customer_token(client, org, "c-1")
    assert client.get("/v1/me", headers={**token, "Sec-GPC": "1"}).status_code == 200
    before = counts(session)
    client.get("/v1/me", headers={**token, "Sec-GPC": "1"}).raise_for_status()
    assert counts(session) == before  # the same signal again records nothing new

    state = {c["purpose"]: c for c in client.get("/v1/subjects/c-1/consents", headers=org).json()["consents"]}
    assert (
        state["personalised-offers"]["status"] == "denied" and state["partner-sharing"]["status"] == "denied"
    )
    history = client.get("/v1/subjects/c-1/consents/history", headers=org).json()["items"]
    assert {r["method"] for r in history if r["status"] == "denied"} == {"gpc"}
    answer = decide(client, org, "c-1", purpose="personalised-offers")
    assert [r["code"] for r in answer["reasons"]] == ["consent.gpc"]


def test_the_access_log_shows_who_asked_through_this_window(client: TestClient, session: Session) -> None:
    airline, hotel = org_client(client, session, "Skyway Airlines"), org_client(client, session, "Hotel")
    for org in (airline, hotel):
        client.put("/v1/subjects/c-1", headers=org, json={"email": "same@example.org"}).raise_for_status()
    grant(client, airline, "c-1")
    decide(client, airline, "c-1")
    decide(client, hotel, "c-1", purpose="analytics")
    log = client.get("/v1/me/access-log", headers=customer_token(client, airline, "c-1")).json()
    assert len(log) == 1
    entry = log[0]
    assert (
        entry["org"] == "Skyway Airlines"
        and entry["purpose"] == "marketing"
        and entry["channels"] == ["email"]
    )
    assert entry["allowed"] is False and entry["reasons"] == ["relevance.below_floor", "relevance.none"]
    assert entry["explanation"].startswith("Not sending:")


def test_every_change_is_in_the_ledger_and_it_verifies(
    client: TestClient, session: Session, settings: Settings, visitor: Callable[..., Visitor]
) -> None:
    org = org_client(client, session)
    client.put("/v1/subjects/c-1", headers=org, json={"email": "c-1@example.com"}).raise_for_status()
    token = customer_token(client, org, "c-1")
    browser = visitor()
    browser.sign_in("c-1@example.com")  # the person, who alone decides what is shared
    person = auth(browser.person_token())
    [business] = client.get("/v1/me/directory", headers=person).json()
    before = session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
    client.put("/v1/me/context", headers=token, json={"situation": "home"}).raise_for_status()
    client.patch("/v1/me/preferences", headers=token, json={"interests": {"tea": 1}}).raise_for_status()
    client.put(f"/v1/me/sharing/{business['id']}", headers=person, json={"profile": True}).raise_for_status()
    client.post(
        "/v1/subjects/c-1/events", headers=org, json={"type": "purchase", "item": "mug"}
    ).raise_for_status()
    types = session.execute(select(LedgerEntry.type).order_by(LedgerEntry.seq).offset(before)).scalars().all()
    assert types == ["profile.changed", "profile.changed", "sharing.changed", "event.recorded"]
    assert "tea" not in str(session.execute(select(LedgerEntry.body)).scalars().all())  # digests, not values
    reports = list(ledger_service.verify(session, keys=keys.load(settings.keys_dir)))
    assert reports and all(r.ok for r in reports)


def test_an_offer_dismissed_in_the_orgs_own_app_is_held_back(client: TestClient, session: Session) -> None:
    org = org_client(client, session)
    grant(client, org, "c-1")
    token = customer_token(client, org, "c-1")
    client.patch("/v1/me/preferences", headers=token, json={"interests": {"tea": 0.8}}).raise_for_status()
    event = {"type": "offer.dismissed", "offer_id": "tea"}
    assert client.post("/v1/subjects/c-1/events", headers=org, json=event).status_code == 201
    answer = decide(client, org, "c-1")
    assert answer["allowed"] is False
    assert [r["code"] for r in answer["ranking"][0]["reasons"]] == ["feedback.suppressed"]


def test_a_decision_speaks_the_language_the_org_asks_for(client: TestClient, session: Session) -> None:
    org = org_client(client, session)
    token = customer_token(client, org, "c-1")
    client.put("/v1/me/context", headers=token, json={"intent": "in-a-rush"}).raise_for_status()
    grant(client, org, "c-1")
    payload = {
        "subject": "c-1",
        "purpose": "marketing",
        "channels": ["email"],
        "candidates": [{"id": "tea", "title": "Tea"}],
    }
    english = client.post("/v1/decisions", headers=org, json=payload)
    assert english.headers["content-language"] == "en"
    assert english.json()["reasons"] == [
        {"code": "context.in_a_rush", "message": "you said you're in a rush"}
    ]
    assert english.json()["explanation"].startswith("Not sending: you said you're in a rush; a better moment")
    german = client.post("/v1/decisions", headers={**org, "Accept-Language": "de-CH, en;q=0.5"}, json=payload)
    assert german.headers["content-language"] == "de"
    answer = german.json()
    assert answer["reasons"] == [
        {"code": "context.in_a_rush", "message": "Sie haben gesagt, dass Sie es eilig haben"}
    ]
    assert answer["explanation"].startswith("Wird nicht gesendet: Sie haben gesagt, dass Sie es eilig haben;")
    unknown = client.post("/v1/decisions", headers={**org, "Accept-Language": "it, ja;q=0.8"}, json=payload)
    assert (
        unknown.headers["content-language"] == "en"
        and unknown.json()["explanation"] == english.json()["explanation"]
    )

    log = client.get("/v1/me/access-log", headers={**token, "Accept-Language": "de"})
    assert log.headers["content-language"] == "de"
    for answer_in in (english, german, unknown, log):  # a cache must not serve one language for another
        assert answer_in.headers["vary"] == "Accept-Language"
    assert {e["explanation"].partition(";")[0] for e in log.json()} == {
        "Wird nicht gesendet: Sie haben gesagt, dass Sie es eilig haben"
    }
    assert all(e["reasons"] == ["context.in_a_rush"] for e in log.json())
    stored = session.execute(select(DecisionLog.explanation)).scalars().all()
    assert set(stored) == {english.json()["explanation"]}, "the log keeps the English sentence too"
