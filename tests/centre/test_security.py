"""Attacks on the Preference Centre, each one refused.

The attacker is another browser (a `Visitor` with cookies of its own), another customer of the same
business, a mail scanner, or a page on another site posting a form (seen here, as browsers send it,
as an Origin header). Each test's docstring names the attack it defends against.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from harken.app import create_app
from harken.centre.mail import MemoryMailer
from harken.centre.visit import SESSION_COOKIE, safe_next
from harken.config import Settings
from harken.jws import jwk_of
from tests.centre_client import Response, Visitor, csrf_of, latest_link
from tests.factories import FixedClock
from tests.stories.conftest import Business

VisitorFactory = Callable[..., Visitor]
BusinessFactory = Callable[[str], Business]

ALICE, BOB, MALLORY = "alice@example.com", "bob@example.com", "mallory@example.com"
EVIL = "https://evil.example"
SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
PAYLOADS = (SCRIPT, BREAKOUT)
TOKEN = re.compile(r'name="token" value="([^"]+)"')
NEXT = re.compile(r'name="next" value="([^"]*)"')
LINK_REFUSED = "This link does not work any more"
NOT_FOUND = "There is nothing here"
CSRF_REFUSED = "Nothing was changed"
PAGES = (
    "/centre",
    "/centre/businesses",
    "/centre/consents",
    "/centre/shares",
    "/centre/credentials",
    "/centre/preferences",
)
QUESTION = {
    "text": {"en": "Coffee or tea?"},
    "fills": "interest:coffee",
    "options": [
        {"id": "coffee", "label": {"en": "Coffee"}, "value": {"affinity": 0.9}},
        {"id": "tea", "label": {"en": "Tea"}, "value": {"affinity": -0.5}},
    ],
    "intrusiveness": 1,
}


# ---- a browser's moves -----------------------------------------------------------------------------


def cookie_of(visitor: Visitor) -> str | None:
    """The session cookie this browser holds (it never holds two)."""
    values = [c.value for c in visitor.http.cookies.jar if c.name == SESSION_COOKIE]
    assert len(values) <= 1, f"two session cookies: {values}"
    return values[0] if values else None


def holding(visitor: Visitor, cookie: str) -> Visitor:
    """The browser with `cookie` as its session cookie: set by an attacker, or copied by a thief."""
    for stale in [c for c in visitor.http.cookies.jar if c.name == SESSION_COOKIE]:
        visitor.http.cookies.jar.clear(stale.domain, stale.path, stale.name)
    visitor.http.cookies.set(SESSION_COOKIE, cookie, domain="testserver.local", path="/centre")
    return visitor


def anonymous_csrf(visitor: Visitor) -> str:
    """The token of the forms shown before sign-in, bound to this browser's own cookie."""
    return csrf_of(visitor.get("/centre/sign-in").text)


def ask_link(visitor: Visitor, email: str, next_path: str = "/centre", **headers: str) -> Response:
    """Fill in the sign-in form and send it, as the customer's browser would."""
    data = {"email": email, "csrf": anonymous_csrf(visitor), "next": next_path}
    return visitor.http.post("/centre/sign-in", data=data, headers=headers)


def press_link(visitor: Visitor, link: str) -> Response:
    """Open a mailed link and press its Continue button."""
    page = visitor.get(link).text
    found = TOKEN.search(page)
    assert found, page
    return visitor.http.post("/centre/link", data={"csrf": csrf_of(page), "token": unescape(found.group(1))})


def sign_in(visitor: Visitor, email: str, next_path: str = "/centre") -> Response:
    """The whole sign-in; returns the answer to pressing the link's button."""
    asked = ask_link(visitor, email, next_path)
    assert asked.status_code == 303, asked.text
    return press_link(visitor, latest_link(visitor.mailer, email))


def assert_sent_to_sign_in(visitor: Visitor, path: str = "/centre") -> None:
    """The browser is not signed in: a centre page sends it to the sign-in form."""
    response = visitor.get(path, 303)
    assert response.headers["location"] == f"/centre/sign-in?next={quote(path)}"


def export(visitor: Visitor) -> dict[str, Any]:
    document: dict[str, Any] = visitor.get("/centre/data/export").json()
    return document


def consent(org: Business, ref: str, purpose: str = "marketing") -> str:
    """The status of a customer's consent, as the business itself reads it."""
    states = org.call("GET", f"/v1/subjects/{ref}/consents")["consents"]
    return str(next(s["status"] for s in states if s["purpose"] == purpose))


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


