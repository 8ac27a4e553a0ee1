"""Signed heads leave the database: each checkpoint reaches the orgs concerned as `ledger.checkpoint`, in
the transaction that signs it, and GET /v1/ledger/heads lists the latest of each of the hub's own chains to
anyone, and of an org's own chain to that org's key alone."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.ledger import chain, witness
from harken.ledger import service as ledger_service
from harken.ledger.service import Notary
from harken.orgs.models import Org
from harken.webhooks.models import OutboxEvent
from tests.factories import T0, auth, grant, org_client


def subscribe(client: TestClient, headers: dict[str, str], events: list[str]) -> None:
    body = {"url": "https://hooks.example.com/harken", "events": events}
    assert client.post("/v1/webhooks", headers=headers, json=body).status_code == 201


def delivered(session: Session, org: Org) -> list[dict[str, Any]]:
    """The `ledger.checkpoint` events queued for the org, as their webhooks carry them."""
    rows = session.execute(
        select(OutboxEvent.payload)
        .where(OutboxEvent.org_id == org.id, OutboxEvent.type == "ledger.checkpoint")
        .order_by(OutboxEvent.seq)
    ).scalars()
    return list(rows)


def org_named(session: Session, name: str) -> Org:
    return session.execute(select(Org).where(Org.name == name)).scalar_one()


def test_each_checkpoint_of_an_org_s_chain_reaches_that_org_alone(
    client: TestClient, session: Session
) -> None:
    skyway = org_client(client, session, "Skyway Airlines")
    hotel = org_client(client, session, "Harbour Hotel")
    subscribe(client, skyway, ["ledger.checkpoint"])
    subscribe(client, hotel, ["ledger.checkpoint"])
    for n in range(5):  # the tests' hub signs every 5th entry
        grant(client, skyway, f"cust-{n}")

    airline = org_named(session, "Skyway Airlines")
    events = delivered(session, airline)
    assert [e["type"] for e in events] == ["ledger.checkpoint"]
    head = events[0]["data"]
    assert (head["chain"], head["seq"], head["every"]) == (airline.chain, 5, 5)
    assert head == chain.signed_head(ledger_service.checkpoints(session, airline.chain)[0])
    assert delivered(session, org_named(session, "Harbour Hotel")) == []


def test_a_checkpoint_of_a_chain_of_the_hub_s_own_reaches_every_subscribed_org(
    client: TestClient, session: Session, notary: Notary
) -> None:
    skyway = org_client(client, session, "Skyway Airlines")
    subscribe(client, skyway, ["ledger.checkpoint"])
    subscribe(client, org_client(client, session, "Harbour Hotel"), ["ledger.checkpoint", "consent.updated"])
    subscribe(client, org_client(client, session, "Chapter & Verse Books"), ["consent.updated"])
    centre = Notary(notary.keys, checkpoint_every=2)
    for n in range(2):
        ledger_service.append(session, notary=centre, chain_id="centre", type="t", data={"n": n}, at=T0)

    heads = {
        name: delivered(session, org_named(session, name)) for name in ("Skyway Airlines", "Harbour Hotel")
    }
    assert [[e["data"]["chain"] for e in events] for events in heads.values()] == [["centre"], ["centre"]]
    assert heads["Skyway Airlines"] == heads["Harbour Hotel"]
    assert delivered(session, org_named(session, "Chapter & Verse Books")) == []


def signed_centre(session: Session, notary: Notary) -> None:
    """A signed head of the hub's own `centre` chain."""
    centre = Notary(notary.keys, checkpoint_every=2)
    for n in range(2):
        ledger_service.append(session, notary=centre, chain_id="centre", type="t", data={"n": n}, at=T0)
    session.commit()


def listed(client: TestClient, headers: dict[str, str] | None = None) -> list[tuple[str, int]]:
    answer = client.get("/v1/ledger/heads", headers=headers)
    assert answer.status_code == 200, answer.text
    return [(h["chain"], h["seq"]) for h in answer.json()["heads"]]


def test_without_a_key_only_the_hub_s_own_chains_are_listed(
    client: TestClient, session: Session, notary: Notary
) -> None:
    """Which businesses are on the hub, and how many entries each has, is theirs: no one else's to list."""
    skyway = org_client(client, session)
    for n in range(5):
        grant(client, skyway, f"cust-{n}")
    signed_centre(session, notary)
    assert ledger_service.checkpoints(session, org_named(session, "Skyway Airlines").chain) != []

    assert listed(client) == [("centre", 2)]
    assert listed(client, {"Authorization": "Basic c2t5d2F5"}) == [("centre", 2)]  # not a bearer: no key


