"""Each page shows the org's own data as the API gives it, and each change made from the console is made
by the service the API uses and entered in the org's ledger chain with the staff member as its actor."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from html import unescape
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from harken.config import Settings
from harken.db import session_scope
from harken.ledger.models import LedgerEntry
from harken.subjects import tokens, vault
from harken.webhooks import worker
from tests.console.conftest import Shop, Staffer, row_id, stock
from tests.factories import FixedClock


def actor(staffer: Staffer, shop: Shop) -> str:
    return "staff:" + row_id(staffer.get("/console/staff").text, staffer.email, "/console/staff/", "/remove")


def test_offers_are_listed_edited_and_retired_through_the_offers_service(
    shop_of: Callable[[str], Shop],
) -> None:
    shop = shop_of("Blue Door Books")
    mine = stock(shop, "books")
    ana = shop.staff("ana@bluedoor.test")
    assert f'href="/console/offers/{mine.offer}"' in ana.get("/console/offers").text

    form = {
        "title": "Winter book club",
        "topics": "books, winter",
        "channels": ["email", "push"],
        "suppress_days": "14",
    }
    saved = ana.post(f"/console/offers/{mine.offer}", form, page=f"/console/offers/{mine.offer}")
    assert saved.headers["location"] == f"/console/offers/{mine.offer}?done=saved"
    offer = shop.api.call("GET", f"/v1/offers/{mine.offer}")
    assert (offer["title"], offer["topics"], offer["channels"], offer["suppress_days"]) == (
        "Winter book club",
        ["books", "winter"],
        ["email", "push"],
        14,
    )
    assert "Winter book club" in ana.get(f"/console/offers/{mine.offer}?done=saved").text

    refused = ana.post(
        f"/console/offers/{mine.offer}",
        {"title": "", "suppress_days": "999"},
        page="/console/offers",
        status=422,
    )
    assert 'id="suppress_days-error"' in refused.text and 'id="title-error"' in refused.text
    assert 'value="999"' in refused.text  # what was typed is kept
    assert shop.api.call("GET", f"/v1/offers/{mine.offer}")["suppress_days"] == 14  # nothing saved

    ana.post(f"/console/offers/{mine.offer}/retire", page=f"/console/offers/{mine.offer}")
    shop.api.call("GET", f"/v1/offers/{mine.offer}", status=404)
    decision = {"subject": mine.ref, "purpose": "marketing", "channels": ["email"], "offer_ids": [mine.offer]}
    shop.api.call("POST", "/v1/decisions", decision, status=422)  # decisions can no longer name it

    by = actor(ana, shop)
    console = shop.entries("console.")
    assert [(e["type"], e["by"], e["offer"]) for e in console] == [
        ("console.offer.saved", by, mine.offer),
        ("console.offer.retired", by, mine.offer),
    ]
    assert console[1]["was"]["title"] == "Winter book club"  # the ledger keeps what it was


def test_a_new_offer_is_made_from_the_console(shop_of: Callable[[str], Shop]) -> None:
    shop = shop_of("Blue Door Books")
    ana = shop.staff("ana@bluedoor.test")
    taken = ana.post(
        "/console/offers", {"id": "bad id!", "title": "x"}, page="/console/offers/new", status=422
    )
    assert 'id="id-error"' in taken.text
    ana.post(
        "/console/offers",
        {"id": "poetry-night", "title": "Poetry night", "sensitive": "on"},
        page="/console/offers/new",
    )
    assert shop.api.call("GET", "/v1/offers/poetry-night")["sensitive"] is True


def test_notices_show_every_version_with_its_sha256_and_the_question_bank(
    shop_of: Callable[[str], Shop],
) -> None:
    shop = shop_of("Blue Door Books")
    stock(shop, "books")
    ana = shop.staff("ana@bluedoor.test")
    page = ana.get("/console/notices").text
    for notice in shop.api.call("GET", "/v1/notices")["items"]:
        assert notice["sha256"] in page and notice["text"] in page
    assert "1" in page and "2 (current)" in page
    questions = ana.get("/console/questions").text
    assert "Coffee or tea?" in questions and "interest:coffee" in questions and "Coffee · Tea" in questions


def test_a_customer_is_shown_exactly_as_the_api_shows_them(shop_of: Callable[[str], Shop]) -> None:
    shop = shop_of("Blue Door Books")
    mine = stock(shop, "books")
    shop.api.call(
        "PATCH",
        f"/v1/subjects/{mine.ref}/preferences",
        {"provenance": "observed", "interests": {"crime": 0.7}},
    )
    ana = shop.staff("ana@bluedoor.test")
    found = ana.get(f"/console/customers?ref={mine.ref}", status=303)
    assert found.headers["location"] == f"/console/customers/{mine.ref}"
    page = unescape(ana.get(found.headers["location"]).text)

    view = shop.api.call("GET", f"/v1/subjects/{mine.ref}")
    shown = re.findall(r"<td><code>([^<]+)</code></td><td><code>", page)
    assert shown == [d["field"] for d in view["data"]] and shown  # the same fields, no more
    for consent in view["purposes"]:
        assert f"<td>{consent['purpose']}</td>" in page
    history = shop.api.call("GET", f"/v1/subjects/{mine.ref}/consents/history")["items"]
    assert page.count('href="/console/receipts/') == len(history) == 2
    receipt = ana.get(f"/console/receipts/{mine.record}")
    assert "attachment" in receipt.headers["content-disposition"]
    assert receipt.json()["receipt"] == shop.api.call("GET", f"/v1/receipts/{mine.record}")["receipt"]
    asked = page[page.index("Decisions asked") :]  # the decision, as it was answered
    assert ("do not send" in asked) is not mine.decision["allowed"] and mine.decision["explanation"] in asked
    assert all(reason["code"] in asked for reason in mine.decision["reasons"])

    assert ana.get("/console/customers?ref=no%20spaces", status=422).text.count('id="ref-error"') == 1
    ana.get("/console/customers/nobody-here", status=404)
    shop.api.call("DELETE", f"/v1/subjects/{mine.ref}")
    assert "This customer was erased" in ana.get(f"/console/customers/{mine.ref}", status=410).text


def failing_delivery(sessions: sessionmaker[Session], settings: Settings, clock: FixedClock) -> int:
    """Attempt every due delivery once against a receiver that answers 500."""
    secret = tokens.load_or_create_secret(settings.data_dir / "secret")

    def unit(work: Callable[[Session], Any]) -> Any:
        with session_scope(sessions) as session:
            return work(vault.bind(session, secret))

    http = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(500)))
    return worker.run_once(unit, http, clock=clock, rng=random.Random(7))


def test_webhook_health_shows_failures_and_a_replay_queues_the_delivery_again(
    shop_of: Callable[[str], Shop], sessions: sessionmaker[Session], settings: Settings, clock: FixedClock
) -> None:
    shop = shop_of("Blue Door Books")
    mine = stock(shop, "books")
    assert failing_delivery(sessions, settings, clock) == 1  # a customer's deliveries go one at a time
    ana = shop.staff("ana@bluedoor.test")
    page = ana.get("/console/webhooks").text
    assert "http://127.0.0.1:9/books" in page and "HTTP 500" in page and "2 pending" in page
    assert "nothing finished yet" in page
    replayed = ana.post(f"/console/webhooks/deliveries/{mine.delivery}/replay", page="/console/webhooks")
    assert replayed.headers["location"] == "/console/webhooks?done=replayed"
    assert len(shop.api.call("GET", "/v1/webhooks/deliveries")) == 3
    assert [(e["type"], e["delivery"]) for e in shop.entries("console.")] == [
        ("console.webhook.replayed", mine.delivery)
    ]

    shop.api.call("DELETE", f"/v1/webhooks/{mine.endpoint}")  # its pending deliveries are given up
    page = ana.get("/console/webhooks").text
    assert "disabled</span> since" in page and "deleted by the org" in page
    assert "3 given up, 0 pending" in page and "0 %" in page


def test_a_key_is_shown_once_then_only_its_prefix(shop_of: Callable[[str], Shop]) -> None:
    shop = shop_of("Blue Door Books")
    ana = shop.staff("ana@bluedoor.test")
    created = ana.post("/console/keys", page="/console/keys", status=201).text
    key = re.search(r'<p class="secret" id="key-value">(hk_[^<]+)</p>', created)
    assert key
    listing = ana.get("/console/keys").text
    assert key.group(1) not in listing and key.group(1)[:10] in listing
    works = shop.client.get("/v1/keys", headers={"Authorization": f"Bearer {key.group(1)}"})
    assert works.status_code == 200 and len(works.json()) == 2

    made = next(k["id"] for k in works.json() if key.group(1).startswith(k["prefix"]))
    rotated = ana.post(f"/console/keys/{made}/rotate", page="/console/keys", status=201).text
    new_key = re.search(r'id="key-value">(hk_[^<]+)<', rotated)
    assert new_key and new_key.group(1) != key.group(1)
    assert shop.client.get("/v1/keys", headers={"Authorization": f"Bearer {key.group(1)}"}).status_code == 401
    shown = shop.api.call("GET", "/v1/keys")
    newest = next(k["id"] for k in shown if new_key.group(1).startswith(k["prefix"]))
    ana.post(f"/console/keys/{newest}/revoke", page="/console/keys")
    assert (
        shop.client.get("/v1/keys", headers={"Authorization": f"Bearer {new_key.group(1)}"}).status_code
        == 401
    )
    (first,) = [k["id"] for k in shop.api.call("GET", "/v1/keys") if k["status"] == "live"]
    refused = ana.post(f"/console/keys/{first}/revoke", page="/console/keys", status=422)
    assert "last live API key" in refused.text
    assert [k["status"] for k in shop.api.call("GET", "/v1/keys")].count("live") == 1

    by = actor(ana, shop)
    assert [
        (e["type"], e["by"]) for e in shop.entries() if e["type"].startswith(("key.", "console.key"))
    ] == [
        ("key.issued", "org"),
        ("console.key.issued", by),
        ("key.issued", "org"),
        ("key.revoked", "org"),
        ("console.key.rotated", by),
        ("key.revoked", "org"),
        ("console.key.revoked", by),
    ]


def test_the_ledger_page_shows_the_head_and_checkpoint_and_verifies_on_demand(
    shop_of: Callable[[str], Shop], settings: Settings
) -> None:
    shop = shop_of("Blue Door Books")
    stock(shop, "books")
    ana = shop.staff("ana@bluedoor.test")
    ana.post("/console/keys", page="/console/keys", status=201)  # past the first checkpoint (every 5)
    entries = len(shop.entries())
    assert entries >= settings.checkpoint_every
    page = ana.get("/console/ledger").text
    heads = shop.api.call("GET", "/v1/ledger/heads")["heads"]
    assert f"<dd>{entries}</dd>" in page
    mine = [h for h in heads if h["chain"] == shop.org.chain]
    assert mine and f"entry {mine[0]['seq']}" in page
    verified = ana.post("/console/ledger/verify", page="/console/ledger", status=200).text
    assert "Verified" in verified and f"All {entries} entries link up" in verified

    body = shop.session.execute(
        select(LedgerEntry.body).where(LedgerEntry.chain == shop.org.chain, LedgerEntry.seq == 2)
    ).scalar_one()
    shop.session.execute(
        update(LedgerEntry)
        .where(LedgerEntry.chain == shop.org.chain, LedgerEntry.seq == 2)
        .values(body=body.replace("granted", "withdrawn"))
    )
    shop.session.commit()
    tampered = ana.post("/console/ledger/verify", page="/console/ledger", status=200).text
    assert "Not verified" in tampered and "entry 2 was altered" in tampered


def test_an_admin_adds_and_removes_staff_and_the_last_admin_stays(shop_of: Callable[[str], Shop]) -> None:
    shop = shop_of("Blue Door Books")
    ana = shop.staff("ana@bluedoor.test")
    bad = ana.post(
        "/console/staff", {"email": "not an address", "role": "viewer"}, page="/console/staff", status=422
    )
    assert 'id="email-error"' in bad.text
    ana.post("/console/staff", {"email": "Vic@BlueDoor.test", "role": "viewer"}, page="/console/staff")
    assert "vic@bluedoor.test" in ana.get("/console/staff").text
    me = row_id(ana.get("/console/staff").text, "ana@bluedoor.test", "/console/staff/", "/remove")
    kept = ana.post(f"/console/staff/{me}/remove", page="/console/staff", status=422)
    assert "last admin" in kept.text
    by = actor(ana, shop)
    assert [(e["type"], e["by"]) for e in shop.entries("staff.")] == [
        ("staff.added", "operator"),
        ("staff.added", by),
    ]
    assert "email" not in str(shop.entries())  # the ledger names staff by id, never by address


def test_bad_input_to_every_form_is_refused_with_nothing_written(shop_of: Callable[[str], Shop]) -> None:
    shop = shop_of("Blue Door Books")
    mine = stock(shop, "books")
    ana = shop.staff("ana@bluedoor.test")
    before = shop.entries()
    junk: list[tuple[str, dict[str, Any], int]] = [
        ("/console/offers", {"id": "x" * 200, "title": "t"}, 422),
        ("/console/offers", {"id": "ok", "title": "t" * 5000}, 422),
        (f"/console/offers/{mine.offer}", {"title": "t", "channels": "fax"}, 422),
        (f"/console/offers/{mine.offer}", {"title": "t", "purpose": "spying"}, 422),
        (f"/console/offers/{mine.offer}", {"title": "t", "suppress_days": "soon"}, 422),
        (f"/console/offers/{mine.offer}", {"title": "t", "countries": "Narnia"}, 422),
        ("/console/offers/%2E%2E/retire", {}, 404),
        ("/console/keys/not-a-key/revoke", {}, 404),
        (f"/console/keys/{mine.endpoint}/rotate", {}, 404),  # an id, but no key's
        ("/console/webhooks/deliveries/12/replay", {}, 404),
        ("/console/staff", {"email": "a@b.test", "role": "owner"}, 422),
        ("/console/staff", {"email": "x" * 300 + "@b.test", "role": "viewer"}, 422),
        ("/console/staff/nobody/remove", {}, 404),
    ]
    for path, data, status in junk:
        ana.post(path, data, page="/console", status=status)
    assert shop.entries() == before
    assert shop.api.call("GET", f"/v1/offers/{mine.offer}")["title"] == "books club"