def stays_in_centre(location: str) -> bool:
    """Whether a browser given this Location stays on this host, under /centre. Browsers drop tabs and
    newlines, read a backslash as a slash and %2e as a dot (WHATWG URL), then resolve dot segments."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in location):
        return False  # a control character in a header: split headers, or a server error
    cleaned = re.sub("%2e", ".", location.replace("\\", "/"), flags=re.IGNORECASE)
    target = urlsplit(urljoin("http://testserver/centre/link", cleaned))
    return (target.scheme, target.netloc) == ("http", "testserver") and target.path.startswith("/centre")


def no_raw(response: Response, *payloads: str) -> None:
    """None of the payloads appears as markup in the answer (headers or body)."""
    for payload in payloads:
        assert payload not in response.text, f"{payload!r} reflected raw"
        assert payload not in str(response.headers), f"{payload!r} reflected raw in headers"


# ---- the people -------------------------------------------------------------------------------------


@dataclass
class World:
    """Alice and Bob both deal with the bookshop; only Alice deals with the hotel. Both are signed in."""

    shop: Business
    hotel: Business
    alice: Visitor
    bob: Visitor
    shop_id: str
    hotel_id: str


@pytest.fixture
def world(business: BusinessFactory, visitor: VisitorFactory) -> World:
    shop, hotel = business("Chapter Books"), business("Harbour Hotel")
    for org in (shop, hotel):
        org.call("PUT", "/v1/questions/coffee-or-tea", QUESTION)
    shop.customer("alice-at-shop", email=ALICE, grant={"marketing": ["email"]})
    shop.customer("bob-at-shop", email=BOB, grant={"marketing": ["email"]})
    hotel.customer("alice-at-hotel", email=ALICE, grant={"marketing": ["email"]})
    alice, bob = visitor(), visitor()
    alice.sign_in(ALICE)
    bob.sign_in(BOB)
    ids = {b["name"]: b["id"] for b in export(alice)["businesses"]}
    return World(shop, hotel, alice, bob, ids["Chapter Books"], ids["Harbour Hotel"])


# ---- session fixation ----------------------------------------------------------------------------


def test_a_made_up_session_cookie_is_replaced_at_sign_in(world: World, visitor: VisitorFactory) -> None:
    """Fixation: an attacker who can set cookies for the site plants a session id of their choosing in
    the victim's browser, hoping the victim signs in under it. The server never adopts a given id."""
    planted = f"{secrets.token_urlsafe(32)}.{secrets.token_urlsafe(32)}"
    victim = holding(visitor(), planted)
    assert_sent_to_sign_in(victim)  # a made-up cookie is no session

    assert sign_in(victim, ALICE).status_code == 303
    assert cookie_of(victim) not in (None, planted)
    victim.get("/centre")

    attacker = holding(visitor(), planted)
    assert_sent_to_sign_in(attacker)
    assert_sent_to_sign_in(attacker, "/centre/data/export")


def test_signing_in_ends_the_session_the_browser_had(world: World, visitor: VisitorFactory) -> None:
    """Fixation with a real session: the attacker signs in as themselves and plants their own cookie in
    the victim's browser. When the victim signs in, the cookie changes and the attacker's session ends,
    so the attacker's copy of the old cookie sees nothing of the victim's (nor their own any more)."""
    world.shop.customer("mallory-at-shop", email=MALLORY)
    attacker = visitor()
    attacker.sign_in(MALLORY)
    planted = cookie_of(attacker)
    assert planted

    victim = holding(visitor(), planted)
    assert sign_in(victim, ALICE).status_code == 303
    assert cookie_of(victim) not in (None, planted)
    assert {b["your_ref"] for b in export(victim)["businesses"]} == {"alice-at-shop", "alice-at-hotel"}

    assert_sent_to_sign_in(attacker)  # the planted session was ended by the victim's sign-in
    assert_sent_to_sign_in(attacker, "/centre/data/export")


# ---- the session cookie --------------------------------------------------------------------------


def test_the_session_cookie_is_out_of_reach_of_script_and_other_sites(
    business: BusinessFactory, visitor: VisitorFactory
) -> None:
    """Cookie theft and cross-site requests: the cookie is HttpOnly (no script can read it), SameSite=Lax
    (not sent on cross-site form posts), limited to /centre, and lives as long as the session."""
    business("Chapter Books").customer("alice-at-shop", email=ALICE)
    opened = sign_in(visitor(), ALICE)
    assert opened.status_code == 303
    set_cookie = opened.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in set_cookie.split(";")}
    assert set_cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=lax"
    assert attributes["path"] == "Path=/centre"
    assert attributes["max-age"] == f"Max-Age={12 * 3600}"
    assert "secure" not in attributes  # plain http here; see the https test below


def test_the_session_cookie_is_secure_behind_https(
    settings: Settings,
    engine: Engine,
    sessions: sessionmaker[Session],
    clock: FixedClock,
    mailer: MemoryMailer,
    business: BusinessFactory,
) -> None:
    """Cookie theft on the network: served at an https address, the cookie is never sent over http."""
    business("Chapter Books").customer("alice-at-shop", email=ALICE)
    public = settings.model_copy(update={"public_url": "https://centre.example"})
    app = create_app(public, engine=engine, sessions=sessions, clock=clock, mailer=mailer)
    browser = Visitor(app, mailer)
    browser.http = TestClient(app, follow_redirects=False, base_url="https://centre.example")
    opened = sign_in(browser, ALICE)
    assert opened.status_code == 303
    assert "secure" in opened.headers["set-cookie"].lower().split("; ")


def test_a_forged_session_cookie_is_refused(world: World, visitor: VisitorFactory) -> None:
    """Forgery: a cookie is an id and an HMAC of it under the hub's secret. A cookie of the right shape
    with a wrong MAC, or a real id with the MAC of another real id, signs no one in."""
    alice_cookie, bob_cookie = cookie_of(world.alice), cookie_of(world.bob)
    assert alice_cookie and bob_cookie
    alice_id, alice_mac = alice_cookie.split(".")
    bob_id, bob_mac = bob_cookie.split(".")
    flipped = alice_mac[:-1] + ("A" if alice_mac[-1] != "A" else "B")
    forgeries = [
        f"{alice_id}.{flipped}",  # one character of the MAC changed
        f"{alice_id}.{secrets.token_urlsafe(32)}",  # a random MAC
        f"{alice_id}.{bob_mac}",  # Alice's id with the MAC of Bob's
        f"{bob_id}.{alice_mac}",
        alice_id,  # the id alone
        f"{alice_id}.",
        f".{alice_mac}",
    ]
    for forged in forgeries:
        thief = holding(visitor(), forged)
        assert_sent_to_sign_in(thief)
        assert_sent_to_sign_in(thief, "/centre/data/export")
    world.alice.get("/centre")  # the real cookies still work
    world.bob.get("/centre")


