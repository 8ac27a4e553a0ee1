"""The person's powers as MCP tools, driven by the SDK's own client against a real `harken serve`: over
stdio (`harken mcp` spawned as the assistant's host would) and over streamable HTTP (`/mcp` on the hub).

One hub (SQLite) per module: a bookshop whose customers sign in to the centre and make a token of their
own (`hp_…`) or approve their assistant's grant by OAuth with PKCE (`ha_…`). Each test signs in with an
address of its own."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from mcp import ClientSession
from tests.centre_client import Visitor, csrf_of
from tests.conftest import Database
from tests.grants.agent import Agent
from tests.live import LiveHub, MailDirectory, serve
from tests.mcp.answers import ok as result
from tests.mcp.answers import refused as refusal

pytestmark = pytest.mark.slow

SHOP = "Chapter & Verse"
BOOK_CLUB = {"id": "book-club", "title": "Autumn book club", "topics": ["books"]}
TOOLS = {
    "what_businesses_know",
    "what_businesses_asked",
    "list_businesses",
    "set_context",
    "clear_context",
    "save_persona",
    "remove_persona",
    "change_preferences",
    "pause_topics",
    "decide_consent",
    "share_profile_with",
    "make_share",
    "list_shares",
    "revoke_share",
    "my_terms",
    "proffer_terms",
    "terms_record",
    "withdraw_terms",
}


@dataclass(frozen=True)
class Hub:
    live: LiveHub
    mail: Path
    shop: httpx.Client

    def customer(self, ref: str) -> str:
        """A customer of the bookshop who consented to its marketing by email, signed in to the centre
        (claim confirmed) and made a token of their own: the token."""
        email = f"{ref}@example.com"
        for method, path, body in (
            ("PUT", f"/v1/subjects/{ref}", {"email": email}),
            ("PUT", f"/v1/subjects/{ref}/consents/marketing", {"status": "granted", "channels": ["email"]}),
        ):
            response = self.shop.request(method, path, json=body)
            assert response.status_code < 300, response.text
        with httpx.Client(base_url=self.live.url, follow_redirects=False, timeout=10) as http:
            visitor = Visitor.over(http, MailDirectory(self.mail))
            visitor.sign_in(email)
            return visitor.person_token()

    @contextmanager
    def assistant(self, ref: str, scope: str) -> Iterator[Assistant]:
        """A customer of the bookshop, as `customer` makes them, who approved their assistant's request
        for `scope` on the centre's consent screen: the assistant's access token, and her browser."""
        self.customer(ref)
        with httpx.Client(base_url=self.live.url, follow_redirects=False, timeout=10) as http:
            browser = Visitor.over(http, MailDirectory(self.mail))
            browser.sign_in(f"{ref}@example.com")
            tokens = Agent.register(http).connect(browser, scope=scope, name="my assistant")
            yield Assistant(tokens["access_token"], browser)

    def decide(self, ref: str) -> dict[str, Any]:
        body = {"subject": ref, "purpose": "marketing", "channels": ["email"], "candidates": [BOOK_CLUB]}
        response = self.shop.post("/v1/decisions", json=body)
        assert response.status_code == 200, response.text
        decision: dict[str, Any] = response.json()
        return decision


@dataclass(frozen=True)
class Assistant:
    token: str
    browser: Visitor

    def person(self, path: str) -> Any:
        """What the person reads with a token of her own."""
        own = {"Authorization": f"Bearer {self.browser.person_token()}"}
        answer = self.browser.http.get(path, headers=own)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def acts(self) -> list[str]:
        """What her access log says her assistant did, oldest first."""
        log = self.person("/v1/me/access-log")
        return [e["explanation"] for e in reversed(log) if e["kind"] == "agent"]

    def revoke(self) -> None:
        """She revokes the grant on My assistants."""
        page = self.browser.get("/centre/assistants").text
        grant = self.person("/v1/me/grants")[0]["id"]
        revoked = self.browser.http.post(f"/centre/assistants/{grant}/revoke", data={"csrf": csrf_of(page)})
        assert revoked.status_code == 303, revoked.text


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    directory = tmp_path_factory.mktemp("mcp")
    database = Database("sqlite", directory)
    mail = directory / "mail"
    mail.mkdir()
    try:
        with serve(
            database.url, directory / "data", extra_env={"HARKEN_MAILER": f"directory:{mail}"}
        ) as live:
            shop = live.create_org(SHOP)
            notice = shop.put(
                "/v1/notices/marketing", json={"text": "Book news, at most weekly.", "locale": "en"}
            )
            assert notice.status_code in (200, 201), notice.text
            yield Hub(live, mail, shop)
    finally:
        database.drop()


Session = Callable[[ClientSession], Awaitable[None]]


def over_stdio(hub: Hub, token: str, work: Session) -> None:
    """Spawn `harken mcp` with the token, as an assistant's host does, and run `work` in a session."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "harken", "mcp"],
        env={"HARKEN_URL": hub.live.url, "HARKEN_TOKEN": token},
    )
    anyio.run(_session, lambda: stdio_client(params), work)


