"""The Preference Centre in a real browser: a customer's whole journey, the keyboard, no JavaScript,
axe on every page at 360 and 1280 px (and in German), and the screenshots in docs/screenshots.

Everything runs against one real `harken serve` per module (SQLite, and PostgreSQL when configured).
Each test signs in with an address of its own; the server allows 20 sign-in links per 15 minutes
from one IP, and this module asks for thirteen (a customer whose wallet or app speaks for them as the
verified person signs in once more, without a browser, for a token of their own).

`make screenshots` reruns the screenshot test with HARKEN_SCREENSHOTS_DIR=docs/screenshots.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Browser, Page, expect

from harken.credentials import sdjwt
from harken.jws import jwk_of
from tests.browser.axe import describe, run_axe, serious_violations
from tests.browser.conftest import NewContext
from tests.browser.harness import DESKTOP, HEIGHT, PHONE, CentreHub
from tests.centre_client import Visitor
from tests.live import MailDirectory

pytestmark = pytest.mark.slow

SHOP = "Chapter & Verse"
RAIL = "Northwind Rail"
NOTICES = {
    "marketing": "We send you news about books and events at Chapter & Verse by email, at most weekly.",
    "personalised-offers": "We choose offers from the interests you tell us. You can change them here any time.",
}
ICEBREAKER = {
    "text": {"en": "Coffee or tea?", "de": "Kaffee oder Tee?"},
    "fills": "interest:coffee",
    "options": [
        {"id": "coffee", "label": {"en": "Coffee", "de": "Kaffee"}, "value": {"affinity": 0.9}},
        {"id": "tea", "label": {"en": "Tea", "de": "Tee"}, "value": {"affinity": -0.5}},
    ],
    "intrusiveness": 1,
}
OFFER = {"title": "Autumn book club", "topics": ["books"], "channels": ["email"]}
PAGES = (
    "now",
    "businesses",
    "consents",
    "shares",
    "terms",
    "assistants",
    "credentials",
    "preferences",
    "data",
)
EXPIRES = re.compile(r"This expires by itself at (\d{1,2} \w+ \d{4}, \d{2}:\d{2})\.")


def call(client: httpx.Client, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
    """One org API call that must succeed; its JSON, or None when empty."""
    response = client.request(method, path, json=body, **kwargs)
    assert response.status_code < 400, f"{method} {path}: {response.status_code} {response.text}"
    return response.json() if response.content else None


@dataclass(frozen=True)
class Customer:
    org: httpx.Client
    ref: str
    email: str
    token: str

    def me(self, method: str, path: str, body: Any) -> Any:
        """A call from the org's app on the customer's behalf (their token: declared data)."""
        return call(self.org, method, path, body, headers={"Authorization": f"Bearer {self.token}"})

    def decide(self, purpose: str) -> dict[str, Any]:
        body = {"subject": self.ref, "purpose": purpose, "channels": ["email"], "offer_ids": ["book-club"]}
        decision: dict[str, Any] = call(self.org, "POST", "/v1/decisions", body)
        return decision

    def next_question(self) -> httpx.Response:
        response = self.org.get(f"/v1/subjects/{self.ref}/next-question")
        assert response.status_code in (200, 204), response.text
        return response


def register(org: httpx.Client, ref: str, email: str, grant: tuple[str, ...] = ()) -> Customer:
    call(org, "PUT", f"/v1/subjects/{ref}", {"email": email})
    for purpose in grant:
        call(
            org, "PUT", f"/v1/subjects/{ref}/consents/{purpose}", {"status": "granted", "channels": ["email"]}
        )
    token = call(org, "POST", f"/v1/subjects/{ref}/sessions")["token"]
    customer = Customer(org, ref, email, token)
    customer.me("PATCH", "/v1/me/preferences", {"interests": {"books": 0.8}})  # the offer is relevant
    return customer


def as_person(hub: CentreHub, customer: Customer) -> Customer:
    """The customer as the verified person, for an app of their own: signed in by the mailed link
    (without a browser), every business claiming the address confirmed, and a token (`hp_…`) made on
    the My data page. Only the person may share, or have credentials issued."""
    with httpx.Client(base_url=hub.url, follow_redirects=False, timeout=10) as http:
        visitor = Visitor.over(http, MailDirectory(hub.mailbox.directory))
        visitor.sign_in(customer.email)
        return replace(customer, token=visitor.person_token())


def carry(customer: Customer, wallet: Ed25519PrivateKey, fields: list[str]) -> dict[str, Any]:
    """A credential of a trip issued to the person's wallet through its app (the centre issues none)."""
    trip = {
        "flight": "LH903",
        "arrives_at": (datetime.now(UTC) + timedelta(hours=6)).isoformat(timespec="minutes"),
    }
    body = {
        "trip": trip,
        "fields": fields,
        "expires_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        "holder_jwk": jwk_of(wallet.public_key()),
    }
    issued: dict[str, Any] = customer.me("POST", "/v1/me/credentials", body)
    return issued


