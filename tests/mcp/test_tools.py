"""Every tool, in process: the SDK's client connected to the MCP server, whose tools call the test's hub
(its TestClient) with a verified person's token. What each tool changed is what the business sees next,
and each refusal is the hub's own."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient
from mcp.server.mcpserver import Context
from sqlalchemy.orm import Session

from harken.mcp import tools
from mcp import Client
from tests.centre_client import Visitor
from tests.factories import FixedClock, grant, make_org
from tests.mcp.answers import ok, refused
from tests.mcp.test_mcp import TOOLS

EMAIL = "alice@example.com"


class Through(httpx.AsyncBaseTransport):
    """An async transport over the test's TestClient: the tools reach the same in-process hub (and its
    clock) that the test's own calls reach."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.client.request(
            request.method, str(request.url), headers=dict(request.headers), content=request.content
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


Work = Callable[[Client], Awaitable[None]]


def drive(client: TestClient, token: str, work: Work) -> None:
    def connect(_ctx: Context) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=Through(client),
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {token}"},
        )

    async def run() -> None:
        async with Client(tools.server(connect)) as session:
            await work(session)

    anyio.run(run)


@pytest.fixture
def shop(client: TestClient, session: Session) -> tuple[str, dict[str, str]]:
    """A bookshop whose customer alice (with her email) consented to marketing: its id and key headers."""
    org, key = make_org(session, "Chapter & Verse")
    headers = {"Authorization": f"Bearer {key}"}
    grant(client, headers, "alice")
    client.put("/v1/subjects/alice", headers=headers, json={"email": EMAIL}).raise_for_status()
    return str(org.id), headers


@pytest.fixture
def person(client: TestClient, visitor: Callable[..., Visitor], shop: tuple[str, dict[str, str]]) -> str:
    """Alice's own token (`hp_…`), made in the centre after she confirmed the bookshop's claim."""
    browser = visitor()
    browser.sign_in(EMAIL)
    return browser.person_token()


def test_every_tool_is_listed_with_what_it_changes(client: TestClient, person: str) -> None:
    async def work(session: Client) -> None:
        listed = (await session.list_tools()).tools
        assert {tool.name for tool in listed} == TOOLS
        for tool in listed:
            assert "/v1/me" in (tool.description or ""), tool.name  # the one route it maps to

    drive(client, person, work)


def test_personas_interests_and_a_paused_topic_are_what_the_business_sees_next(
    client: TestClient, person: str, shop: tuple[str, dict[str, str]], clock: FixedClock
) -> None:
    org_id, headers = shop

    async def work(session: Client) -> None:
        saved = ok(
            await session.call_tool(
                "save_persona", {"key": "runner", "label": "Runner", "interests": ["shoes"]}
            )
        )
        assert [d["field"] for d in saved["changed"]] == ["persona:runner"]
        ok(await session.call_tool("set_context", {"persona": "runner", "intent": "buying"}))
        ok(
            await session.call_tool(
                "change_preferences", {"changes": {"interests": {"books": 0.9, "tea": -1}}}
            )
        )
        until = (clock.now + timedelta(days=30)).isoformat()
        paused = ok(
            await session.call_tool(
                "pause_topics",
                {"key": "move", "label": "Moving house", "topics": ["furniture"], "until": until},
            )
        )
        assert [(d["field"], d["value"]["topics"]) for d in paused["changed"]] == [
            ("life_event:move", ["furniture"])
        ]
        shared = ok(await session.call_tool("share_profile_with", {"business": org_id, "profile": True}))
        assert shared["changed"] == {"profile": True, "purchases": False}

        known = ok(await session.call_tool("what_businesses_know"))
        fields = {d["field"] for d in known["data"]}
        assert {"persona:runner", "context", "interest:books", "interest:tea", "life_event:move"} <= fields

        ok(await session.call_tool("remove_persona", {"key": "runner"}))
        ok(await session.call_tool("clear_context"))
        after = {d["field"] for d in ok(await session.call_tool("what_businesses_know"))["data"]}
        assert "persona:runner" not in after and "context" not in after

    drive(client, person, work)
    seen = client.get("/v1/subjects/alice", headers=headers).json()
    interests = {d["field"]: d["value"] for d in seen["data"] if d["field"].startswith("interest:")}
    assert interests == {"interest:books": {"affinity": 0.9}, "interest:tea": {"affinity": -1.0}}


def test_a_share_made_and_revoked_through_the_tools(
    client: TestClient, person: str, shop: tuple[str, dict[str, str]], clock: FixedClock
) -> None:
    org_id, headers = shop
    share = {
        "label": "Lisbon",
        "grants": [{"org": org_id, "purpose": "marketing", "fields": ["context"]}],
        "expires_at": (clock.now + timedelta(days=2)).isoformat(),
    }
    made: dict[str, Any] = {}

    async def work(session: Client) -> None:
        businesses = ok(await session.call_tool("list_businesses"))["businesses"]
        assert {"id": org_id, "name": "Chapter & Verse"} in businesses
        made.update(ok(await session.call_tool("make_share", {"share": share}))["share"])
        assert [g["org"] for g in made["grants"]] == [org_id]
        assert [s["id"] for s in ok(await session.call_tool("list_shares"))["shares"]] == [made["id"]]

    drive(client, person, work)
    assert client.get(f"/v1/shares/{made['id']}", headers=headers).status_code == 200

    async def revoke(session: Client) -> None:
        taken = ok(await session.call_tool("revoke_share", {"share": made["id"], "business": org_id}))
        assert taken == {"revoked": made["id"], "from": org_id}
        unknown = refused(await session.call_tool("revoke_share", {"share": str(uuid.uuid4())}))
        assert ": 404 " in unknown, unknown

    drive(client, person, revoke)
    assert client.get(f"/v1/shares/{made['id']}", headers=headers).status_code == 404


