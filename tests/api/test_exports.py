"""Access requests through the API: the customer's own export and the org's, each one JSON document
with provenance, times and verifiable receipts, and nothing another business holds."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from harken.jws import keys_from_jwks
from harken.ledger.receipts import verify_receipt
from tests.stories.conftest import Business, business  # noqa: F401


def test_the_org_and_the_customer_export_the_same_window(
    business: Callable[[str], Business],  # noqa: F811
    client: TestClient,
) -> None:
    shop, airline = business("Chapter & Verse"), business("Skyway Airlines")
    app = shop.customer("priya", email="priya@example.com", grant={"marketing": ["email"]})
    airline.customer("p-77", email="priya@example.com", grant={"marketing": ["sms"]})
    app.preferences(interests={"thrillers": 0.9})
    shop.call("POST", "/v1/subjects/priya/events", {"type": "purchase", "item": "isbn-1"})
    airline.call(
        "PATCH", "/v1/subjects/p-77/preferences", {"provenance": "inferred", "interests": {"golf": 0.4}}
    )

    by_org = shop.call("GET", "/v1/subjects/priya/export")
    by_customer = app.call("GET", "/v1/me/export")
    assert by_org == by_customer
    assert by_org["scope"] == "Chapter & Verse"
    assert [b["name"] for b in by_org["businesses"]] == ["Chapter & Verse"]
    assert [(d["field"], d["provenance"], d["source"]) for d in by_org["data"]] == [
        ("interest:thrillers", "declared", "Chapter & Verse")
    ]
    assert by_org["events"][0]["item"] == "isbn-1" and "golf" not in str(by_org)
    [consent] = by_org["consents"]
    keys = keys_from_jwks(client.get("/.well-known/jwks.json").json())
    assert verify_receipt(consent["receipt"]["jws"], keys)["record_id"] == consent["id"]


def test_another_orgs_customer_is_not_found(business: Callable[[str], Business]) -> None:  # noqa: F811
    shop, airline = business("Chapter & Verse"), business("Skyway Airlines")
    shop.customer("priya")
    assert airline.call("GET", "/v1/subjects/priya/export", status=404)["status"] == 404
    assert airline.call("GET", "/v1/subjects/nobody/export", status=404)["status"] == 404