def test_signing_out_ends_the_session(world: World, visitor: VisitorFactory) -> None:
    """A cookie copied before sign-out (shared computer, stolen backup) is dead after it."""
    copied = cookie_of(world.alice)
    assert copied
    thief = holding(visitor(), copied)
    thief.get("/centre")  # a copied live cookie works, until...

    out = world.alice.submit("/centre", "/centre/sign-out")
    assert out.headers["location"] == "/centre/sign-in?done=signed-out"
    assert cookie_of(world.alice) is None  # the browser was told to forget it
    assert_sent_to_sign_in(world.alice)
    assert_sent_to_sign_in(thief)
    assert_sent_to_sign_in(holding(visitor(), copied), "/centre/data/export")
    world.bob.get("/centre")  # only Alice's session ended


def test_a_session_expires_after_12_hours(world: World, clock: FixedClock, settings: Settings) -> None:
    """A forgotten signed-in browser does not stay signed in: HARKEN_CENTRE_SESSION_HOURS (12) after
    sign-in the session is over, whatever the browser still holds."""
    assert settings.centre_session_hours == 12
    clock.advance(hours=12, minutes=-1)
    world.alice.get("/centre")
    clock.advance(minutes=2)
    assert cookie_of(world.alice)  # the browser still sends it
    assert_sent_to_sign_in(world.alice)
    assert_sent_to_sign_in(world.alice, "/centre/data/export")


# ---- magic links ---------------------------------------------------------------------------------


def test_a_link_signs_in_once(
    business: BusinessFactory, visitor: VisitorFactory, mailer: MemoryMailer
) -> None:
    """Replay: a link read from the mailbox (or the browser history) after it was used signs no one in."""
    business("Chapter Books").customer("alice-at-shop", email=ALICE)
    assert sign_in(visitor(), ALICE).status_code == 303
    link = latest_link(mailer, ALICE)

    replayer = visitor()
    page = replayer.get(link, 400)
    assert LINK_REFUSED in page.text
    replay = replayer.http.post(
        "/centre/link", data={"csrf": anonymous_csrf(replayer), "token": token_of(link)}
    )
    assert replay.status_code == 400
    assert LINK_REFUSED in replay.text
    assert cookie_of(replayer) is None
    assert_sent_to_sign_in(replayer)


def test_a_link_expires_after_15_minutes(
    business: BusinessFactory, visitor: VisitorFactory, mailer: MemoryMailer, clock: FixedClock
) -> None:
    """A link left in a mailbox is useless a quarter of an hour later."""
    business("Chapter Books").customer("alice-at-shop", email=ALICE)
    on_time = visitor()
    assert ask_link(on_time, ALICE).status_code == 303
    clock.advance(minutes=14)
    assert press_link(on_time, latest_link(mailer, ALICE)).status_code == 303

    late = visitor()
    assert ask_link(late, ALICE).status_code == 303
    link = latest_link(mailer, ALICE)
    clock.advance(minutes=16)
    assert LINK_REFUSED in late.get(link, 400).text
    pressed = late.http.post("/centre/link", data={"csrf": anonymous_csrf(late), "token": token_of(link)})
    assert pressed.status_code == 400
    assert LINK_REFUSED in pressed.text
    assert cookie_of(late) is None
    assert_sent_to_sign_in(late)


def test_opening_a_link_neither_signs_in_nor_uses_it_up(
    business: BusinessFactory, visitor: VisitorFactory, mailer: MemoryMailer
) -> None:
    """Mail scanners follow every link in a message: a GET shows a button and changes nothing, so the
    scanner gets no session and the customer's click still works."""
    business("Chapter Books").customer("alice-at-shop", email=ALICE)
    alice = visitor()
    assert ask_link(alice, ALICE).status_code == 303
    link = latest_link(mailer, ALICE)

    scanner = visitor()
    for _ in range(3):
        opened = scanner.get(link)
        assert SESSION_COOKIE not in opened.headers.get("set-cookie", "")
        assert 'action="/centre/link"' in opened.text
    assert cookie_of(scanner) is None
    assert_sent_to_sign_in(scanner)

    pressed = press_link(alice, link)
    assert pressed.status_code == 303
    # The bookshop says she is its customer: the centre opens on its "is this you?"
    assert pressed.headers["location"] == "/centre/businesses"
    alice.get("/centre")


def test_a_made_up_link_is_refused(world: World, visitor: VisitorFactory) -> None:
    """Guessing: a token nobody was sent signs no one in, whatever its shape."""
    guesser = visitor()
    for token in (secrets.token_urlsafe(32), "x", "-" * 43):
        assert LINK_REFUSED in guesser.get(f"/centre/link/{token}", 400).text
    for token in (secrets.token_urlsafe(32), ""):
        pressed = guesser.http.post("/centre/link", data={"csrf": anonymous_csrf(guesser), "token": token})
        assert pressed.status_code == 400
        assert LINK_REFUSED in pressed.text
    assert cookie_of(guesser) is None
    assert_sent_to_sign_in(guesser)


# ---- never reveal who is known -------------------------------------------------------------------


def test_known_and_unknown_addresses_get_the_same_answer(
    business: BusinessFactory, visitor: VisitorFactory, mailer: MemoryMailer
) -> None:
    """Account enumeration: the answer to the sign-in form is the same, byte for byte, whether or not
    anyone has the address; only a known address gets mail."""
    business("Chapter Books").customer("alice-at-shop", email=ALICE)
    known, unknown = visitor(), visitor()
    for browser in (known, unknown):
        anonymous_csrf(browser)  # both browsers already have their cookie, like a returning visitor
    to_known, to_unknown = ask_link(known, ALICE), ask_link(unknown, "nobody@example.com")

    assert to_known.status_code == to_unknown.status_code == 303
    assert to_known.headers["location"] == to_unknown.headers["location"] == "/centre/sign-in/sent"
    # Every answer has a request id of its own (harken.observe): all else is the same.
    assert to_known.headers["x-request-id"] != to_unknown.headers["x-request-id"]
    del to_known.headers["x-request-id"], to_unknown.headers["x-request-id"]
    assert dict(to_known.headers) == dict(to_unknown.headers)
    assert to_known.content == to_unknown.content
    assert known.get("/centre/sign-in/sent").text == unknown.get("/centre/sign-in/sent").text
    assert [m["To"] for m in mailer.sent] == [ALICE]


