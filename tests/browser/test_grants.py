"""The consent screen an agent's OAuth request lands on, in a real browser: the person signed in to the
centre sees the agent's name, unticks scopes, picks the businesses, and approves or declines; the agent
gets back a code its PKCE verifier trades for exactly what was ticked, or `error=access_denied` and no
grant. With and without JavaScript; axe at 360 and 1280 px on the consent screen, My assistants (a grant
and what it did) and My terms (a proffer and the businesses' answers), photographed for the README.

The agent's redirect URI (a loopback address, as a native app's) is answered inside the browser, so the
test reads the very URL the browser was sent to. `make screenshots` reruns the screenshot test with
HARKEN_SCREENSHOTS_DIR=docs/screenshots.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import NewContext
from tests.browser.harness import DESKTOP, PHONE, CentreHub
from tests.browser.test_centre import (
    RAIL,
    SHOP,
    Checker,
    Customer,
    Orgs,
    as_person,
    call,
    go,
    register,
    screenshot_directories,
    sign_in,
)
from tests.browser.test_centre import no_script_page as no_script_page  # the fixture
from tests.browser.test_centre import orgs as orgs  # the fixture
from tests.grants.agent import REDIRECT, Agent, bearer, pkce

pytestmark = pytest.mark.slow

ASSISTANT = "Pocket Assistant"
SCOPE = "read context preferences"
SCOPE_LABELS = {
    "read": "see what businesses know about you and who asked",
    "context": "say what matters to you right now",
    "preferences": "change your interests, channels and quiet hours",
}
ASKING = re.compile(r"/centre/authorize/[0-9a-f-]{36}$")


@pytest.fixture
def agent_http(centre_hub: CentreHub) -> Iterator[httpx.Client]:
    """The agent's own HTTP client to the hub (no cookies of the person's)."""
    with httpx.Client(base_url=centre_hub.url, timeout=10) as http:
        yield http


def customer_of_both(hub: CentreHub, orgs: Orgs, ref: str) -> Customer:
    """A customer of the shop and of the railway, under one address, who allowed both marketing."""
    me = register(orgs.shop, ref, hub.address(ref), ("marketing",))
    call(orgs.rail, "PUT", f"/v1/subjects/{ref}", {"email": me.email})
    consent = {"status": "granted", "channels": ["email"]}
    call(orgs.rail, "PUT", f"/v1/subjects/{ref}/consents/marketing", consent)
    return me


def ask(page: Page, hub: CentreHub, agent: Agent, scope: str = SCOPE) -> str:
    """The agent sends the signed-in person's browser to /oauth/authorize; it lands on the consent
    screen. The PKCE verifier the agent keeps, and answers the redirect URI inside the browser."""

    def agent_answers(route: Route) -> None:
        route.fulfill(content_type="text/html", body=f"<!doctype html><title>{ASSISTANT}</title><p>Done.")

    page.context.route(re.compile("^" + re.escape(REDIRECT)), agent_answers)
    verifier, challenge = pkce()
    page.goto(hub.url + agent.authorize_url(challenge, scope=scope))
    expect(page).to_have_url(ASKING)
    expect(page.get_by_role("heading", level=1)).to_have_text("Let an assistant act for you?")
    expect(page.locator("main")).to_contain_text(
        f"An app that calls itself “{ASSISTANT}” asks to act for you."
    )
    expect(page.locator("main")).to_contain_text(
        "After you answer, your browser goes back to 127.0.0.1:8765."
    )
    return verifier


def back_at_agent(page: Page) -> dict[str, list[str]]:
    """The query of the redirect URI the browser was sent back to."""
    page.wait_for_url(re.compile("^" + re.escape(REDIRECT) + r"\?"))
    return parse_qs(urlsplit(page.url).query)


@pytest.mark.parametrize("script", [True, False], ids=["script", "no-script"])
def test_a_person_grants_an_assistant_only_the_scopes_and_businesses_they_ticked(
    centre_hub: CentreHub, orgs: Orgs, agent_http: httpx.Client, request: pytest.FixtureRequest, script: bool
) -> None:
    page: Page = request.getfixturevalue("page" if script else "no_script_page")
    me = customer_of_both(centre_hub, orgs, f"ticks-{'script' if script else 'plain'}")
    sign_in(page, centre_hub, me.email)
    agent = Agent.register(agent_http, ASSISTANT)
    verifier = ask(page, centre_hub, agent)

    name = page.get_by_label("Your name for it")
    expect(name).to_have_value(ASSISTANT)
    name.fill("Assistant on my phone")
    scopes = page.get_by_role("group", name="It may")
    for label in SCOPE_LABELS.values():
        expect(scopes.get_by_label(label)).to_be_checked()
    scopes.get_by_label(SCOPE_LABELS["preferences"]).uncheck()
    page.get_by_role("group", name="For how long").get_by_label("one week").check()
    businesses = page.get_by_role("group", name="At which businesses")
    expect(businesses.get_by_label("every business I linked")).to_be_checked()
    businesses.get_by_label("only those I tick").check()
    businesses.get_by_label(RAIL).check()
    businesses.get_by_label(SHOP).check()
    businesses.get_by_label(SHOP).uncheck()
    page.get_by_role("button", name="Approve").click()

    back = back_at_agent(page)
    assert back["state"] == ["xyz"] and set(back) == {"code", "state"}, back
    issued = agent.exchange(back["code"][0], verifier)
    assert issued.status_code == 200, issued.text
    tokens = issued.json()
    assert tokens["scope"] == "read context", tokens
    # What it may read is the railway's only; what was unticked is refused.
    seen = agent_http.get("/v1/me", headers=bearer(tokens))
    assert seen.status_code == 200, seen.text
    assert {c["org"] for c in seen.json()["consents"]} == {RAIL}, seen.json()["consents"]
    refused = agent_http.patch("/v1/me/preferences", headers=bearer(tokens), json={"interests": {"golf": 1}})
    assert refused.status_code == 403, refused.text

    page.goto(f"{centre_hub.url}/centre/assistants")
    [grant] = page.locator("main section").all()
    expect(grant.get_by_role("heading", level=2)).to_have_text("Assistant on my phone")
    expect(grant.locator(".status")).to_have_text(re.compile(r"^May act for you until "))
    expect(grant.locator("ul").first.locator("li")).to_have_text(
        [SCOPE_LABELS["read"], SCOPE_LABELS["context"]]
    )
    expect(grant).to_contain_text(f"Only at: {RAIL}")
    expect(grant.locator(".acts li")).to_have_text([re.compile(r" · GET /v1/me$")])


def test_declining_sends_the_assistant_back_with_access_denied_and_makes_no_grant(
    centre_hub: CentreHub, orgs: Orgs, agent_http: httpx.Client, page: Page
) -> None:
    me = customer_of_both(centre_hub, orgs, "decliner")
    sign_in(page, centre_hub, me.email)
    agent = Agent.register(agent_http, ASSISTANT)
    ask(page, centre_hub, agent)
    asked_at = page.url
    page.get_by_role("button", name="Decline").click()

    back = back_at_agent(page)
    assert back == {
        "error": ["access_denied"],
        "error_description": ["the person declined"],
        "state": ["xyz"],
    }
    answered = page.goto(asked_at)  # decided: the screen is gone, nothing to approve later
    assert answered is not None and answered.status == 404
    page.goto(f"{centre_hub.url}/centre/assistants")
    expect(page.get_by_role("heading", level=1)).to_have_text("My assistants")
    expect(page.locator("main section")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("No assistant acts for you.")


# ---- axe and screenshots ------------------------------------------------------------------------------


def proffer_terms(hub: CentreHub, orgs: Orgs, me: Customer) -> None:
    """The person offers "service delivery only" to both businesses; the shop accepts, the railway
    offers "no AI training" instead."""
    person = as_person(hub, me)
    proffered = person.me("POST", "/v1/me/terms", {"agreement": "SD-BASE"})
    to = {p["org_name"]: p["id"] for p in proffered}
    assert set(to) == {SHOP, RAIL}, proffered
    call(orgs.shop, "POST", f"/v1/terms/proffers/{to[SHOP]}/accept")
    call(orgs.rail, "POST", f"/v1/terms/proffers/{to[RAIL]}/alternative", {"agreement": "NO-AI"})


@pytest.mark.parametrize("width", [PHONE, DESKTOP], ids=["360px", "1280px"])
def test_the_consent_screen_assistants_and_terms_are_accessible_and_photographed(
    centre_hub: CentreHub,
    orgs: Orgs,
    agent_http: httpx.Client,
    new_context: NewContext,
    width: int,
    tmp_path: Path,
) -> None:
    me = customer_of_both(centre_hub, orgs, f"grantor-{width}")
    proffer_terms(centre_hub, orgs, me)
    page = new_context(width=width).new_page()
    checker = Checker(width, screenshot_directories(tmp_path), [])
    sign_in(page, centre_hub, me.email)
    agent = Agent.register(agent_http, ASSISTANT)

    verifier = ask(page, centre_hub, agent)
    checker.check(page, "authorize")
    page.get_by_role("button", name="Approve").click()
    tokens = agent.exchange(back_at_agent(page)["code"][0], verifier).json()
    assert tokens["scope"] == "read context preferences", tokens
    for method, path, body in (
        ("PUT", "/v1/me/context", {"situation": "travelling", "intent": "researching"}),
        ("PATCH", "/v1/me/preferences", {"interests": {"hotels": 0.8}}),
        ("GET", "/v1/me", None),
    ):
        acted = agent_http.request(method, path, headers=bearer(tokens), json=body)
        assert acted.status_code == 200, f"{method} {path}: {acted.text}"

    page.goto(f"{centre_hub.url}/centre")
    go(page, "My assistants")
    expect(page.get_by_role("region", name=ASSISTANT).locator(".acts li")).to_have_count(3)
    checker.check(page, "assistants")
    go(page, "My terms")
    answers = page.get_by_role("region", name="What you offered").get_by_role("listitem")
    expect(answers.filter(has_text=SHOP).locator(".status")).to_have_text(
        "Accepted: these terms bind this business."
    )
    expect(answers.filter(has_text=RAIL).locator(".status")).to_have_text(
        "It offers “No AI training” instead."
    )
    checker.check(page, "terms")

    if checker.problems:
        pytest.fail("\n".join(checker.problems), pytrace=False)