def over_http(hub: Hub, token: str, work: Session) -> None:
    """Connect to the hub's `/mcp` with the token as the bearer, and run `work` in a session."""

    async def run() -> None:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            await _session(lambda: streamable_http_client(f"{hub.live.url}/mcp", http_client=http), work)

    anyio.run(run)


async def _session(transport: Callable[[], AbstractAsyncContextManager[Any]], work: Session) -> None:
    async with transport() as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        await work(session)


def in_hours(hours: int) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def test_over_stdio_the_assistant_reads_what_the_business_knows_and_its_context_binds_the_next_decision(
    hub: Hub,
) -> None:
    token = hub.customer("ana")
    assert "context.do_not_disturb" not in [r["code"] for r in hub.decide("ana")["reasons"]]

    async def work(session: ClientSession) -> None:
        listed = await session.list_tools()
        assert {tool.name for tool in listed.tools} == TOOLS
        descriptions = {tool.name: tool.description or "" for tool in listed.tools}
        assert "every business I linked" in descriptions["set_context"]

        known = result(await session.call_tool("what_businesses_know"))
        assert {"org": SHOP, "purpose": "marketing", "status": "granted", "channels": ["email"]} in known[
            "consents"
        ]

        set_to = {"situation": "travelling", "topics": ["hotels"], "do_not_disturb_until": in_hours(2)}
        changed = result(await session.call_tool("set_context", set_to))["changed"]
        assert [(d["field"], d["provenance"], d["value"]["situation"]) for d in changed] == [
            ("context", "declared", "travelling")
        ]

        refused = refusal(await session.call_tool("set_context", {"situation": "on-the-moon"}))
        assert "situation" in refused  # the MCP client's own validation, before any call

        late = refusal(await session.call_tool("set_context", {"valid_until": in_hours(24 * 365)}))
        assert ": 422 Invalid request: valid_until" in late, (
            late
        )  # the hub's refusal, passed through with its detail

    over_stdio(hub, token, work)
    decision = hub.decide("ana")
    assert not decision["allowed"]
    assert "context.do_not_disturb" in [r["code"] for r in decision["reasons"]]


def test_over_stdio_a_token_that_may_not_do_something_gets_the_hubs_refusal(hub: Hub) -> None:
    hub.customer("bo")
    app_token = hub.shop.post("/v1/subjects/bo/sessions").json()["token"]  # the business's app: `hc_…`

    async def work(session: ClientSession) -> None:
        refused = refusal(await session.call_tool("list_shares"))
        assert ": 403 " in refused, refused
        known = result(await session.call_tool("what_businesses_know"))
        assert known["org"] == SHOP

    over_stdio(hub, app_token, work)