def test_too_many_links_for_one_address_are_refused_alike(
    business: BusinessFactory, visitor: VisitorFactory, mailer: MemoryMailer, clock: FixedClock
) -> None:
    """Mail bombing and enumeration by rate limit: the 6th request for one address within 15 minutes
    is refused with 429 and Retry-After, for a known address exactly as for an unknown one (the limit
    counts both, so it tells nothing), whatever the spelling of its case; it works again once the
    window has passed."""
    business("Chapter Books").customer("alice-at-shop", email=ALICE)
    refused = {}
    for email in (ALICE, "nobody@example.com"):
        browser = visitor()
        for _ in range(5):
            assert ask_link(browser, email).status_code == 303
        for spelling in (email, f"  {email.upper()} "):
            sixth = ask_link(browser, spelling)
            assert sixth.status_code == 429, sixth.text
            assert "Too many requests" in sixth.text
        refused[email] = sixth
    assert [m["To"] for m in mailer.sent] == [ALICE] * 5

    known, unknown = refused[ALICE], refused["nobody@example.com"]
    assert known.headers["retry-after"] == unknown.headers["retry-after"]
    assert known.text == unknown.text
    wait = int(known.headers["retry-after"])
    assert 0 < wait <= 15 * 60 + 1

    clock.advance(seconds=wait - 60)
    assert ask_link(visitor(), ALICE).status_code == 429  # still inside the window
    clock.advance(seconds=60)
    for email in (ALICE, "nobody@example.com"):
        assert ask_link(visitor(), email).status_code == 303
    assert [m["To"] for m in mailer.sent] == [ALICE] * 6


def test_too_many_links_from_one_address_are_refused(
    client: TestClient, visitor: VisitorFactory, mailer: MemoryMailer
) -> None:
    """Enumeration and mail bombing spread over many addresses: 20 requests per IP per 15 minutes, the
    21st refused whatever the address; another IP is not held up."""
    browser = visitor()
    for n in range(20):
        assert ask_link(browser, f"person{n}@example.com").status_code == 303
    refused = ask_link(browser, "person20@example.com")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert mailer.sent == []

    elsewhere = Visitor(client.app, mailer)
    elsewhere.http = TestClient(client.app, follow_redirects=False, client=("203.0.113.7", 50000))
    assert ask_link(elsewhere, "person20@example.com").status_code == 303


# ---- cross-site request forgery ------------------------------------------------------------------

ACTIONS = [
    ("/centre/now", {"field": "situation", "value": "commuting"}),
    ("/centre/personas", {"label": "Runner", "interests": "running"}),
    ("/centre/personas/parent/remove", {}),
    ("/centre/businesses/{shop}/sharing", {"profile": "on", "purchases": "on"}),
    ("/centre/businesses/{shop}/answer", {"question_id": "coffee-or-tea", "option": "coffee"}),
    ("/centre/consents/{shop}/marketing", {"decision": "withdraw"}),
    ("/centre/preferences/interests", {"topic": "golf", "affinity": "like"}),
    ("/centre/preferences/channels", {"allowed-email": "on", "limit-email": "1"}),
    ("/centre/preferences/quiet-hours", {"start": "22:00", "end": "07:00", "time_zone": "Europe/London"}),
    ("/centre/preferences/life-events", {"label": "Moving", "topics": "boxes", "until": "2027-01-01"}),
    ("/centre/preferences/life-events/new-baby/remove", {}),
    ("/centre/preferences/surprise", {"novelty": "often"}),
    ("/centre/shares", {"fields-{shop}": "context", "purpose-{shop}": "service", "expires": "1d"}),
    ("/centre/shares/{share}/revoke", {}),
    ("/centre/shares/{share}/orgs/{shop}/revoke", {}),
    ("/centre/credentials/{credential}/revoke", {}),
    ("/centre/data/erase", {"confirm": "on"}),
]


def make_share(visitor: Visitor, *orgs: str, label: str = "Frankfurt") -> str:
    """Share the customer's context with `orgs` through the Shares page; the share's id."""
    fields = {f"fields-{org}": "context" for org in orgs} | {f"purpose-{org}": "service" for org in orgs}
    visitor.submit("/centre/shares", "/centre/shares", {"label": label, "expires": "1d", **fields})
    return str(export(visitor)["shares"][0]["id"])


def issue_credential(visitor: Visitor) -> str:
    """A credential of the signed-in person's context, issued through their wallet's app with a token
    they made on the My data page (`POST /v1/me/credentials`, bound to a wallet key of their own); its
    id."""
    me = {"Authorization": f"Bearer {visitor.person_token()}"}
    visitor.http.put("/v1/me/context", headers=me, json={"situation": "travelling"}).raise_for_status()
    body = {
        "fields": ["context"],
        "expires_at": "2026-11-09T12:00:00Z",
        "holder_jwk": jwk_of(Ed25519PrivateKey.generate().public_key()),
    }
    issued = visitor.http.post("/v1/me/credentials", headers=me, json=body)
    assert issued.status_code == 201, issued.text
    return str(issued.json()["id"])


