"""A viewer reads everything and changes nothing: every write is a 403 page, and nothing is written."""

from __future__ import annotations

from collections.abc import Callable

from tests.console.conftest import Shop, row_id, stock

PAGES = (
    "/console",
    "/console/offers",
    "/console/notices",
    "/console/questions",
    "/console/customers",
    "/console/webhooks",
    "/console/keys",
    "/console/ledger",
    "/console/staff",
)


def test_a_viewer_reads_every_page_but_is_refused_every_change(shop_of: Callable[[str], Shop]) -> None:
    shop = shop_of("Blue Door Books")
    mine = stock(shop, "books")
    ana = shop.staff("ana@bluedoor.test")
    vic = shop.staff("vic@bluedoor.test", role="viewer")
    for path in (*PAGES, f"/console/offers/{mine.offer}", f"/console/customers/{mine.ref}"):
        page = vic.get(path).text
        assert "vic@bluedoor.test (viewer)" in page, path
        if path in ("/console/offers", "/console/webhooks", "/console/keys", "/console/staff"):
            assert "an admin of your organisation makes changes" in page, path
    keys = vic.get("/console/keys").text
    assert "Create a key" not in keys and "Revoke" not in keys
    assert "Retire" not in vic.get(f"/console/offers/{mine.offer}").text

    before = shop.entries()
    admin = row_id(ana.get("/console/staff").text, "ana@bluedoor.test", "/console/staff/", "/remove")
    for path, data in (
        ("/console/offers", {"id": "new-one", "title": "New", "suppress_days": "30"}),
        (f"/console/offers/{mine.offer}", {"title": "Changed", "suppress_days": "30"}),
        (f"/console/offers/{mine.offer}/retire", {}),
        ("/console/keys", {}),
        (f"/console/keys/{mine.key}/rotate", {}),
        (f"/console/keys/{mine.key}/revoke", {}),
        (f"/console/webhooks/deliveries/{mine.delivery}/replay", {}),
        ("/console/staff", {"email": "eve@bluedoor.test", "role": "admin"}),
        (f"/console/staff/{admin}/remove", {}),
    ):
        refused = vic.post(path, data, page="/console", status=403)
        assert "Only an admin of your organisation may change this" in refused.text, path
    assert shop.entries() == before
    assert shop.api.call("GET", f"/v1/offers/{mine.offer}")["title"] == "books club"
    assert [k["status"] for k in shop.api.call("GET", "/v1/keys")] == ["live"]
    # Verifying the ledger reads it and changes nothing: a viewer may.
    assert "Verified" in vic.post("/console/ledger/verify", page="/console/ledger", status=200).text
    # And the same forms from an admin go through.
    ana.post(f"/console/offers/{mine.offer}/retire", page=f"/console/offers/{mine.offer}")
