"""The business console in a real browser (Debian's Chromium): a staff member's sign-in and round of the
pages, axe with no serious violation on every page, a viewer refused a change, the overview's charts drawn
without JavaScript at 1280 and 360 px, and the screenshots at 1280 px (the overview at 360 px too:
docs/screenshots/console-*.png, with HARKEN_SCREENSHOTS_DIR=docs/screenshots).

Everything runs against one real `harken serve` per module (the `centre_hub` fixture), the staff added
with `harken staff add` as the operator adds them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.axe import describe, run_axe, serious_violations
from tests.browser.conftest import NewContext
from tests.browser.harness import PHONE, URL, CentreHub

pytestmark = pytest.mark.slow

SHOP = "Chapter & Verse"
QUESTION = {
    "text": {"en": "Coffee or tea?"},
    "fills": "interest:coffee",
    "options": [
        {"id": "coffee", "label": {"en": "Coffee"}, "value": {"affinity": 0.9}},
        {"id": "tea", "label": {"en": "Tea"}, "value": {"affinity": -0.5}},
    ],
    "intrusiveness": 1,
}


def call(client: httpx.Client, method: str, path: str, body: Any = None) -> Any:
    response = client.request(method, path, json=body)
    assert response.status_code < 400, response.text
    return response.json() if response.content else None


@dataclass
class Shop:
    api: httpx.Client
    admin: str
    viewer: str


@pytest.fixture(scope="module")
def shop(centre_hub: CentreHub) -> Shop:
    """A bookshop with notices, a question, offers, a webhook, customers with consents and decisions (one
    refused for want of consent, one a withdrawal, feedback on a send: the overview's charts have
    something to draw), and two staff: an admin and a viewer."""
    api = centre_hub.create_org(SHOP)
    call(api, "PUT", "/v1/notices/marketing", {"text": "News about books, at most weekly.", "locale": "en"})
    call(
        api,
        "PUT",
        "/v1/notices/marketing",
        {"text": "News about books and events, at most weekly.", "locale": "en"},
    )
    call(
        api,
        "PUT",
        "/v1/notices/personalised-offers",
        {"text": "Offers chosen from what you tell us.", "locale": "en"},
    )
    call(api, "PUT", "/v1/questions/coffee-or-tea", QUESTION)
    call(
        api,
        "PUT",
        "/v1/offers/book-club",
        {"title": "Autumn book club", "topics": ["books"], "channels": ["email"]},
    )
    call(
        api,
        "PUT",
        "/v1/offers/poetry-night",
        {"title": "Poetry night", "topics": ["poetry"], "channels": ["email", "push"]},
    )
    call(api, "POST", "/v1/webhooks", {"url": "http://127.0.0.1:9/harken", "events": ["consent.updated"]})
    for ref in ("reader-1", "reader-2"):
        call(api, "PUT", f"/v1/subjects/{ref}", {})
        for purpose in ("marketing", "personalised-offers"):
            call(
                api,
                "PUT",
                f"/v1/subjects/{ref}/consents/{purpose}",
                {"status": "granted", "channels": ["email"]},
            )
        call(
            api,
            "PATCH",
            f"/v1/subjects/{ref}/preferences",
            {"provenance": "observed", "interests": {"books": 0.8}},
        )
        decision = {"subject": ref, "purpose": "marketing", "channels": ["email"], "offer_ids": ["book-club"]}
        sent = call(api, "POST", "/v1/decisions", decision)
    call(api, "POST", f"/v1/decisions/{sent['decision_id']}/feedback", {"kind": "accepted"})
    call(api, "PUT", "/v1/subjects/reader-3", {})
    for ref in ("reader-2", "reader-3"):
        decision = {
            "subject": ref,
            "purpose": "marketing",
            "channels": ["push"],
            "offer_ids": ["poetry-night"],
        }
        call(api, "POST", "/v1/decisions", decision)
    call(api, "PUT", "/v1/subjects/reader-2/consents/marketing", {"status": "withdrawn", "channels": []})
    centre_hub.harken("worker", "--once")  # nothing listens at 127.0.0.1:9: the attempts fail
    admin, viewer = centre_hub.address("admin"), centre_hub.address("viewer")
    centre_hub.harken("staff", "add", "--org", SHOP, "--email", admin, "--role", "admin")
    centre_hub.harken("staff", "add", "--org", SHOP, "--email", viewer, "--role", "viewer")
    return Shop(api, admin, viewer)


def console_link(hub: CentreHub, to: str) -> str:
    """The /console/ link in the newest message to `to`."""
    for message in reversed(hub.mailbox.messages(to)):
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        for url in URL.findall(body.get_content()):
            if "/console/link/" in url:
                return str(url)
    raise AssertionError(f"no console link mailed to {to}")


def sign_in(page: Page, hub: CentreHub, email: str, checker: Checker | None = None) -> None:
    page.goto(f"{hub.url}/console/sign-in")
    if checker:
        checker.check(page, "sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    if checker:
        checker.check(page, "sign-in-sent")
    page.wait_for_timeout(200)  # the server mails after it answered
    page.goto(console_link(hub, email))
    if checker:
        checker.check(page, "link")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")


def go(page: Page, name: str) -> None:
    page.get_by_role("navigation").get_by_role("link", name=name, exact=True).click()


@dataclass
class Checker:
    """Runs axe on each page and photographs it, collecting every problem so one run reports all."""

    directories: list[Path]
    problems: list[str]

    def check(self, page: Page, name: str) -> None:
        page.wait_for_load_state()
        violations = serious_violations(run_axe(page))
        if violations:
            self.problems.append(f"console-{name} ({page.url}):\n{describe(violations)}")
        picture = page.screenshot(full_page=True)
        for directory in self.directories:
            (directory / f"console-{name}.png").write_bytes(picture)


def screenshot_directories(tmp_path: Path) -> list[Path]:
    directories = [tmp_path]
    if wanted := os.environ.get("HARKEN_SCREENSHOTS_DIR"):
        directories.append(Path(wanted))
        directories[-1].mkdir(parents=True, exist_ok=True)
    return directories


def test_every_console_page_is_accessible_and_photographed(
    centre_hub: CentreHub, shop: Shop, new_context: NewContext, tmp_path: Path
) -> None:
    page = new_context().new_page()  # 1280 px
    checker = Checker(screenshot_directories(tmp_path), [])
    sign_in(page, centre_hub, shop.admin, checker)
    expect(page.locator(".figures")).to_contain_text("3 customers")
    expect(page.get_by_role("img", name=re.compile("^Decisions per day"))).to_be_visible()
    checker.check(page, "overview-1280")

    go(page, "Offers")
    expect(page.get_by_role("cell", name="Autumn book club")).to_be_visible()
    checker.check(page, "offers")
    page.get_by_role("link", name="book-club").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Autumn book club")
    page.get_by_label("Title").fill("Winter book club")
    page.get_by_label("push").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Winter book club")
    checker.check(page, "offer")
    page.get_by_label("Days held back after a purchase or dismissal").fill("999")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#suppress_days-error")).to_be_visible()
    checker.check(page, "offer-refused")

    go(page, "Notices")
    expect(page.get_by_text("2 (current)")).to_be_visible()
    checker.check(page, "notices")
    go(page, "Questions")
    expect(page.get_by_role("heading", name="Coffee or tea?")).to_be_visible()
    checker.check(page, "questions")

    go(page, "Customers")
    checker.check(page, "customers")
    page.get_by_label("Customer ref").fill("reader-1")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Customer reader-1")
    expect(page.get_by_role("region", name="Consent history").get_by_role("row")).to_have_count(3)
    checker.check(page, "customer")

    go(page, "Webhooks")
    expect(page.get_by_text("http://127.0.0.1:9/harken")).to_be_visible()
    expect(page.get_by_role("heading", name="Last failures")).to_be_visible()
    checker.check(page, "webhooks")
    page.get_by_role("button", name=re.compile("^Send consent.updated")).first.click()
    expect(page.get_by_role("status")).to_have_text("Sent again: the delivery is queued.")

    go(page, "API keys")
    page.get_by_role("button", name="Create a key").click()
    key = page.locator("#key-value").inner_text()
    assert key.startswith("hk_")
    assert (
        httpx.get(f"{centre_hub.url}/v1/keys", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    )
    checker.check(page, "keys-created")
    go(page, "API keys")
    expect(page.get_by_text(key)).to_have_count(0)  # shown once; now only its prefix
    expect(page.get_by_text(f"{key[:10]}…")).to_be_visible()

    go(page, "Ledger")
    page.get_by_role("button", name="Verify now").click()
    expect(page.get_by_role("heading", name="Verified")).to_be_visible()
    checker.check(page, "ledger")

    go(page, "Staff")
    expect(page.get_by_role("cell", name=shop.viewer, exact=True)).to_be_visible()
    checker.check(page, "staff")

    response = page.goto(f"{centre_hub.url}/console/offers/someone-elses")
    assert response is not None and response.status == 404
    checker.check(page, "not-found")

    if checker.problems:
        pytest.fail("\n".join(checker.problems), pytrace=False)


def test_the_overview_draws_its_charts_without_javascript_at_phone_width(
    centre_hub: CentreHub, shop: Shop, browser: Browser, new_context: NewContext, tmp_path: Path
) -> None:
    context = browser.new_context(
        viewport={"width": PHONE, "height": 780}, locale="en-GB", java_script_enabled=False
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page, centre_hub, shop.viewer)
        chart = page.locator("#decisions")
        expect(chart.get_by_role("img", name=re.compile("^Decisions per day"))).to_be_visible()
        box = chart.locator(".picture svg").bounding_box()
        assert box is not None and 0 < box["width"] <= PHONE and box["height"] > 200, box
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE  # nothing wider than the phone
        # The text table beside the chart says what the API answered: two sent, two refused, today
        chart.get_by_text("The numbers as a table").click()
        expect(chart.get_by_role("table").get_by_role("row").last).to_have_text(re.compile(r"total\s*2\s*2"))
        with page.expect_download() as downloading:
            chart.get_by_role("link", name=re.compile("^Download the numbers as CSV")).click()
        download = downloading.value
        assert download.suggested_filename.startswith("harken-decisions-")
        assert Path(download.path()).read_bytes().startswith(b"day,sent,not sent\r\n")
    finally:
        context.close()

    page = new_context(width=PHONE).new_page()  # axe runs in the page: a context with script
    sign_in(page, centre_hub, shop.viewer)
    expect(page.locator("#decisions .picture svg")).to_be_visible()
    checker = Checker(screenshot_directories(tmp_path), [])
    checker.check(page, "overview-360")
    if checker.problems:
        pytest.fail("\n".join(checker.problems), pytrace=False)


@pytest.fixture
def no_script_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="en-GB", java_script_enabled=False
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_a_viewer_reads_without_javascript_and_is_refused_a_change(
    centre_hub: CentreHub, shop: Shop, no_script_page: Page, new_context: NewContext, tmp_path: Path
) -> None:
    page = no_script_page
    sign_in(page, centre_hub, shop.viewer)
    go(page, "API keys")
    expect(page.get_by_role("heading", level=1)).to_have_text("API keys")
    expect(page.get_by_role("button", name="Create a key")).to_have_count(0)
    expect(page.get_by_text("an admin of your organisation makes changes")).to_be_visible()
    go(page, "Customers")
    page.get_by_label("Customer ref").fill("reader-2")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Customer reader-2")

    # The form an admin's page carries, sent from the viewer's own page: refused, saying why.
    page = new_context().new_page()
    sign_in(page, centre_hub, shop.viewer)
    go(page, "API keys")
    page.evaluate(
        """() => { const form = document.createElement("form");
        form.method = "post"; form.action = "/console/keys";
        form.append(document.querySelector('input[name="csrf"]').cloneNode());
        document.body.append(form); form.submit(); }"""
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.get_by_text("Only an admin of your organisation may change this")).to_be_visible()
    checker = Checker(screenshot_directories(tmp_path), [])
    checker.check(page, "viewer-refused")
    if checker.problems:
        pytest.fail("\n".join(checker.problems), pytrace=False)