def test_an_org_key_adds_that_org_s_own_chain_and_no_other(
    client: TestClient, session: Session, notary: Notary
) -> None:
    skyway = org_client(client, session, "Skyway Airlines")
    hotel = org_client(client, session, "Harbour Hotel")
    for n in range(5):
        grant(client, skyway, f"cust-{n}")
        grant(client, hotel, f"guest-{n}")
    signed_centre(session, notary)
    airline = org_named(session, "Skyway Airlines").chain
    harbour = org_named(session, "Harbour Hotel").chain

    assert listed(client, skyway) == sorted([("centre", 2), (airline, 5)])
    assert listed(client, hotel) == sorted([("centre", 2), (harbour, 5)])
    own = client.get("/v1/ledger/heads", params={"chain": airline}, headers=skyway)
    assert own.status_code == 200 and [h["chain"] for h in own.json()["heads"]] == [airline]
    hub = client.get("/v1/ledger/heads", params={"chain": "centre"}).json()
    assert [h["chain"] for h in hub["heads"]] == ["centre"]


def test_another_org_s_chain_is_the_404_of_a_chain_that_does_not_exist(
    client: TestClient, session: Session
) -> None:
    skyway = org_client(client, session, "Skyway Airlines")
    hotel = org_client(client, session, "Harbour Hotel")
    for n in range(5):
        grant(client, skyway, f"cust-{n}")
    airline = org_named(session, "Skyway Airlines").chain
    customer = auth(client.post("/v1/subjects/cust-0/sessions", headers=skyway, json={}).json()["token"])

    def answer(chain_id: str, headers: dict[str, str] | None) -> tuple[int, str | None, Any]:
        got = client.get("/v1/ledger/heads", params={"chain": chain_id}, headers=headers)
        return got.status_code, got.headers.get("content-type"), got.json()

    missing = answer(f"org:{uuid.uuid4()}", hotel)
    assert missing[0] == 404 and missing[1] == "application/problem+json"
    # Another business's key, no key, and a token Skyway minted for its customer: never Skyway's chain.
    for headers in (hotel, None, customer):
        assert answer(airline, headers) == missing
        assert answer(f"org:{uuid.uuid4()}", headers) == missing
    assert answer("centre", skyway) == missing  # no signed head of it yet: the same 404
    assert answer(airline, skyway)[0] == 200


def test_a_key_that_is_not_live_is_refused_not_taken_for_no_key(client: TestClient, session: Session) -> None:
    """A monitor whose key was revoked must learn it, not silently lose its own chain from the list."""
    for bearer in ("hk_forged", "not-a-credential"):
        refused = client.get("/v1/ledger/heads", headers=auth(bearer))
        assert refused.status_code == 401, refused.text
        assert refused.json()["type"] == "/problems/unauthenticated"


def test_the_heads_an_org_lists_read_as_a_witness_file(client: TestClient, session: Session) -> None:
    skyway = org_client(client, session)
    for n in range(11):
        grant(client, skyway, f"cust-{n}")
    chain_id = org_named(session, "Skyway Airlines").chain

    answer = client.get("/v1/ledger/heads", headers=skyway)
    assert [(h["chain"], h["seq"]) for h in answer.json()["heads"]] == [(chain_id, 10)]
    kept = witness.read(answer.text)
    assert kept == [ledger_service.checkpoints(session, chain_id)[-1]]
    assert witness.read("\n".join(json.dumps(h) for h in answer.json()["heads"])) == kept


def test_a_witness_file_reads_heads_as_the_webhook_delivered_them(notary: Notary) -> None:
    ring = notary.keys
    cp = chain.sign_checkpoint(
        chain="org:x",
        seq=5,
        hash="ab" * 32,
        at="2026-11-02T08:10:00Z",
        every=5,
        key=ring.active,
        kid=ring.active_kid,
    )
    event = {"type": "ledger.checkpoint", "timestamp": "2026-11-02T08:10:00Z", "data": chain.signed_head(cp)}
    assert witness.read(json.dumps(event) + "\n" + json.dumps(event)) == [cp, cp]
    assert witness.read(json.dumps([event, {"heads": [event["data"]]}])) == [cp, cp]


def test_a_chain_name_with_characters_no_chain_has_is_a_422(client: TestClient) -> None:
    """schemathesis sent `?chain=%00`, which PostgreSQL refuses in a string: a 500 before."""
    for name in ("\x00", "org:\u2028", "a b"):
        refused = client.get("/v1/ledger/heads", params={"chain": name})
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "query.chain"
