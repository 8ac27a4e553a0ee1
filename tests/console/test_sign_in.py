"""Signing in to the console: by a single-use mailed link, to a session scoped to /console, with the
centre's security headers; forms without their CSRF token or from another site refused; its own rate
limits; a removed staff member is out at once."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from harken.centre.mail import MemoryMailer
from harken.console import signin
from tests.centre_client import csrf_of
from tests.console.conftest import LINK, Shop, Staffer, row_id
from tests.factories import FixedClock


def test_a_staff_member_signs_in_with_a_mailed_link_that_works_once(shop_of: Callable[[str], Shop]) -> None:
    shop = shop_of("Blue Door Books")
    ana = shop.staff("ana@bluedoor.test")
    page = ana.get("/console")
    assert "<h1>Overview</h1>" in page.text and "Blue Door Books" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert page.headers["cache-control"] == "no-store"
    cookie = next(c for c in ana.http.cookies.jar if c.name == "harken_console")
    assert cookie.path == "/console"
    used = ana.latest_link()
    stranger = Staffer(shop.client.app, shop.mailer, "ana@bluedoor.test")
    assert "This link cannot be used" in stranger.get(used, status=400).text
    token = used.rsplit("/", 1)[1]
    form = stranger.get("/console/sign-in").text
    replayed = stranger.http.post("/console/link", data={"csrf": csrf_of(form), "token": token})
    assert replayed.status_code == 400 and "harken_console" not in replayed.cookies


def test_an_address_on_no_staff_is_answered_alike_and_gets_no_mail(
    shop_of: Callable[[str], Shop], mailer: MemoryMailer
) -> None:
    shop_of("Blue Door Books").staff("ana@bluedoor.test")
    before = len(mailer.sent)
    stranger = Staffer(shop_of("Rail North").client.app, mailer, "nobody@example.test")
    assert stranger.request_link().headers["location"] == "/console/sign-in/sent"
    assert len(mailer.sent) == before


def test_pages_need_a_session_and_a_forged_cookie_is_none(client: TestClient) -> None:
    browser = TestClient(client.app, follow_redirects=False)
    assert browser.get("/console/offers").headers["location"] == "/console/sign-in"
    browser.cookies.set("harken_console", "made-up.value", path="/console")
    assert browser.get("/console").status_code == 303


def test_forms_without_the_csrf_token_or_from_another_site_are_refused(
    shop_of: Callable[[str], Shop],
) -> None:
    shop = shop_of("Blue Door Books")
    ana = shop.staff("ana@bluedoor.test")
    assert ana.http.post("/console/keys", data={}).status_code == 403
    assert ana.http.post("/console/keys", data={"csrf": "guess"}).status_code == 403
    token = csrf_of(ana.get("/console/keys").text)
    other_site = ana.http.post("/console/keys", data={"csrf": token}, headers={"Origin": "https://evil.test"})
    assert other_site.status_code == 403
    assert [e for e in shop.entries() if e["type"] == "key.issued"] == []
    # Before sign-in too: the form's token is bound to the browser's own cookie.
    stranger = TestClient(shop.client.app, follow_redirects=False)
    assert (
        stranger.post("/console/sign-in", data={"email": "ana@bluedoor.test", "csrf": "x"}).status_code == 403
    )


def test_sign_in_links_are_rate_limited_per_address(
    shop_of: Callable[[str], Shop], clock: FixedClock
) -> None:
    shop = shop_of("Blue Door Books")
    shop.staff("ana@bluedoor.test")  # one link used
    ana = Staffer(shop.client.app, shop.mailer, "ana@bluedoor.test")
    for _ in range(signin.LINKS_PER_EMAIL - 1):
        ana.request_link()
    refused = ana.request_link(status=429)
    assert int(refused.headers["retry-after"]) > 0 and "Too many" in refused.text
    clock.advance(minutes=16)
    ana.request_link()


def test_signing_out_ends_the_session(shop_of: Callable[[str], Shop]) -> None:
    ana = shop_of("Blue Door Books").staff("ana@bluedoor.test")
    kept = ana.http.cookies.get("harken_console")
    ana.post("/console/sign-out", page="/console")
    thief = TestClient(ana.http.app, follow_redirects=False)
    thief.cookies.set("harken_console", kept or "", path="/console")
    assert thief.get("/console").status_code == 303


def test_a_removed_staff_member_is_out_at_once(shop_of: Callable[[str], Shop]) -> None:
    shop = shop_of("Blue Door Books")
    ana = shop.staff("ana@bluedoor.test")
    ben = shop.staff("ben@bluedoor.test", role="viewer")
    ben.get("/console")
    ben_id = row_id(ana.get("/console/staff").text, "ben@bluedoor.test", "/console/staff/", "/remove")
    ana.post(f"/console/staff/{ben_id}/remove", page="/console/staff")
    assert ben.http.get("/console").status_code == 303
    assert ben.http.post("/console/sign-in", data={}).status_code == 403


def test_sign_in_links_are_rate_limited_per_client_address(shop_of: Callable[[str], Shop]) -> None:
    """Across addresses, known or not: one client cannot mail every staff member over and over."""
    shop = shop_of("Blue Door Books")
    for n in range(signin.LINKS_PER_IP):
        Staffer(shop.client.app, shop.mailer, f"guess-{n}@bluedoor.test").request_link()
    Staffer(shop.client.app, shop.mailer, "ana@bluedoor.test").request_link(status=429)


def test_an_address_on_two_orgs_staff_gets_a_link_for_each_and_each_opens_its_own_org(
    shop_of: Callable[[str], Shop], mailer: MemoryMailer
) -> None:
    books, rail = shop_of("Blue Door Books"), shop_of("Rail North")
    books.staff("sam@example.test")
    rail.staff("sam@example.test", role="viewer")
    sam = Staffer(books.client.app, mailer, "sam@example.test")
    sam.request_link()
    links = {message["Subject"]: LINK.search(message.get_content()) for message in mailer.sent[-2:]}
    assert set(links) == {
        "Sign in to Blue Door Books's Harken console",
        "Sign in to Rail North's Harken console",
    }
    found = links["Sign in to Rail North's Harken console"]
    assert found
    sam.open_link(found.group(1))
    assert (
        "Rail North" in sam.get("/console").text and "sam@example.test (viewer)" in sam.get("/console").text
    )
