"""A staff member of one org never sees or changes another's anything: every lookup goes through the
staff member's own org, and another org's id is the same 404 page as an id that does not exist."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.routing import APIRoute

from tests.console.conftest import Shop, Staffer, stock


@pytest.fixture
def two(shop_of: Callable[[str], Shop]) -> tuple[Shop, Staffer, Shop, Staffer]:
    books, rail = shop_of("Blue Door Books"), shop_of("Rail North")
    return books, books.staff("ana@bluedoor.test"), rail, rail.staff("raj@railnorth.test")


def test_another_orgs_ids_are_not_found_on_every_page(two: tuple[Shop, Staffer, Shop, Staffer]) -> None:
    books, ana, rail, _ = two
    stock(books, "books")
    theirs = stock(rail, "rail")
    pages = {
        "/console/offers/{offer_id}": f"/console/offers/{theirs.offer}",
        "/console/customers/{ref}": f"/console/customers/{theirs.ref}",
        "/console/receipts/{record_id}": f"/console/receipts/{theirs.record}",
    }
    assert {("GET", template) for template in pages} == {r for r in TAKES_AN_ID if r[0] == "GET"}
    for path in pages.values():
        assert "Not found" in ana.get(path, status=404).text, path
    for path in (
        "/console/offers",
        "/console/notices",
        "/console/questions",
        "/console/webhooks",
        "/console/keys",
    ):
        page = ana.get(path).text
        assert "rail" not in page.lower(), path  # not one of Rail North's names, texts or URLs
    assert theirs.key not in ana.get("/console/keys").text


def test_another_orgs_ids_change_nothing_from_every_form(two: tuple[Shop, Staffer, Shop, Staffer]) -> None:
    books, ana, rail, raj = two
    stock(books, "books")
    theirs = stock(rail, "rail")
    chain_before, deliveries = rail.entries(), rail.api.call("GET", "/v1/webhooks/deliveries")
    forms: dict[str, tuple[str, dict[str, str]]] = {
        "/console/offers/{offer_id}": (
            f"/console/offers/{theirs.offer}",
            {"title": "Hijacked", "suppress_days": "30"},
        ),
        "/console/offers/{offer_id}/retire": (f"/console/offers/{theirs.offer}/retire", {}),
        "/console/keys/{key_id}/revoke": (f"/console/keys/{theirs.key}/revoke", {}),
        "/console/keys/{key_id}/rotate": (f"/console/keys/{theirs.key}/rotate", {}),
        "/console/webhooks/deliveries/{delivery_id}/replay": (
            f"/console/webhooks/deliveries/{theirs.delivery}/replay",
            {},
        ),
        "/console/staff/{staff_id}/remove": (f"/console/staff/{raj_id(raj, rail)}/remove", {}),
    }
    assert {("POST", template) for template in forms} == {r for r in TAKES_AN_ID if r[0] == "POST"}
    for path, data in forms.values():
        refused = ana.post(path, data, page="/console/keys", status=404)
        assert "Not found" in refused.text, path
    assert rail.api.call("GET", f"/v1/offers/{theirs.offer}")["title"] == "rail club"
    assert rail.api.call("GET", "/v1/keys")[0]["status"] == "live"
    assert rail.api.call("GET", "/v1/webhooks/deliveries") == deliveries  # nothing replayed
    raj.get("/console")  # still signed in
    assert rail.entries() == chain_before
    assert [e for e in books.entries() if e["type"].startswith("console.")] == []


def test_a_new_offer_under_another_orgs_id_is_the_staff_members_own(
    two: tuple[Shop, Staffer, Shop, Staffer],
) -> None:
    """Ids are per org: creating `rail-club` in the bookshop makes the bookshop's, and leaves the railway's."""
    books, ana, rail, _ = two
    theirs = stock(rail, "rail")
    data = {"id": theirs.offer, "title": "Train books", "suppress_days": "30"}
    ana.post("/console/offers", data, page="/console/offers/new")
    assert books.api.call("GET", f"/v1/offers/{theirs.offer}")["title"] == "Train books"
    assert rail.api.call("GET", f"/v1/offers/{theirs.offer}")["title"] == "rail club"


def raj_id(raj: Staffer, rail: Shop) -> str:
    from tests.console.conftest import row_id

    return row_id(raj.get("/console/staff").text, raj.email, "/console/staff/", "/remove")


# Every console route, by how it keeps to the staff member's own org. A route that takes an id is in the
# tests above with another org's id; the others name no id (they list, show or create the signed-in
# member's org's own) or serve the sign-in. A new route fails here until it is placed, and tested.
TAKES_AN_ID = {
    ("GET", "/console/offers/{offer_id}"),
    ("GET", "/console/customers/{ref}"),
    ("GET", "/console/receipts/{record_id}"),
    ("POST", "/console/offers/{offer_id}"),
    ("POST", "/console/offers/{offer_id}/retire"),
    ("POST", "/console/keys/{key_id}/revoke"),
    ("POST", "/console/keys/{key_id}/rotate"),
    ("POST", "/console/webhooks/deliveries/{delivery_id}/replay"),
    ("POST", "/console/staff/{staff_id}/remove"),
}
OWN_ORG_ONLY = {
    ("GET", "/console"),
    ("GET", "/console/overview/{slug}.csv"),  # a chart of the member's org (test_overview_page.py)
    ("GET", "/console/offers"),
    ("GET", "/console/offers/new"),
    ("POST", "/console/offers"),
    ("GET", "/console/notices"),
    ("GET", "/console/questions"),
    ("GET", "/console/customers"),
    ("GET", "/console/webhooks"),
    ("GET", "/console/keys"),
    ("POST", "/console/keys"),
    ("GET", "/console/ledger"),
    ("POST", "/console/ledger/verify"),
    ("GET", "/console/staff"),
    ("POST", "/console/staff"),
}
SIGN_IN = {
    ("GET", "/console/sign-in"),
    ("POST", "/console/sign-in"),
    ("GET", "/console/sign-in/sent"),
    ("GET", "/console/link/{token}"),
    ("POST", "/console/link"),
    ("POST", "/console/sign-out"),
}


def test_every_console_route_is_placed() -> None:
    from harken.console import web, web_catalogue, web_customers, web_integrations, web_staff

    served = {
        (method, route.path)
        for module in (web, web_catalogue, web_customers, web_integrations, web_staff)
        for route in module.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    assert served == TAKES_AN_ID | OWN_ORG_ONLY | SIGN_IN