def test_terms_proffered_read_and_withdrawn_through_the_tools(
    client: TestClient, person: str, shop: tuple[str, dict[str, str]]
) -> None:
    org_id, headers = shop
    proffered: list[dict[str, Any]] = []

    async def work(session: Client) -> None:
        roster = ok(await session.call_tool("my_terms"))["roster"]
        assert "SD-BASE" in {a["id"] for a in roster}
        proffered.extend(ok(await session.call_tool("proffer_terms", {"agreement": "SD-BASE"}))["proffers"])
        assert [(p["org"], p["agreement"], p["state"]) for p in proffered] == [
            (org_id, "SD-BASE", "proffered")
        ]
        mine = ok(await session.call_tool("terms_record", {"proffer": proffered[0]["id"]}))
        theirs = client.get(f"/v1/terms/proffers/{proffered[0]['id']}", headers=headers).json()
        assert mine == theirs  # the same signed record the business fetches
        unknown = refused(await session.call_tool("proffer_terms", {"agreement": "NO-SUCH"}))
        assert ": 422 " in unknown or ": 404 " in unknown, unknown

    drive(client, person, work)
    theirs = client.get("/v1/terms/proffers", headers=headers).json()
    assert [p["id"] for p in theirs["items"]] == [proffered[0]["id"]]

    async def withdraw(session: Client) -> None:
        ok(await session.call_tool("withdraw_terms", {"proffer": proffered[0]["id"]}))

    drive(client, person, withdraw)
    states = [p["state"] for p in client.get("/v1/terms/proffers", headers=headers).json()["items"]]
    assert states == ["withdrawn"]


def test_an_org_key_is_no_persons_token(client: TestClient, shop: tuple[str, dict[str, str]]) -> None:
    _, headers = shop

    async def work(session: Client) -> None:
        said = refused(await session.call_tool("what_businesses_know"))
        assert ": 401 " in said, said

    drive(client, headers["Authorization"].removeprefix("Bearer "), work)


def test_mcp_over_http_in_process_answers_a_persons_token_and_refuses_the_rest(
    client: TestClient, person: str, shop: tuple[str, dict[str, str]]
) -> None:
    _, headers = shop
    accept = {"Accept": "application/json, text/event-stream"}
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    with client:  # the hub's lifespan runs the MCP server
        listed = client.post("/mcp", headers={"Authorization": f"Bearer {person}", **accept}, json=listing)
        assert listed.status_code == 200, listed.text
        assert {tool["name"] for tool in listed.json()["result"]["tools"]} == TOOLS
        calling = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "what_businesses_know", "arguments": {}},
        }
        called = client.post("/mcp", headers={"Authorization": f"Bearer {person}", **accept}, json=calling)
        assert called.status_code == 200, called.text
        known = called.json()["result"]["structuredContent"]
        assert [(c["org"], c["purpose"]) for c in known["consents"]] == [("Chapter & Verse", "marketing")]
        for refused_with in ({}, headers, {"Authorization": f"Bearer {person}x"}):
            refused = client.post("/mcp", headers={**refused_with, **accept}, json=listing)
            assert refused.status_code == 401, refused.text
            challenge = refused.headers["www-authenticate"]  # where an agent learns how to get a token
            assert challenge.startswith('Bearer resource_metadata="'), challenge
            assert challenge.endswith('/.well-known/oauth-protected-resource/mcp"'), challenge


def test_a_consent_at_one_business(client: TestClient, person: str, shop: tuple[str, dict[str, str]]) -> None:
    org_id, headers = shop

    async def work(session: Client) -> None:
        withdrawn = ok(
            await session.call_tool(
                "decide_consent", {"business": org_id, "purpose": "marketing", "status": "withdrawn"}
            )
        )
        assert (
            withdrawn["changed"]["status"] == "withdrawn"
            and withdrawn["changed"]["business"] == "Chapter & Verse"
        )
        receipt = withdrawn["changed"]["receipt"]  # the write's receipt, signed, for her to keep
        assert receipt["jws"].count(".") == 2 and withdrawn["changed"]["record"] in str(receipt["receipt"])
        no_channels = {"business": org_id, "purpose": "marketing", "status": "granted"}
        assert "422" in refused(await session.call_tool("decide_consent", no_channels))

    drive(client, person, work)
    states = client.get("/v1/subjects/alice/consents", headers=headers).json()["consents"]
    assert [s["status"] for s in states if s["purpose"] == "marketing"] == ["withdrawn"]