def forged_posts(world: World) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """(what, form fields, headers) of forms Alice's browser might be made to send from elsewhere."""
    own = csrf_of(world.alice.get("/centre/data").text)
    bobs = csrf_of(world.bob.get("/centre/data").text)
    return [
        ("no token", {}, {}),
        ("an empty token", {"csrf": ""}, {}),
        ("a made-up token", {"csrf": secrets.token_urlsafe(32)}, {}),
        ("another customer's token", {"csrf": bobs}, {}),
        ("the token of the sign-in form", {"csrf": anonymous_csrf(world.alice)}, {}),
        ("her token, from another site", {"csrf": own}, {"Origin": EVIL}),
        ("her token, from a lookalike site", {"csrf": own}, {"Origin": "http://testserver.evil.example"}),
        (
            "her token, from a sandboxed frame",
            {"csrf": own},
            {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
        ),
    ]


@pytest.mark.parametrize(("action", "data"), ACTIONS, ids=[a for a, _ in ACTIONS])
def test_every_form_refuses_a_forged_post(world: World, action: str, data: dict[str, str]) -> None:
    """CSRF: a page elsewhere makes the signed-in customer's browser post a form. Without the session's
    own token, or from another origin even with it, the form is refused with 403 and nothing changes;
    the same form from the centre's own page works (so "nothing changed" is not for want of trying)."""
    alice = world.alice
    alice.submit("/centre", "/centre/personas", {"label": "Parent", "interests": "toys"})
    alice.submit(
        "/centre/preferences",
        "/centre/preferences/life-events",
        {"label": "New baby", "topics": "baby", "until": "2027-03-01"},
    )
    assert "Coffee or tea?" in alice.get("/centre/businesses").text  # the question is asked once
    share = make_share(alice, world.shop_id, world.hotel_id)
    credential = issue_credential(world.alice)
    action = action.format(shop=world.shop_id, share=share, credential=credential)
    data = {name.format(shop=world.shop_id): value for name, value in data.items()}
    before = export(alice)

    for what, fields, headers in forged_posts(world):
        refused = alice.http.post(action, data={**data, **fields}, headers=headers)
        assert refused.status_code == 403, (what, refused.status_code, refused.text[:500])
        assert CSRF_REFUSED in refused.text, what
        assert export(alice) == before, f"{what}: changed something"
    alice.get("/centre")  # still signed in

    done = alice.http.post(
        action,
        data={**data, "csrf": csrf_of(alice.get("/centre").text)},
        headers={"Origin": "http://testserver"},
    )
    assert done.status_code == 303, done.text[:500]
    if action == "/centre/data/erase":  # erased: her sessions went with everything else
        assert alice.http.get("/centre/data/export").status_code == 303
    else:
        assert export(alice) != before


def test_signing_out_refuses_a_forged_post(world: World) -> None:
    """Forced sign-out (a nuisance, and a step in login CSRF) needs the session's token too."""
    for what, fields, headers in forged_posts(world):
        refused = world.alice.http.post("/centre/sign-out", data=fields, headers=headers)
        assert refused.status_code == 403, what
        world.alice.get("/centre")
    world.alice.submit("/centre", "/centre/sign-out")
    assert_sent_to_sign_in(world.alice)


def test_the_sign_in_form_refuses_a_forged_post(
    business: BusinessFactory, visitor: VisitorFactory, mailer: MemoryMailer
) -> None:
    """CSRF before sign-in: another site makes a browser ask for links (mail bombing, and burning the
    customer's rate limit). The form's token is bound to the browser's own cookie: without that cookie,
    with a wrong token, with another browser's token, or from another origin, it is refused, unsent."""
    business("Chapter Books").customer("alice-at-shop", email=ALICE)
    attacker, victim = visitor(), visitor()
    attackers = anonymous_csrf(attacker)
    fresh = victim.http.post("/centre/sign-in", data={"email": ALICE, "csrf": attackers})
    assert fresh.status_code == 403  # no browser cookie yet
    own = anonymous_csrf(victim)
    attempts: list[tuple[dict[str, str], dict[str, str]]] = [
        ({}, {}),
        ({"csrf": ""}, {}),
        ({"csrf": "x" * 64}, {}),
        ({"csrf": attackers}, {}),
        ({"csrf": own}, {"Origin": EVIL}),
    ]
    for fields, headers in attempts:
        refused = victim.http.post("/centre/sign-in", data={"email": ALICE, **fields}, headers=headers)
        assert refused.status_code == 403, (fields, headers)
        assert CSRF_REFUSED in refused.text
    assert mailer.sent == []
    for _ in range(5):  # and none of them counted against Alice's limit
        assert ask_link(victim, ALICE).status_code == 303


def test_the_link_button_refuses_a_forged_post(
    business: BusinessFactory, visitor: VisitorFactory, mailer: MemoryMailer
) -> None:
    """Login CSRF: another site posts a link's token from the customer's browser to sign it in. The
    button's form is bound to the browser; refused, it does not use the link up."""
    business("Chapter Books").customer("alice-at-shop", email=ALICE)
    alice = visitor()
    assert ask_link(alice, ALICE).status_code == 303
    link = latest_link(mailer, ALICE)
    own = csrf_of(alice.get(link).text)
    for fields, headers in [({}, {}), ({"csrf": "x" * 64}, {}), ({"csrf": own}, {"Origin": EVIL})]:
        refused = alice.http.post("/centre/link", data={"token": token_of(link), **fields}, headers=headers)
        assert refused.status_code == 403
        assert cookie_of(alice) is None
    assert press_link(alice, link).status_code == 303


# ---- open redirect -------------------------------------------------------------------------------

EXTERNAL_NEXT = [
    "https://evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https://testserver.evil.example/centre",
    "http://testserver/centre",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    " /centre",
]
HOSTILE_NEXT = [
    *EXTERNAL_NEXT,
    "/centre@evil.example",
    "/centre//evil.example",
    "/centre\\..\\..\\evil.example",
    "/centre/../../x",
    "/centre/%2e%2e/%2E%2E/x",
    "/centre\r\nSet-Cookie: harken_centre=attacker",
    "/centre" + "/x" * 100,
]


@pytest.mark.parametrize("value", HOSTILE_NEXT)
def test_safe_next_never_leaves_the_centre(value: str) -> None:
    """Open redirect: whatever `next` says, a browser sent to safe_next(next) stays on this host, under
    /centre."""
    assert stays_in_centre(safe_next(value)), safe_next(value)


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        (None, "/centre"),
        ("", "/centre"),
        ("/", "/centre"),
        ("/v1/me", "/centre"),
        ("centre", "/centre"),
        ("https://evil.example", "/centre"),
        ("//evil.example", "/centre"),
        ("/\\evil.example", "/centre"),
        ("javascript:alert(1)", "/centre"),
        ("/centre" + "/x" * 100, "/centre"),
        ("/centre", "/centre"),
        ("/centre/consents", "/centre/consents"),
        ("/centre/preferences?done=saved", "/centre/preferences?done=saved"),
        ("/centre/businesses", "/centre/businesses"),
    ],
)
def test_safe_next_table(value: str | None, kept: str) -> None:
    """Where signing in leads: the path asked for when it is in the centre, else the centre's front page."""
    assert safe_next(value) == kept


