"""A staff member of one org never sees or changes another's anything: every lookup goes through the
staff member's own org, and another org's id is the same 404 page as an id that does not exist."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.console.conftest import Shop, Staffer, stock


@pytest.fixture
def two(shop_of: Callable[[str], Shop]) -> tuple[Shop, Staffer, Shop, Staffer]:
    books, rail = shop_of("Blue Door Books"), shop_of("Rail North")
    return books, books.staff("ana@bluedoor.test"), rail, rail.staff("raj@railnorth.test")


def test_another_orgs_ids_are_not_found_on_every_page(two: tuple[Shop, Staffer, Shop, Staffer]) -> None:
    books, ana, rail, _ = two
    stock(books, "books")
    theirs = stock(rail, "rail")
    for path in (
        f"/console/offers/{theirs.offer}",
        f"/console/customers/{theirs.ref}",
        f"/console/receipts/{theirs.record}",
    ):
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
    for path, data in (
        (f"/console/offers/{theirs.offer}", {"title": "Hijacked", "suppress_days": "30"}),
        (f"/console/offers/{theirs.offer}/retire", {}),
        (f"/console/keys/{theirs.key}/revoke", {}),
        (f"/console/keys/{theirs.key}/rotate", {}),
        (f"/console/webhooks/deliveries/{theirs.delivery}/replay", {}),
        (f"/console/staff/{raj_id(raj, rail)}/remove", {}),
    ):
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
