"""Story 18, "My assistant speaks for me" (seed 001: "powered by the customer themselves, and Personal
AI"): the customer lets their own assistant tell businesses what matters right now, with a grant they
can see and revoke. The assistant — an MCP client, through the hub's MCP tools, holding a token the
person approved by OAuth with PKCE for the `context` scope — says "travelling until Friday, do not
disturb before 9:00" to every business she linked; their next decisions honour it; every act shows
"through my assistant" in her access log; once she revokes the grant, the assistant's next call is
refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from mcp import Client
from tests.centre_client import Visitor, csrf_of
from tests.factories import FixedClock
from tests.grants.agent import Agent
from tests.mcp.answers import ok, refused
from tests.mcp.test_tools import drive
from tests.stories.conftest import Business, Customer, codes

EMAIL = "ines.moreau@example.com"


def test_the_assistant_tells_every_business_i_am_travelling_until_i_revoke_it(
    business: Callable[[str], Business],
    client: TestClient,
    visitor: Callable[..., Visitor],
    clock: FixedClock,
) -> None:
    airline, hotel = business("Skyway Airlines"), business("Harbour Hotels")
    for shop, ref in ((airline, "A-77"), (hotel, "guest-9")):
        shop.customer(ref, email=EMAIL, grant={"marketing": ["email"]}).preferences(interests={"travel": 1})
        shop.offer("autumn-deal", topics=["travel"])
        assert shop.decide(ref, ["autumn-deal"], ["email"])["allowed"] is True  # before: it would go

    browser = visitor()
    browser.sign_in(EMAIL)  # she proves her address: both businesses are hers in the centre
    assistant = Agent.register(client, "Pocket Assistant")
    tokens = assistant.connect(browser, scope="read context", name="my assistant")
    assert set(tokens["scope"].split()) == {"read", "context"}

    friday = clock.now + timedelta(days=(4 - clock.now.weekday()) % 7 or 7)
    nine = (clock.now + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)

    async def travelling(session: Client) -> None:
        said = ok(
            await session.call_tool(
                "set_context",
                {
                    "situation": "travelling",
                    "valid_until": friday.isoformat(),
                    "do_not_disturb_until": nine.isoformat(),
                },
            )
        )
        assert {c["provenance"] for c in said["changed"]} == {"declared"}
        assert {c["via"] for c in said["changed"]} == {"agent"}
        # Beyond its scopes, the hub's own refusal: a context grant cannot change her preferences.
        assert "403" in refused(await session.call_tool("change_preferences", {"changes": {"novelty": 0.9}}))

    drive(client, tokens["access_token"], travelling)

    her = Customer(client, browser.person_token())
    [context] = [d for d in her.call("GET", "/v1/me")["data"] if d["field"] == "context"]
    assert context["provenance"] == "declared" and context["via"] == "agent"  # her word, by her agent
    for shop, ref in ((airline, "A-77"), (hotel, "guest-9")):
        # What she declared in her centre is hers to share; its protection reaches every business.
        refused_now = shop.decide(ref, ["autumn-deal"], ["email"])
        assert refused_now["allowed"] is False and codes(refused_now)[0] == "context.do_not_disturb"

    through = [e for e in her.call("GET", "/v1/me/access-log") if e["kind"] == "agent"]
    assert "Through my assistant: PUT /v1/me/context" in {e["explanation"] for e in through}

    # She revokes the grant in the centre: the assistant's very next call is refused.
    [grant] = her.call("GET", "/v1/me/grants")
    page = browser.get("/centre/assistants").text
    revoked = browser.http.post(f"/centre/assistants/{grant['id']}/revoke", data={"csrf": csrf_of(page)})
    assert revoked.status_code == 303

    async def after(session: Client) -> None:
        assert "401" in refused(await session.call_tool("clear_context", {}))

    drive(client, tokens["access_token"], after)
    assert her.call("GET", "/v1/me/grants")[0]["revoked_at"] is not None
    # What the assistant said holds as she said it: the quiet ends at 9:00, the trip goes on to Friday.
    clock.advance(seconds=(nine - clock.now).total_seconds() + 60)
    assert hotel.decide("guest-9", ["autumn-deal"], ["email"])["allowed"] is True  # 9:00 came