@pytest.mark.parametrize("value", HOSTILE_NEXT)
def test_signing_in_never_redirects_off_the_centre(world: World, visitor: VisitorFactory, value: str) -> None:
    """Open redirect through the magic link: a crafted sign-in form (or link to it) with a hostile
    `next` still lands the customer in the centre on this host, and the Location header is whole."""
    browser = visitor()
    assert isinstance(browser.http, TestClient)  # in-process: its app, served with other options
    browser.http = TestClient(browser.http.app, follow_redirects=False, raise_server_exceptions=False)
    opened = sign_in(browser, BOB, next_path=value)
    assert opened.status_code == 303, opened.text[:500]
    location = opened.headers["location"]
    assert stays_in_centre(location), location
    assert "set-cookie: harken_centre=attacker" not in str(opened.headers).lower()


def test_next_inside_the_centre_is_kept(world: World, visitor: VisitorFactory) -> None:
    """The legitimate use: a signed-out visit to a centre page leads back to it after sign-in."""
    browser = visitor()
    asked = browser.get("/centre/consents?done=consent", 303).headers["location"]
    assert asked == "/centre/sign-in?next=/centre/consents"
    form = browser.get(asked).text
    next_field = NEXT.search(form)
    assert next_field and unescape(next_field.group(1)) == "/centre/consents"
    opened = sign_in(browser, BOB, next_path="/centre/consents")
    assert opened.headers["location"] == "/centre/consents"


def test_a_next_beyond_latin_1_is_not_a_server_error(world: World, visitor: VisitorFactory) -> None:
    """A `next` with a character a header cannot hold raw (sent in a crafted link) is encoded, not a
    500 after the link was already used up."""
    browser = visitor()
    assert isinstance(browser.http, TestClient)  # in-process: its app, served with other options
    browser.http = TestClient(browser.http.app, follow_redirects=False, raise_server_exceptions=False)
    opened = sign_in(browser, BOB, next_path="/centre/preferences?topic=\u20ac")
    assert opened.status_code == 303, opened.text[:300]
    assert stays_in_centre(opened.headers["location"])
    browser.get("/centre")


@pytest.mark.parametrize("value", EXTERNAL_NEXT)
def test_the_sign_in_form_carries_no_external_next(visitor: VisitorFactory, value: str) -> None:
    """Open redirect, first step: /centre/sign-in?next=<elsewhere> shows a form whose hidden `next` is
    the centre, not the address given."""
    page = visitor().http.get("/centre/sign-in", params={"next": value})
    assert page.status_code == 200
    found = NEXT.search(page.text)
    assert found and unescape(found.group(1)) == "/centre"
    assert "evil.example" not in page.text
    assert "javascript:" not in page.text


# ---- reflected and stored markup -----------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markup_in_the_sign_in_form_is_escaped(
    visitor: VisitorFactory, mailer: MemoryMailer, payload: str
) -> None:
    """Reflected XSS through the sign-in form: the address and `next` are shown back escaped."""
    browser = visitor()
    shown = browser.http.post(
        "/centre/sign-in",
        data={"email": payload, "csrf": anonymous_csrf(browser), "next": f"/centre{payload}"},
    )
    assert shown.status_code == 422
    no_raw(shown, payload)
    assert str(escape(payload)) in shown.text  # shown back, as text

    in_query = browser.http.get(
        "/centre/sign-in", params={"next": f"/centre{payload}", "done": payload, "lang": payload}
    )
    assert in_query.status_code == 200
    no_raw(in_query, payload)

    looks_valid = browser.http.post(
        "/centre/sign-in", data={"email": f"{payload}@example.com", "csrf": anonymous_csrf(browser)}
    )
    no_raw(looks_valid, payload)
    assert mailer.sent == []


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markup_the_customer_stores_is_escaped(world: World, payload: str) -> None:
    """Stored XSS: labels the customer types (a persona, a life event) are kept as typed and shown back
    escaped on every page; a topic, a date or a time zone with markup is refused, and the refusal
    (which names the field) escapes it too."""
    alice = world.alice
    kept = [
        ("/centre", "/centre/personas", {"label": payload, "interests": "running"}),
        (
            "/centre/preferences",
            "/centre/preferences/life-events",
            {"label": payload, "topics": "baby", "until": "2027-03-01"},
        ),
        (
            "/centre/shares",
            "/centre/shares",
            {"label": payload, f"fields-{world.shop_id}": "context", f"purpose-{world.shop_id}": "service"}
            | {"expires": "1d"},
        ),
    ]
    refused = [
        ("/centre", "/centre/personas", {"label": "Runner", "interests": payload}),
        ("/centre", "/centre/now", {"field": "topics", "value": payload}),
        ("/centre/preferences", "/centre/preferences/interests", {"topic": payload, "affinity": "like"}),
        (
            "/centre/preferences",
            "/centre/preferences/life-events",
            {"label": "Moving", "topics": payload, "until": "2027-03-01"},
        ),
        (
            "/centre/preferences",
            "/centre/preferences/life-events",
            {"label": "Moving", "topics": "boxes", "until": payload},
        ),
        (
            "/centre/preferences",
            "/centre/preferences/quiet-hours",
            {"start": payload, "end": "07:00", "time_zone": payload},
        ),
    ]
    for expected, forms in ((303, kept), (422, refused)):
        for page, action, data in forms:
            answer = alice.http.post(action, data={"csrf": csrf_of(alice.get(page).text), **data})
            assert answer.status_code == expected, (action, data, answer.status_code)
            no_raw(answer, payload)
    for page in ("/centre", "/centre/preferences", "/centre/shares"):  # the labels: persona, event, share
        assert str(escape(payload)) in alice.get(page).text
    for path in (*PAGES, "/centre/data"):
        no_raw(alice.get(path), payload)
        for query in ("done", "lang"):
            no_raw(alice.http.get(path, params={query: payload}), payload)
    assert payload in json.dumps(export(alice), ensure_ascii=False)  # kept as typed, escaped only in HTML


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markup_in_a_path_is_escaped(world: World, visitor: VisitorFactory, payload: str) -> None:
    """Reflected XSS through the address itself: the 404 page and links built from the path escape it."""
    for browser in (visitor(), world.alice):
        for path in (f"/centre/{payload}", f"/centre/link/{payload}", f"/centre/from-app?token={payload}"):
            answer = browser.http.get(path)
            assert answer.status_code in (400, 404), (path, answer.status_code)
            no_raw(answer, payload)