def codes(decision: dict[str, Any]) -> list[str]:
    return [reason["code"] for reason in decision["reasons"]]


@dataclass(frozen=True)
class Orgs:
    shop: httpx.Client
    rail: httpx.Client


@pytest.fixture(scope="module")
def orgs(centre_hub: CentreHub) -> Orgs:
    """A bookshop with notices, an icebreaker question and an offer; a railway with a notice."""
    shop = centre_hub.create_org(SHOP)
    for purpose, text in NOTICES.items():
        call(shop, "PUT", f"/v1/notices/{purpose}", {"text": text, "locale": "en"})
    call(shop, "PUT", "/v1/questions/coffee-or-tea", ICEBREAKER)
    call(shop, "PUT", "/v1/offers/book-club", OFFER)
    rail = centre_hub.create_org(RAIL)
    call(rail, "PUT", "/v1/notices/marketing", {"text": "Fare deals for your usual routes.", "locale": "en"})
    return Orgs(shop, rail)


def sign_in(page: Page, hub: CentreHub, email: str) -> None:
    """Sign in as a customer does: type the address, open the mailed link, press Continue."""
    page.goto(f"{hub.url}/centre/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    page.goto(hub.mailbox.latest_link(email))
    page.get_by_role("button", name="Continue").click()
    # The businesses that say the address is their customer's ask "is this you?" first.
    page.wait_for_url(re.compile(r"/centre(/businesses)?$"))
    while page.url.partition("?")[0].endswith("/centre/businesses"):  # ?done=linked: any more to confirm?
        page.get_by_role("button", name="Yes, that's me").first.click()
        assert notice(page) == "Linked. You now see and control this business here."
        if not page.get_by_role("button", name="Yes, that's me").count():
            page.goto(f"{hub.url}/centre")
    expect(page).to_have_url(f"{hub.url}/centre")
    expect(page.get_by_role("heading", level=1)).to_have_text("Right now")


def go(page: Page, name: str) -> None:
    """Follow a link of the centre's navigation."""
    page.get_by_role("navigation").get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def notice(page: Page) -> str:
    return page.get_by_role("status").inner_text()


# ---- 1. the journey -------------------------------------------------------------------------------


def test_a_customer_signs_in_says_where_they_are_withdraws_answers_downloads_and_erases(
    centre_hub: CentreHub, orgs: Orgs, page: Page
) -> None:
    me = register(orgs.shop, "journey", centre_hub.address(), ("marketing", "personalised-offers"))
    for purpose in ("marketing", "personalised-offers"):
        before = me.decide(purpose)
        assert before["allowed"] is True, before

    sign_in(page, centre_hub, me.email)

    # Right now: one tap says where I am; it shows, with when it expires by itself (4 hours, UTC).
    page.get_by_role("button", name="Commuting").click()
    assert notice(page) == "Saved. Businesses asking now will hear it."
    expect(page.get_by_role("button", name="Commuting")).to_have_attribute("aria-pressed", "true")
    current = page.get_by_role("region", name="What businesses hear now")
    expect(current.locator("dt")).to_have_text(["Where"])
    expect(current.locator("dd")).to_have_text(["Commuting"])
    expiry = EXPIRES.fullmatch(current.locator(".expiry").inner_text())
    assert expiry, current.inner_text()
    expires = datetime.strptime(expiry[1], "%d %b %Y, %H:%M").replace(tzinfo=UTC)
    assert abs(expires - (datetime.now(UTC) + timedelta(hours=4))) < timedelta(minutes=2)

    # Consents: withdraw marketing; the org's next decision is refused for it.
    go(page, "Consents")
    marketing = page.get_by_role("region", name=SHOP).get_by_role("article", name="Marketing")
    expect(marketing.locator(".status")).to_have_text(re.compile("^Allowed \u00b7 email$", re.IGNORECASE))
    marketing.get_by_role("button", name="Withdraw").click()
    assert notice(page) == "Your decision is recorded. The receipt is below."
    expect(marketing.locator(".status")).to_have_text("Withdrawn")
    refused = me.decide("marketing")
    assert refused["allowed"] is False
    assert "consent.withdrawn" in codes(refused), refused

    # ...and the receipt of that withdrawal downloads, signed.
    with page.expect_download() as download:
        marketing.get_by_role("link", name="Download the receipt").click()
    assert re.fullmatch(r"receipt-[0-9a-f-]{36}\.json", download.value.suggested_filename)
    receipt = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert set(receipt) == {"receipt", "jws"}
    assert receipt["jws"].count(".") == 2
    assert "withdrawn" in json.dumps(receipt["receipt"])

    # Businesses: the shop's icebreaker, answered once, is not asked again.
    go(page, "Businesses")
    shop = page.get_by_role("region", name=SHOP)
    question = shop.get_by_role("group", name=re.compile("Coffee or tea"))
    expect(question).to_contain_text(f"{SHOP} would like to know:")
    question.get_by_label("Coffee", exact=True).check()
    shop.get_by_role("button", name="Answer").click()
    assert notice(page) == "Thank you. Your answer is saved as something you told them."
    expect(page.get_by_role("group", name=re.compile("Coffee or tea"))).to_have_count(0)
    asked = me.next_question()
    assert asked.status_code == 204 or asked.json()["question_id"] != "coffee-or-tea", asked.text

    # My data: everything downloads (with the context told above), then deletion is asked for.
    go(page, "My data")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data (JSON)").click()
    assert re.fullmatch(r"harken-my-data-\d{4}-\d{2}-\d{2}\.json", download.value.suggested_filename)
    everything = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    told = {datum["field"]: datum for datum in everything["data"]}
    assert told["context"]["value"]["situation"] == "commuting", told
    assert told["context"]["provenance"] == "declared"
    assert told["interest:coffee"]["value"]["affinity"] == 0.9, told
    assert {c["purpose"] for c in everything["consents"]} == {"marketing", "personalised-offers"}
    assert all(c["receipt"]["jws"] for c in everything["consents"])

    page.get_by_label("Yes, erase my data everywhere").check()
    page.get_by_role("button", name="Delete my data").click()
    assert notice(page).startswith("Your data is erased, and every business you dealt with has been told.")
    expect(page).to_have_url(re.compile(r"/centre/sign-in"))  # erased: signed out with everything else

    # Every later decision is "don't send", whatever the purpose.
    refused = me.decide("personalised-offers")
    assert refused["allowed"] is False
    assert codes(refused) == ["subject.erased"], refused


# ---- 2. the keyboard ------------------------------------------------------------------------------

# Marks the focused element and says what it is: "skip", "body" or its tag and text.
MARK_FOCUS = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return "body";
  e.dataset.tabbed = "1";
  if (e.classList.contains("skip")) return "skip";
  return e.tagName.toLowerCase() + ":" + (e.getAttribute("name") || "") + ":" + (e.textContent || "").trim();
}"""
# Each visible control of each form not reached by Tab (a radio group counts once).
UNREACHED = """() => {
  const shown = e => e.checkVisibility({visibilityProperty: true});  // not in a closed <details>
  const missing = [];
  for (const form of document.forms) {
    const controls = [...form.elements].filter(
      e => e.type !== "hidden" && !e.disabled && e.tagName !== "FIELDSET" && shown(e));
    if (!controls.length) {
      const summary = form.closest("details")?.querySelector("summary");
      if (!summary || !summary.dataset.tabbed) missing.push(form.getAttribute("action") + " (no way in)");
      continue;
    }
    for (const c of controls) {
      const reached = c.type === "radio"
        ? [...form.querySelectorAll(`input[type=radio][name="${c.name}"]`)].some(r => r.dataset.tabbed)
        : c.dataset.tabbed;
      if (!reached) missing.push(form.getAttribute("action") + " " + (c.name || c.id || c.textContent.trim()));
    }
  }
  return missing;
}"""


def skip_link_first(page: Page) -> None:
    """The first Tab stop is the skip link, and Enter on it moves the focus to <main>."""
    page.keyboard.press("Tab")
    assert page.evaluate(MARK_FOCUS) == "skip", f"first Tab stop on {page.url}"
    expect(page.locator(".skip")).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main", page.url


def tab_through(page: Page) -> list[str]:
    """Tab from the top of the page round to the skip link again; the stops, in order."""
    stops: list[str] = []
    for _ in range(300):
        page.keyboard.press("Tab")
        stop = page.evaluate(MARK_FOCUS)
        if stop == "skip" and stops:
            return stops
        stops.append(stop)
    raise AssertionError(f"Tab never came back round on {page.url}: {stops[:40]}")


def tab_to(page: Page, stop: str) -> None:
    """Press Tab until the focus is on `stop` (as MARK_FOCUS names it)."""
    for _ in range(100):
        page.keyboard.press("Tab")
        if page.evaluate(MARK_FOCUS) == stop:
            return
    raise AssertionError(f"no Tab stop {stop!r} on {page.url}")


def all_forms_reachable(page: Page) -> None:
    """Load the page afresh (no #main to start from), Tab round it; every form control was reached."""
    page.goto(page.url.partition("#")[0])
    tab_through(page)
    missing = page.evaluate(UNREACHED)
    assert not missing, f"form controls Tab never reaches on {page.url}: {missing}"


def test_the_keyboard_reaches_everything_and_the_skip_link_comes_first(
    centre_hub: CentreHub, orgs: Orgs, page: Page
) -> None:
    me = register(orgs.shop, "keys", centre_hub.address(), ("marketing",))
    # Its Revoke form is on the walk too (and so the shop's claim is confirmed: Continue opens Right now).
    carry(as_person(centre_hub, me), Ed25519PrivateKey.generate(), ["trip.flight"])
    url = centre_hub.url

    # Signing in by keyboard alone: skip, the address field is next, Enter sends.
    page.goto(f"{url}/centre/sign-in")
    all_forms_reachable(page)
    page.goto(f"{url}/centre/sign-in")
    skip_link_first(page)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "email"
    page.keyboard.type(me.email)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    skip_link_first(page)

    page.goto(centre_hub.mailbox.latest_link(me.email))
    skip_link_first(page)
    all_forms_reachable(page)
    tab_to(page, "button::Continue")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Right now")

    for name in PAGES:
        page.goto(f"{url}/centre" if name == "now" else f"{url}/centre/{name}")
        skip_link_first(page)
        all_forms_reachable(page)
    page.goto(f"{url}/centre/no-such-page")
    skip_link_first(page)

    # A tap by keyboard: focus the button, press Enter.
    page.goto(f"{url}/centre")
    tab_to(page, "button::At home")
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="At home")).to_have_attribute("aria-pressed", "true")


