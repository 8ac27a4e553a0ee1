"""Story 19, "My terms, not theirs" (seed 001, and IEEE 7012 MyTerms): the customer proffers "service
delivery only" to every business they deal with. The bookshop accepts: both keep matching records the
hub signed, entered in the bookshop's ledger; its next marketing decision is refused, citing the
agreement, while a service message passes. The airline declines: the customer sees that, and can no
longer share with it under those terms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from harken.jws import keys_from_jwks
from harken.terms import record
from tests.stories.conftest import Business, Customer, codes

EMAIL = "rosa.klein@example.com"


def test_service_delivery_only_binds_the_bookshop_that_accepted_it(
    business: Callable[[str], Business], verified: Callable[[str], Customer], client: TestClient
) -> None:
    bookshop, airline = business("Chapter One Books"), business("Skyway Airlines")
    bookshop.call("PUT", "/v1/terms/accepted", {"agreements": ["SD-BASE", "NO-AI"]})
    bookshop.customer("rosa", email=EMAIL, grant={"marketing": ["email"]}).preferences(interests={"books": 1})
    airline.customer("R-1001", email=EMAIL, grant={"marketing": ["email"]})
    airline.offer("lounge", topics=["travel"])
    bookshop.offer("new-thrillers", topics=["books"])
    bookshop.offer("order-shipped", topics=["books"])
    before = bookshop.decide("rosa", ["new-thrillers"], ["email"])
    assert before["allowed"] is True  # she consented to marketing: until her terms, it goes

    # Anyone can read what the bookshop says it accepts, and the roster behind it.
    public = client.get(f"/.well-known/myterms/{bookshop.call('GET', '/v1/terms/accepted')['org']}").json()
    assert [a["id"] for a in public["accepts"]] == ["NO-AI", "SD-BASE"]
    assert "SD-BASE" in {a["id"] for a in client.get("/.well-known/myterms").json()["agreements"]}

    rosa = verified(EMAIL)
    proffered = rosa.call("POST", "/v1/me/terms", {"agreement": "SD-BASE"})  # to every business she linked
    assert {p["org_name"] for p in proffered} == {"Chapter One Books", "Skyway Airlines"}
    assert {p["state"] for p in proffered} == {"proffered"}
    to = {p["org_name"]: p["id"] for p in proffered}

    # Each business sees the proffer under its own ref, and answers it.
    waiting = bookshop.call("GET", "/v1/terms/proffers?state=proffered")["items"]
    assert [(p["id"], p["ref"], p["agreement"]) for p in waiting] == [
        (to["Chapter One Books"], "rosa", "SD-BASE")
    ]
    theirs = bookshop.call("POST", f"/v1/terms/proffers/{to['Chapter One Books']}/accept")
    assert theirs["record"]["state"] == "accepted"
    airline.call("POST", f"/v1/terms/proffers/{to['Skyway Airlines']}/decline")

    # The bookshop's next marketing decision is refused, naming the agreement; a service message passes.
    refused = bookshop.decide("rosa", ["new-thrillers"], ["email"])
    assert refused["allowed"] is False and codes(refused) == ["terms.purpose_excluded"]
    assert "Service delivery only" in refused["explanation"]
    assert {"field": "terms.SD-BASE", "provenance": "declared"} in refused["data_used"]
    offers = bookshop.decide("rosa", ["new-thrillers"], ["email"], purpose="personalised-offers")
    assert codes(offers) == ["terms.purpose_excluded"]
    shipped = bookshop.decide("rosa", ["order-shipped"], ["email"], purpose="service")
    assert shipped["allowed"] is True and shipped["offer"] == "order-shipped"
    # The airline declined: her terms do not bind it (its consent still does).
    assert "terms.purpose_excluded" not in codes(airline.decide("R-1001", ["lounge"], ["email"]))

    # Both sides fetch the same record, signed by the hub, and check it offline against its public keys.
    keys = keys_from_jwks(client.get("/.well-known/jwks.json").json())
    hers = rosa.call("GET", f"/v1/me/terms/{to['Chapter One Books']}")
    shop = bookshop.call("GET", f"/v1/terms/proffers/{to['Chapter One Books']}")
    assert hers == shop
    document = record.verify(hers, keys)
    assert document["state"] == "accepted" and document["agreement"]["id"] == "SD-BASE"
    assert document["person"]["ref"] == "rosa" and document["business"]["name"] == "Chapter One Books"
    assert document["business"]["answered_by_key"] is not None  # the bookshop's key answered
    proffer = record.verify(document["person"]["proffer_jws"], keys, record.PROFFER_TYP)  # her side
    assert proffer["agreement"]["id"] == "SD-BASE" and proffer["person"] == {"ref": "rosa"}
    forged = {**hers, "record": {**hers["record"], "state": "declined"}}
    _refused_as_forged(forged, keys)

    # She sees who accepted what; the airline that declined cannot be shared with under her terms.
    mine = {p["org_name"]: p["state"] for p in rosa.call("GET", "/v1/me/terms")["proffers"]}
    assert mine == {"Chapter One Books": "accepted", "Skyway Airlines": "declined"}
    ids = {b["name"]: b["id"] for b in rosa.call("GET", "/v1/me/directory")}
    share = {
        "grants": [{"org": ids["Skyway Airlines"], "purpose": "service", "fields": ["context"]}],
        "expires_at": "2026-11-03T08:00:00Z",
    }
    blocked = client.post("/v1/me/shares", headers=rosa.headers, json=share)
    assert blocked.status_code == 422 and blocked.json()["errors"][0]["field"] == "grants[0].org"
    assert "declined your terms (SD-BASE)" in blocked.json()["detail"]

    # Her own copy is in her export; withdrawing frees the bookshop from the terms at its next decision.
    exported = rosa.call("GET", "/v1/me/export")
    assert {t["record"]["id"] for t in exported["terms"]} == set(to.values())
    rosa.call("DELETE", f"/v1/me/terms/{to['Chapter One Books']}")
    assert bookshop.decide("rosa", ["new-thrillers"], ["email"])["allowed"] is True


def _refused_as_forged(saved: dict[str, Any], keys: dict[str, Any]) -> None:
    try:
        record.verify(saved, keys)
    except record.RecordProblem as problem:
        assert "differs" in str(problem)
    else:
        raise AssertionError("an edited record verified")