def csp(response: Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {d.split()[0]: " ".join(d.split()[1:]) for d in (p.strip() for p in policy.split(";")) if d}


def test_every_centre_page_forbids_scripts(world: World, visitor: VisitorFactory) -> None:
    """Defence in depth against XSS, sniffing, leaking links and framing: every page, signed in or not,
    error or not, says no script may run (default-src 'none', no script-src), no type sniffing, no
    Referer (a link's token in the address stays here), no framing, and no caching of personal pages."""
    anonymous = visitor()
    receipt = export(world.alice)["consents"][0]["id"]
    pages = [
        anonymous.http.get("/centre/sign-in"),
        anonymous.http.get("/centre/sign-in/sent"),
        anonymous.http.get(f"/centre/link/{secrets.token_urlsafe(32)}"),
        anonymous.http.get("/centre/no-such-page"),
        anonymous.http.post("/centre/sign-in", data={"email": ALICE}),
        anonymous.http.post(
            "/centre/sign-in", data={"email": "not an address", "csrf": anonymous_csrf(anonymous)}
        ),
        *(world.alice.http.get(p) for p in (*PAGES, "/centre/data", "/centre/data/export")),
        world.alice.http.get(f"/centre/receipts/{receipt}"),
        world.bob.http.get(f"/centre/receipts/{receipt}"),
        world.alice.http.post("/centre/now", data={"field": "situation", "value": "home"}),
        world.alice.http.post(
            "/centre/shares", data={"csrf": csrf_of(world.alice.get("/centre/shares").text)}
        ),
    ]
    for _ in range(5):
        ask_link(anonymous, "nobody@example.com")
    pages.append(ask_link(anonymous, "nobody@example.com"))
    assert pages[-1].status_code == 429  # the rate limit's page too
    for page in pages:
        where = (page.request.method, page.request.url.path, page.status_code)
        assert page.status_code < 300 or page.status_code >= 400, where
        policy = csp(page)
        assert policy.get("default-src") == "'none'", where
        assert not {"script-src", "script-src-elem", "script-src-attr"} & set(policy), where
        assert policy.get("frame-ancestors") == "'none'", where
        assert page.headers["x-content-type-options"] == "nosniff", where
        assert page.headers["referrer-policy"] == "no-referrer", where
        assert page.headers["cache-control"] == "no-store", where


# ---- another customer's things -------------------------------------------------------------------


def _same_page(first: Response, second: Response, first_id: str, second_id: str) -> None:
    """Two answers are the same page, but for the id in the address (shown in the language links)."""
    assert first.status_code == second.status_code
    assert first.text.replace(first_id, "ID") == second.text.replace(second_id, "ID")


def test_another_customers_receipt_is_not_found(world: World) -> None:
    """IDOR: Bob changes the id in a receipt's address to Alice's. He gets the 404 a random id gets, so
    he cannot even tell that the id exists."""
    alices = [c["id"] for c in export(world.alice)["consents"]]
    assert alices
    for record in alices:
        assert world.alice.get(f"/centre/receipts/{record}").json()["receipt"]
        his = world.bob.get(f"/centre/receipts/{record}", 404)
        assert NOT_FOUND in his.text
        assert ALICE not in his.text and "alice" not in his.text
        random = str(uuid.uuid4())
        _same_page(his, world.bob.get(f"/centre/receipts/{random}", 404), record, random)


def test_a_business_of_another_customer_cannot_be_touched(world: World) -> None:
    """IDOR: Bob puts the id of the hotel (which Alice deals with, he does not) into the forms' addresses.
    Every one is 404, the same as for an org that does not exist, and nothing is written for anyone."""
    csrf = csrf_of(world.bob.get("/centre/businesses").text)
    alice_before, bob_before = export(world.alice), export(world.bob)
    forms = [
        ("/centre/businesses/{org}/sharing", {"profile": "on", "purchases": "on"}),
        ("/centre/consents/{org}/marketing", {"decision": "withdraw"}),
        ("/centre/consents/{org}/marketing", {"decision": "grant", "channels": "sms"}),
        ("/centre/consents/{org}/personalised-offers", {"decision": "grant", "channels": "email"}),
        ("/centre/businesses/{org}/answer", {"question_id": "coffee-or-tea", "option": "coffee"}),
        ("/centre/businesses/{org}/answer", {"question_id": "coffee-or-tea", "decline": "1"}),
    ]
    for action, data in forms:
        hers = world.bob.http.post(action.format(org=world.hotel_id), data={"csrf": csrf, **data})
        assert hers.status_code == 404, (action, hers.status_code)
        assert NOT_FOUND in hers.text
        assert "Harbour Hotel" not in hers.text
        random = str(uuid.uuid4())
        nobodys = world.bob.http.post(action.format(org=random), data={"csrf": csrf, **data})
        _same_page(hers, nobodys, world.hotel_id, random)
    assert export(world.alice) == alice_before
    assert export(world.bob) == bob_before
    assert consent(world.hotel, "alice-at-hotel") == "granted"


def test_an_export_holds_only_the_customers_own_data(world: World) -> None:
    """Data leak between customers of one business: Bob's download has nothing of Alice's, though they
    share the bookshop and Alice told the centre things."""
    world.alice.submit("/centre", "/centre/personas", {"label": "Marathon runner", "interests": "running"})
    world.alice.submit("/centre", "/centre/now", {"field": "situation", "value": "travelling"})
    world.shop.call(
        "POST", "/v1/subjects/alice-at-shop/events", {"type": "purchase", "item": "marathon-guide"}
    )
    credential = issue_credential(world.alice)
    alices = export(world.alice)
    bobs = export(world.bob)
    text = json.dumps(bobs)
    assert [c["id"] for c in alices["credentials"]] == [credential] and bobs["credentials"] == []
    assert [b["your_ref"] for b in bobs["businesses"]] == ["bob-at-shop"]
    for hers in (
        "alice",
        "Harbour Hotel",
        world.hotel_id,
        "Marathon runner",
        "travelling",
        "marathon-guide",
        *(c["id"] for c in alices["consents"]),
        credential,
    ):
        assert hers not in text, hers
    assert "Marathon runner" in json.dumps(alices)


# ---- a session opened from an org's app ----------------------------------------------------------


def test_a_session_from_an_app_sees_only_that_org(world: World, visitor: VisitorFactory) -> None:
    """Scope escalation: the bookshop's app opens the centre for its customer. That session is the
    bookshop's window, even though the same person (who linked both) also deals with the hotel: it shows
    nothing of the hotel and cannot act on it (sharing is the verified person's alone, with any
    business), and an erasure asked there stops only the bookshop."""
    token = world.shop.call("POST", "/v1/subjects/alice-at-shop/sessions")["token"]
    in_app = visitor()
    in_app.open_from_app(token)

    for path in ("/centre", "/centre/businesses", "/centre/consents", "/centre/preferences", "/centre/data"):
        page = in_app.get(path).text
        assert "Chapter Books" in page
        assert "Harbour Hotel" not in page and world.hotel_id not in page
    mine = export(in_app)
    assert mine["scope"] == "Chapter Books"
    assert [b["your_ref"] for b in mine["businesses"]] == ["alice-at-shop"]
    assert "Harbour Hotel" not in json.dumps(mine) and "alice-at-hotel" not in json.dumps(mine)

    hotel_receipt = next(c["id"] for c in export(world.alice)["consents"] if c["business"] == "Harbour Hotel")
    assert NOT_FOUND in in_app.get(f"/centre/receipts/{hotel_receipt}", 404).text

    before = export(world.alice)
    csrf = csrf_of(in_app.get("/centre/businesses").text)
    for action, data in [
        ("/centre/businesses/{org}/sharing", {"profile": "on", "purchases": "on"}),
        ("/centre/consents/{org}/marketing", {"decision": "withdraw"}),
        ("/centre/businesses/{org}/answer", {"question_id": "coffee-or-tea", "option": "coffee"}),
    ]:
        refused = in_app.http.post(action.format(org=world.hotel_id), data={"csrf": csrf, **data})
        assert refused.status_code == (403 if action.endswith("/sharing") else 404), action
    own = in_app.http.post(
        f"/centre/businesses/{world.shop_id}/sharing", data={"csrf": csrf, "profile": "on", "purchases": "on"}
    )
    assert own.status_code == 403 and "Only you can do this, signed in with your email" in own.text
    assert export(world.alice) == before

    in_app.submit("/centre/data", "/centre/data/erase", {"confirm": "on"})
    assert consent(world.shop, "alice-at-shop") == "withdrawn"
    assert consent(world.hotel, "alice-at-hotel") == "granted"


# ---- unknown pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/centre/no-such-page"),
        ("POST", "/centre/no-such-page"),
        ("GET", "/centre/businesses/x/y/z"),
        ("GET", "/centre/receipts/not-a-uuid"),
        ("POST", "/centre/businesses/not-a-uuid/sharing"),
        ("POST", "/centre/consents/not-a-uuid/marketing"),
        ("POST", "/centre/shares/not-a-uuid/revoke"),
        ("POST", "/centre/shares/00000000-0000-4000-8000-000000000000/orgs/not-a-uuid/revoke"),
        ("POST", "/centre/credentials/not-a-uuid/revoke"),
        ("GET", "/centre/link/"),
    ],
)
def test_an_unknown_centre_path_is_an_html_404(world: World, method: str, path: str) -> None:
    """Probing: an address that names nothing is a plain 404 page in the centre's look, signed in or not,
    never a server error or a framework's JSON."""
    assert isinstance(world.alice.http, TestClient)  # in-process: a second visitor of its app
    for browser in (world.alice, Visitor(world.alice.http.app, world.alice.mailer)):
        csrf = csrf_of(browser.get("/centre/sign-in").text)
        answer = browser.http.request(method, path, data={"csrf": csrf} if method == "POST" else None)
        assert answer.status_code == 404, (method, path, answer.status_code, answer.text[:300])
        assert answer.headers["content-type"].startswith("text/html")
        assert NOT_FOUND in answer.text