# ---- 3. without JavaScript ------------------------------------------------------------------------


@pytest.fixture
def no_script_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": PHONE, "height": HEIGHT[PHONE]}, locale="en-GB", java_script_enabled=False
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_the_centre_works_without_javascript(centre_hub: CentreHub, orgs: Orgs, no_script_page: Page) -> None:
    page = no_script_page
    me = register(orgs.shop, "no-script", centre_hub.address(), ("marketing",))
    sign_in(page, centre_hub, me.email)

    page.get_by_role("button", name="At work").click()
    assert notice(page) == "Saved. Businesses asking now will hear it."
    expect(page.get_by_role("region", name="What businesses hear now").locator("dd")).to_have_text(
        ["At work"]
    )

    go(page, "Preferences")
    page.get_by_label("A topic (e.g. thrillers, running)").fill("poetry")
    page.get_by_label("How you feel about it").select_option(label="I like it")
    page.get_by_role("button", name="Add").first.click()
    assert notice(page) == "Saved."
    expect(page.get_by_role("group", name="poetry").get_by_label("I like it")).to_be_checked()


def test_a_traveller_shares_their_trip_and_takes_it_back_without_javascript(
    centre_hub: CentreHub, orgs: Orgs, no_script_page: Page
) -> None:
    page = no_script_page
    me = register(orgs.shop, "traveller", centre_hub.address(), ("marketing",))
    sign_in(page, centre_hub, me.email)
    go(page, "Shares")
    form = page.get_by_role("region", name="Share something")
    form.get_by_label("A name for it").fill("Frankfurt")
    trip = form.get_by_role("group", name="Your trip")
    trip.get_by_label("Flight", exact=True).fill("lh903")
    trip.get_by_label("Arrival (UTC)").fill("2030-11-02T21:40")
    trip.get_by_label("How many of you").fill("2")
    form.locator("summary", has_text=RAIL).click()  # a business opens, without script, to say what it gets
    rail = form.get_by_role("group", name=f"What {RAIL} gets")
    rail.get_by_label("Arrival", exact=True).check()
    rail.get_by_label("Flight", exact=True).check()
    form.get_by_role("button", name="Share", exact=True).click()
    assert notice(page).startswith("Shared.")

    share = page.get_by_role("region", name="Frankfurt")
    expect(share).to_contain_text("LH903")
    share_id = (share.get_attribute("aria-labelledby") or "").removeprefix("share-")
    read = call(orgs.rail, "GET", f"/v1/shares/{share_id}")
    assert read["data"] == {"trip.arrives_at": "2030-11-02T21:40:00Z", "trip.flight": "LH903"}, read
    assert orgs.shop.get(f"/v1/shares/{share_id}").status_code == 404

    share.get_by_role("button", name=f"Take it back from {RAIL}").click()
    assert notice(page) == "Taken back. From now on they cannot read it."
    expect(page.get_by_role("region", name="Frankfurt")).to_contain_text("Taken back")
    assert orgs.rail.get(f"/v1/shares/{share_id}").status_code == 404