def test_over_stdio_a_revoked_token_stops_the_next_call(hub: Hub) -> None:
    token = hub.customer("cy")

    async def work(session: ClientSession) -> None:
        result(await session.call_tool("list_businesses"))
        revoked = httpx.delete(f"{hub.live.url}/v1/me/token", headers={"Authorization": f"Bearer {token}"})
        assert revoked.status_code == 204
        refused = refusal(await session.call_tool("list_businesses"))
        assert ": 401 " in refused, refused

    over_stdio(hub, token, work)


def test_over_http_the_assistant_sees_what_the_business_asked_and_a_revoked_token_is_refused(
    hub: Hub,
) -> None:
    token = hub.customer("di")
    decided = hub.decide("di")

    async def work(session: ClientSession) -> None:
        listed = await session.list_tools()
        assert {tool.name for tool in listed.tools} == TOOLS
        asked = result(await session.call_tool("what_businesses_asked"))["entries"]
        assert [(e["decision_id"], e["org"], e["allowed"]) for e in asked] == [
            (decided["decision_id"], SHOP, decided["allowed"])
        ]
        assert asked[0]["reasons"] and asked[0]["explanation"]

        switched_off = {"changes": {"channels": {"email": {"allowed": False}}}}
        changed = result(await session.call_tool("change_preferences", switched_off))["changed"]
        assert [(d["field"], d["value"]["allowed"]) for d in changed] == [("channel:email", False)]

    over_http(hub, token, work)
    decision = hub.decide("di")  # no email, as she told it through the assistant
    assert not decision["allowed"]
    assert "channel.not_allowed" in [r["code"] for r in decision["reasons"]]

    revoked = httpx.delete(f"{hub.live.url}/v1/me/token", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 204
    refused = httpx.post(f"{hub.live.url}/mcp", headers={"Authorization": f"Bearer {token}"}, json={})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("authorization", [None, "Bearer hp_not-a-token", "Basic YTpi", "org key"])
def test_mcp_over_http_needs_a_customer_token(hub: Hub, authorization: str | None) -> None:
    if authorization == "org key":
        authorization = hub.shop.headers["Authorization"]
    headers = {"Authorization": authorization} if authorization else {}
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    refused = httpx.post(f"{hub.live.url}/mcp", headers=headers, json=initialize)
    assert refused.status_code == 401, refused.text
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert refused.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_through_a_grant_a_scope_not_granted_is_refused_every_call_is_logged_and_revoking_stops_it(
    hub: Hub, transport: str
) -> None:
    """An assistant with a real `read context` grant, over each transport: what it may do works, a tool
    beyond its scopes gets the hub's 403, each call it made is in her access log as her assistant's, and
    once she revokes the grant its next call is a 401."""
    with hub.assistant(f"grant-{transport}", "read context") as assistant:
        run = over_stdio if transport == "stdio" else over_http

        async def work(session: ClientSession) -> None:
            result(await session.call_tool("what_businesses_know"))
            told = {"situation": "travelling", "do_not_disturb_until": in_hours(2)}
            result(await session.call_tool("set_context", told))
            beyond = refusal(await session.call_tool("change_preferences", {"changes": {"novelty": 0.9}}))
            assert ": 403 " in beyond and "preferences" in beyond, beyond

        run(hub, assistant.token, work)
        assert "context.do_not_disturb" in [r["code"] for r in hub.decide(f"grant-{transport}")["reasons"]]
        done = ["Through my assistant: GET /v1/me", "Through my assistant: PUT /v1/me/context"]
        assert assistant.acts() == done  # and not the refused call: it did nothing

        assistant.revoke()

        async def after(session: ClientSession) -> None:
            assert ": 401 " in refusal(await session.call_tool("clear_context", {}))

        if transport == "stdio":
            run(hub, assistant.token, after)
        else:  # the hub's /mcp refuses the session itself
            refused = httpx.post(
                f"{hub.live.url}/mcp", headers={"Authorization": f"Bearer {assistant.token}"}, json={}
            )
            assert refused.status_code == 401
        assert assistant.acts() == done
