"""Signed heads leave the database: each checkpoint reaches the orgs concerned as `ledger.checkpoint`, in
the transaction that signs it, and GET /v1/ledger/heads lists the latest of each chain to anyone."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.ledger import chain, witness
from harken.ledger import service as ledger_service
from harken.ledger.service import Notary
from harken.orgs.models import Org
from harken.webhooks.models import OutboxEvent
from tests.factories import T0, grant, org_client


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


def test_the_latest_heads_are_public_and_read_as_a_witness_file(client: TestClient, session: Session) -> None:
    skyway = org_client(client, session)
    for n in range(11):
        grant(client, skyway, f"cust-{n}")
    chain_id = org_named(session, "Skyway Airlines").chain

    listed = client.get("/v1/ledger/heads")  # no key
    assert listed.status_code == 200
    assert [(h["chain"], h["seq"]) for h in listed.json()["heads"]] == [(chain_id, 10)]
    only = client.get("/v1/ledger/heads", params={"chain": "centre"}).json()
    assert only == {"heads": []}

    kept = witness.read(listed.text)
    assert kept == [ledger_service.checkpoints(session, chain_id)[-1]]
    assert witness.read("\n".join(json.dumps(h) for h in listed.json()["heads"])) == kept


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