def test_a_traveller_revokes_a_credential_without_javascript_and_the_railway_refuses_it(
    centre_hub: CentreHub, orgs: Orgs, no_script_page: Page
) -> None:
    page = no_script_page
    me = register(orgs.shop, "carrier", centre_hub.address(), ("marketing",))
    wallet = Ed25519PrivateKey.generate()
    issued = carry(as_person(centre_hub, me), wallet, ["trip.arrives_at", "trip.flight"])

    def verify() -> httpx.Response:
        """The wallet shows the railway the arrival; the railway asks the hub to verify it."""
        nonce = call(orgs.rail, "POST", "/v1/credentials/nonces")
        presentation = sdjwt.present(
            issued["credential"],
            disclose=("trip.arrives_at",),
            holder_key=wallet,
            audience=nonce["audience"],
            nonce=nonce["nonce"],
            iat=int(datetime.now(UTC).timestamp()),
        )
        return orgs.rail.post(
            "/v1/credentials/verify", json={"presentation": presentation, "nonce": nonce["nonce"]}
        )

    assert verify().status_code == 200
    sign_in(page, centre_hub, me.email)
    go(page, "Credentials")
    credential = page.get_by_role("region", name=re.compile("^Issued on "))
    expect(credential).to_contain_text("Carries: Arrival, Flight")
    expect(credential.locator(".status")).to_have_text(re.compile(r"^Valid until "))
    credential.get_by_role("button", name="Revoke").click()
    assert notice(page).startswith("Revoked. From now on it no longer holds")
    expect(credential.locator(".status")).to_have_text(re.compile(r"^You revoked it on "))
    expect(credential.get_by_role("button", name="Revoke")).to_have_count(0)
    refused = verify()
    assert refused.status_code == 422 and refused.json()["type"] == "/problems/credential-revoked", (
        refused.text
    )


