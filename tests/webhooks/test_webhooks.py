"""Webhooks: signed per Standard Webhooks (checked by the spec's vector and the reference library),
written to the outbox with the change, delivered at least once, in order per customer, with backoff,
dead letters, 410 and replay; payloads carry only what the org may see."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import standardwebhooks
import standardwebhooks.webhooks

from harken.webhooks import signing, worker
from tests.receiver import Receiver
from tests.stories.conftest import Business, Customer
from tests.webhooks.conftest import Worker, subscribe

T = TypeVar("T")
VECTOR = json.loads((Path(__file__).parents[1] / "vectors" / "standard-webhooks.json").read_text())


def test_the_signature_is_the_specifications() -> None:
    signed = signing.sign(VECTOR["secret"], VECTOR["msg_id"], VECTOR["timestamp"], VECTOR["payload"].encode())
    assert signed == VECTOR["signature"]


def test_the_reference_library_verifies_what_harken_signs() -> None:
    secret, body = signing.new_secret(), b'{"type":"consent.updated"}'
    now = int(datetime.now(UTC).timestamp())
    headers = signing.headers(secret, "msg_1", now, body)
    assert standardwebhooks.Webhook(secret).verify(body, headers) == {"type": "consent.updated"}
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(signing.new_secret()).verify(body, headers)


def test_a_body_that_is_not_utf8_is_refused_not_crashed_on() -> None:
    secret = signing.new_secret()
    headers = signing.headers(secret, "msg_1", int(datetime.now(UTC).timestamp()), b"{}")
    with pytest.raises(signing.WebhookVerificationError, match="UTF-8"):
        signing.verify(secret, b'{"x":"\xff"}', headers)


def test_a_consent_change_is_delivered_signed(
    business: Callable[[str], Business], receiver: Receiver, deliver: Worker
) -> None:
    shop = business("Chapter & Verse")
    secret = subscribe(shop, receiver.url, ["consent.updated"])
    shop.customer("priya", grant={"marketing": ["email"]})
    assert deliver.run() == 1
    [(webhook_id, event)] = receiver.events(secret)
    assert webhook_id.startswith("msg_") and event["type"] == "consent.updated"
    assert event["data"] | {"record_id": None, "captured_at": None} == {
        "ref": "priya",
        "purpose": "marketing",
        "status": "granted",
        "channels": ["email"],
        "method": "api",
        "captured_at": None,
        "expires_at": None,
        "record_id": None,
    }
    [delivery] = shop.call("GET", "/v1/webhooks/deliveries")
    assert delivery["status"] == "delivered" and delivery["webhook_id"] == webhook_id
    assert [a["status_code"] for a in delivery["attempts"]] == [200]
    assert deliver.run() == 0  # delivered once, not again


def test_an_endpoint_that_is_down_gets_every_event_in_order_when_back(
    business: Callable[[str], Business], receiver: Receiver, deliver: Worker
) -> None:
    shop = business("Chapter & Verse")
    secret = subscribe(shop, receiver.url, ["consent.updated"])
    shop.customer("priya")
    for status in ("granted", "withdrawn", "granted"):
        shop.call("PUT", "/v1/subjects/priya/consents/marketing", {"status": status, "channels": ["email"]})
    shop.customer("tom", grant={"marketing": ["sms"]})
    receiver.script = [503, 500]  # down for the first two attempts
    deliver.run()
    assert receiver.received == []  # priya's first event failed, so her others wait; tom's failed too
    for _ in range(12):  # back off, retry, until everything has arrived
        deliver.clock.advance(minutes=10)
        deliver.run()
    events = receiver.events(secret)
    priya = [e["data"]["status"] for _, e in events if e["data"]["ref"] == "priya"]
    assert priya == ["granted", "withdrawn", "granted"]  # in order per customer
    assert [e["data"]["ref"] for _, e in events].count("tom") == 1
    assert len({webhook_id for webhook_id, _ in events}) == len(events) == 4
    failed = [d for d in shop.call("GET", "/v1/webhooks/deliveries") if len(d["attempts"]) > 1]
    assert failed and all(d["status"] == "delivered" for d in failed)
    assert [a["status_code"] for d in failed for a in d["attempts"]].count(200) == len(failed)


def test_retries_back_off_with_jitter_and_give_up_after_three_days(
    business: Callable[[str], Business], receiver: Receiver, deliver: Worker
) -> None:
    shop = business("Chapter & Verse")
    subscribe(shop, receiver.url, ["consent.updated"])
    shop.customer("priya", grant={"marketing": ["email"]})
    receiver.script = [500] * 1000
    waits = []
    while True:
        deliver.run()
        [delivery] = shop.call("GET", "/v1/webhooks/deliveries")
        if delivery["status"] != "pending":
            break
        due = datetime.fromisoformat(delivery["next_attempt_at"])
        waits.append(due - deliver.clock.now)
        deliver.clock.now = due
    assert delivery["status"] == "dead" and not receiver.received
    assert waits[0] <= timedelta(seconds=5) and max(waits) <= timedelta(hours=6)
    assert waits[5] > waits[1] * 4  # exponential
    assert len(set(waits)) == len(waits)  # jittered
    attempts = delivery["attempts"]
    spent = datetime.fromisoformat(attempts[-1]["attempted_at"]) - datetime.fromisoformat(
        attempts[0]["attempted_at"]
    )
    assert timedelta(days=3) <= spent < timedelta(days=3, hours=7)

    # Replayed, the dead event goes out again under the same id once the endpoint answers.
    receiver.script = []
    again = shop.call("POST", f"/v1/webhooks/deliveries/{delivery['id']}/replay", status=201)
    assert again["webhook_id"] == delivery["webhook_id"]
    deliver.run()
    assert [h["webhook-id"] for h, _, _ in receiver.received] == [delivery["webhook_id"]]


def test_410_gone_disables_the_endpoint(
    business: Callable[[str], Business], receiver: Receiver, deliver: Worker
) -> None:
    shop = business("Chapter & Verse")
    subscribe(shop, receiver.url, ["consent.updated"])
    shop.customer("priya", grant={"marketing": ["email"]})
    receiver.script = [410]
    deliver.run()
    [endpoint] = shop.call("GET", "/v1/webhooks")
    assert endpoint["disabled_reason"] == "the endpoint answered 410 Gone"
    shop.call("PUT", "/v1/subjects/priya/consents/marketing", {"status": "withdrawn"})
    deliver.clock.advance(hours=1)
    assert deliver.run() == 0 and not receiver.received


def test_a_time_range_is_replayed(
    business: Callable[[str], Business], receiver: Receiver, deliver: Worker
) -> None:
    shop = business("Chapter & Verse")
    secret = subscribe(shop, receiver.url, ["consent.updated"])
    start = deliver.clock.now
    shop.customer("priya", grant={"marketing": ["email"]})
    deliver.clock.advance(hours=1)
    shop.customer("tom", grant={"marketing": ["email"]})
    deliver.run()
    [endpoint] = shop.call("GET", "/v1/webhooks")
    replayed = shop.call(
        "POST",
        f"/v1/webhooks/{endpoint['id']}/replay",
        {"since": start.isoformat(), "until": (start + timedelta(minutes=30)).isoformat()},
    )
    assert replayed == {"deliveries": 1}
    deliver.run()
    ids = [webhook_id for webhook_id, _ in receiver.events(secret)]
    assert len(ids) == 3 and ids[2] == ids[0]  # priya's event again, under its own id


def test_payloads_carry_only_what_the_org_may_see(
    business: Callable[[str], Business],
    verified: Callable[[str], Customer],
    receiver: Receiver,
    deliver: Worker,
) -> None:
    shop, airline = business("Chapter & Verse"), business("Skyway Airlines")
    secret = subscribe(airline, receiver.url, ["preferences.updated", "context.updated", "share.updated"])
    app = shop.customer("priya", email="priya@example.com")
    airline.customer("p-77", email="priya@example.com", grant={"marketing": ["email"]})
    priya = verified("priya@example.com")  # she linked both businesses
    app.preferences(interests={"thrillers": 0.9}, time_zone="Europe/London")
    deliver.run()
    assert receiver.received == []  # told to the bookshop, not shared with the airline

    ids = {b["name"]: b["id"] for b in priya.call("GET", "/v1/me/directory")}
    sharing = f"/v1/me/sharing/{ids['Skyway Airlines']}"
    airline_app = airline.customer("p-77")
    refused = airline_app.client.put(sharing, headers=airline_app.headers, json={"profile": True})
    assert refused.status_code == 403  # only the person opens what they told others
    priya.call("PUT", sharing, {"profile": True})
    app.preferences(interests={"borneo": 1.0})
    app.preferences(
        life_events={"move": {"label": "Moving", "topics": ["home"], "until": "2027-01-01T00:00:00Z"}}
    )
    app.context(intent="researching")
    deliver.run()
    events = [e for _, e in receiver.events(secret)]
    assert [e["type"] for e in events] == ["share.updated", "preferences.updated", "context.updated"]
    assert events[0]["data"] == {"ref": "p-77", "profile": True, "purchases": False}
    assert events[1]["data"] == {"ref": "p-77", "fields": ["interest:borneo"], "provenance": "declared"}
    assert events[2]["data"]["fields"] == ["context"]
    assert "thrillers" not in json.dumps(events) and "priya" not in json.dumps(
        events
    )  # the airline's ref only


def test_a_claim_is_one_workers_until_it_lapses(
    business: Callable[[str], Business], receiver: Receiver, deliver: Worker
) -> None:
    """Claims in turn (test_claim_race.py races two processes)."""
    shop = business("Chapter & Verse")
    subscribe(shop, receiver.url, ["consent.updated"])
    for n in range(6):
        shop.customer(f"c-{n}", grant={"marketing": ["email"]})
    now = deliver.clock()
    mine = deliver.unit(lambda first: worker.claim(first, now=now, limit=4))
    theirs = deliver.unit(lambda second: worker.claim(second, now=now, limit=10))
    assert len(mine) == 4 and len(theirs) == 2
    assert not {c.delivery_id for c in mine} & {c.delivery_id for c in theirs}
    # A claim lapses after a minute, then another may retake it…
    assert deliver.unit(lambda third: worker.claim(third, now=now + timedelta(seconds=61), limit=10))
    # …and the first worker's late result is not recorded.
    outcome = worker.Outcome(200, None, 5)
    assert (
        deliver.unit(lambda late: worker.record(late, mine[0], outcome, now=now, rng=random.Random()))
        == "lost"
    )


def test_subscriptions_are_the_orgs_own(business: Callable[[str], Business], receiver: Receiver) -> None:
    shop, airline = business("Chapter & Verse"), business("Skyway Airlines")
    subscribe(shop, receiver.url, ["consent.updated"])
    [endpoint] = shop.call("GET", "/v1/webhooks")
    assert "secret" not in endpoint
    assert airline.call("GET", "/v1/webhooks") == []
    airline.call("DELETE", f"/v1/webhooks/{endpoint['id']}", status=404)
    airline.call("GET", f"/v1/webhooks/deliveries?endpoint_id={endpoint['id']}", status=404)
    for body, field_name in (
        ({"url": "ftp://example.com", "events": ["consent.updated"]}, "url"),
        ({"url": receiver.url, "events": []}, "events"),
        ({"url": receiver.url, "events": ["consent.updated", "consent.updated"]}, "events"),
        ({"url": receiver.url, "events": ["everything"]}, "events[0]"),
    ):
        problem = shop.call("POST", "/v1/webhooks", body, status=422)
        assert problem["errors"][0]["field"].startswith(f"body.{field_name}"), problem
    shop.call("DELETE", f"/v1/webhooks/{endpoint['id']}", status=204)
    assert shop.call("GET", "/v1/webhooks")[0]["disabled_reason"] == "deleted by the org"


def test_another_orgs_ids_are_the_same_404_as_unknown_ones(
    business: Callable[[str], Business], receiver: Receiver, deliver: Worker
) -> None:
    shop, airline = business("Chapter & Verse"), business("Skyway Airlines")
    subscribe(shop, receiver.url, ["consent.updated"])
    shop.customer("priya", grant={"marketing": ["email"]})
    deliver.run()
    [delivery] = shop.call("GET", "/v1/webhooks/deliveries")
    endpoint_id, unknown = delivery["endpoint_id"], str(uuid.uuid4())
    window = {"since": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z"}

    def answers(method: str, path: str, body: Any = None) -> set[bytes]:
        """The raw 404 for each of: another org's delivery id, its endpoint id, an unknown id."""
        found = set()
        for id in (delivery["id"], endpoint_id, unknown):
            response = airline.client.request(method, path.format(id=id), headers=airline.headers, json=body)
            assert response.status_code == 404, response.text
            found.add(response.content)
        return found

    [replay] = answers("POST", "/v1/webhooks/deliveries/{id}/replay")
    assert endpoint_id.encode() not in replay and delivery["id"].encode() not in replay
    assert answers("DELETE", "/v1/webhooks/{id}") == answers(
        "GET", "/v1/webhooks/deliveries?endpoint_id={id}"
    )
    assert len(answers("POST", "/v1/webhooks/{id}/replay", window)) == 1