# ---- 4 and 5. axe, 360 px, German, screenshots ----------------------------------------------------


def fill_in(customer: Customer, orgs: Orgs, hub: CentreHub) -> None:
    """The same, fixed data for every screenshot: told through the shop's app, plus a railway; the
    share and the credentials made by the person with a token of their own, once they linked both."""
    customer.me(
        "PATCH",
        "/v1/me/preferences",
        {
            "time_zone": "Europe/London",
            "interests": {"thrillers": 0.8, "poetry": 0.5, "horror": -1.0},
            "channels": {"email": {"allowed": True, "max_per_week": 2}, "sms": {"allowed": False}},
            "quiet_hours": {"start": "22:00", "end": "07:00"},
            "life_events": {
                "moving-house": {
                    "label": "Moving house",
                    "topics": ["furniture"],
                    "until": "2030-03-01T00:00:00Z",
                }
            },
            "novelty": 0.5,
        },
    )
    customer.me(
        "PUT", "/v1/me/context", {"situation": "commuting", "intent": "browsing", "topics": ["crime-novels"]}
    )
    customer.decide("marketing")
    call(orgs.rail, "PUT", f"/v1/subjects/{customer.ref}", {"email": customer.email})
    call(
        orgs.rail,
        "PUT",
        f"/v1/subjects/{customer.ref}/consents/marketing",
        {"status": "granted", "channels": ["email", "sms"]},
    )
    person = as_person(hub, customer)
    ids = {b["name"]: b["id"] for b in person.me("GET", "/v1/me/directory", None)}
    share = person.me(
        "POST",
        "/v1/me/shares",
        {
            "label": "Frankfurt",
            "trip": {
                "flight": "LH903",
                "origin": "LHR",
                "destination": "FRA",
                "status": "delayed",
                "delay_minutes": 120,
                "arrives_at": (datetime.now(UTC) + timedelta(hours=6)).isoformat(timespec="minutes"),
                "party_size": 2,
            },
            "grants": [
                {"org": ids[RAIL], "purpose": "service", "fields": ["trip.arrives_at", "trip.party_size"]},
                {"org": ids[SHOP], "purpose": "personalised-offers", "fields": ["interests"]},
            ],
            "expires_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        },
    )
    call(orgs.rail, "GET", f"/v1/shares/{share['id']}")
    wallet = Ed25519PrivateKey.generate()
    revoked = carry(person, wallet, ["trip.flight"])
    person.me("DELETE", f"/v1/me/credentials/{revoked['id']}", None)
    carry(person, wallet, ["trip.arrives_at", "trip.flight"])


@dataclass
class Checker:
    """Runs axe and the no-horizontal-scroll check on each page, and photographs it, collecting
    every problem so that one run reports (and pictures) all of them."""

    width: int
    directories: list[Path]
    problems: list[str]

    def check(self, page: Page, name: str) -> None:
        page.wait_for_load_state()
        label = f"centre-{name}-{self.width}"
        violations = serious_violations(run_axe(page))
        if violations:
            self.problems.append(f"{label} ({page.url}):\n{describe(violations)}")
        if self.width == PHONE:
            scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
            if scroll > inner:
                wide = page.evaluate(WIDER_THAN_SCREEN)
                self.problems.append(
                    f"{label}: scrolls sideways ({scroll} px > {inner} px); too wide: {wide}"
                )
        squeezed = page.evaluate(SQUEEZED)
        if squeezed:
            self.problems.append(f"{label}: check boxes or radio buttons squeezed (w x h px): {squeezed}")
        picture = page.screenshot(full_page=True)
        for directory in self.directories:
            (directory / f"{label}.png").write_bytes(picture)


# The innermost elements that stick out past the right edge of the window.
WIDER_THAN_SCREEN = """() => {
  const out = [...document.body.querySelectorAll("*")].filter(
    e => e.getBoundingClientRect().right > window.innerWidth + 0.5);
  return out.filter(e => !out.some(o => o !== e && e.contains(o))).slice(0, 5).map(
    e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + e.className : "")
      + " (" + Math.round(e.getBoundingClientRect().right) + " px)");
}"""


# Check boxes and radio buttons drawn narrower than tall: a long label beside them took their room.
SQUEEZED = """() => [...document.querySelectorAll("input[type=checkbox], input[type=radio]")]
  .filter(e => e.checkVisibility())
  .map(e => [e, e.getBoundingClientRect()])
  .filter(([e, r]) => Math.abs(r.width - r.height) > 1)
  .map(([e, r]) => "#" + e.id + " " + Math.round(r.width) + "x" + Math.round(r.height))"""


def screenshot_directories(tmp_path: Path) -> list[Path]:
    directories = [tmp_path]
    if wanted := os.environ.get("HARKEN_SCREENSHOTS_DIR"):
        directories.append(Path(wanted))
        directories[-1].mkdir(parents=True, exist_ok=True)
    return directories


@pytest.mark.parametrize("width", [PHONE, DESKTOP], ids=["360px", "1280px"])
def test_every_page_is_accessible_fits_and_is_photographed(
    centre_hub: CentreHub, orgs: Orgs, new_context: NewContext, width: int, tmp_path: Path
) -> None:
    me = register(
        orgs.shop, f"reader-{width}", centre_hub.address("reader"), ("marketing", "personalised-offers")
    )
    fill_in(me, orgs, centre_hub)
    page = new_context(width=width).new_page()
    checker = Checker(width, screenshot_directories(tmp_path), [])
    url = centre_hub.url

    page.goto(f"{url}/centre/sign-in")
    checker.check(page, "sign-in")
    page.get_by_label("Email address").fill("not an address")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.locator("#email-error")).to_have_text("Enter an email address like name@example.com.")
    checker.check(page, "sign-in-error")
    page.get_by_label("Email address").fill(me.email)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    checker.check(page, "sign-in-sent")
    page.goto(centre_hub.mailbox.latest_link(me.email))
    checker.check(page, "link")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Right now")

    checker.check(page, "now")
    go(page, "Businesses")
    expect(page.get_by_role("group", name=re.compile("Coffee or tea"))).to_be_visible()
    checker.check(page, "businesses")
    go(page, "Consents")
    page.get_by_role("region", name=SHOP).locator("summary").first.click()
    expect(page.get_by_text(NOTICES["marketing"])).to_be_visible()
    checker.check(page, "consents")
    go(page, "Shares")
    expect(page.get_by_role("region", name="Frankfurt")).to_contain_text("Can read it")
    page.get_by_role("region", name="Share something").locator("summary").first.click()
    checker.check(page, "shares")
    go(page, "Credentials")
    expect(page.locator(".status")).to_have_count(2)
    checker.check(page, "credentials")
    go(page, "Preferences")
    expect(page.get_by_role("group", name="thrillers")).to_be_visible()
    checker.check(page, "preferences")
    go(page, "My data")
    checker.check(page, "data")
    response = page.goto(f"{url}/centre/no-such-page")
    assert response is not None and response.status == 404
    checker.check(page, "not-found")

    # Opened from the shop's app: the confirmation names the shop, the pages show its window only.
    page.goto(f"{url}/centre/from-app?token={me.token}")
    checker.check(page, "from-app")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".window")).to_contain_text(f"You opened this from {SHOP}'s app")
    checker.check(page, "from-app-now")

    if checker.problems:
        pytest.fail("\n".join(checker.problems), pytrace=False)


def german_page(page: Page, path: str) -> None:
    """The page at `path` answers, in German, with no serious axe violation and no sideways scroll."""
    response = page.goto(path)
    assert response is not None
    assert response.status == 200, (
        f"{path} in German: HTTP {response.status}: {page.inner_text('body')[:300]!r}"
    )
    assert page.evaluate("() => document.documentElement.lang") == "de", path
    violations = serious_violations(run_axe(page))
    assert not violations, f"{path} in German:\n{describe(violations)}"
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), path


def test_the_centre_speaks_german_and_stays_accessible(
    centre_hub: CentreHub, orgs: Orgs, new_context: NewContext
) -> None:
    me = register(orgs.shop, "leser", centre_hub.address("leser"), ("marketing",))
    page = new_context(width=PHONE, locale="de-DE", accept_language="de-DE,de;q=0.9").new_page()
    url = centre_hub.url

    german_page(page, f"{url}/centre/sign-in")  # chosen by the browser's Accept-Language
    page.locator("#email").fill(me.email)
    page.locator("main form button[type=submit]").click()
    page.goto(centre_hub.mailbox.latest_link(me.email))
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{url}/centre/businesses")  # the shop asks "is this you?"
    german_page(page, f"{url}/centre/businesses")
    page.locator('main form[action$="/confirm"] button').click()
    expect(page).to_have_url(re.compile(r"/centre/businesses\?done=linked"))
    german_page(page, f"{url}/centre")
    german_page(page, f"{url}/centre/businesses")
    expect(page.locator("main form.question legend strong")).to_have_text("Kaffee oder Tee?")
    expect(page.locator("main form.question legend strong")).to_have_attribute("lang", "de")
    german_page(page, f"{url}/centre/consents")
    german_page(page, f"{url}/centre/shares")
    german_page(page, f"{url}/centre/credentials")

    english_browser = new_context(width=PHONE).new_page()
    german_page(english_browser, f"{url}/centre/sign-in?lang=de")  # chosen in the link
