"""The person answers an agent's request from an app of their own (`/v1/me/grant-requests/{id}`, their
verified token): the same choices and checks as the consent screen, refused to anyone else."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harken.grants.models import Grant
from harken.ledger.models import LedgerEntry
from tests.factories import make_org
from tests.grants.agent import Agent, bearer, pkce
from tests.grants.test_using import Two
from tests.grants.test_using import two as two  # the fixture

ASKED = "read context preferences"


def request_id(agent: Agent, challenge: str, scope: str = ASKED) -> str:
    """Where the agent's request sends the person: the consent screen's address carries its id."""
    started = agent.client.get(agent.authorize_url(challenge, scope), follow_redirects=False)
    assert started.status_code == 303, started.text
    found = re.fullmatch(r"/centre/authorize/([0-9a-f-]{36})", started.headers["location"])
    assert found, started.headers["location"]
    return found.group(1)


def back_at(agent: Agent, answer: dict[str, Any]) -> dict[str, list[str]]:
    """What the agent's redirect URI receives."""
    back = urlsplit(answer["redirect_to"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == agent.redirect_uri
    return parse_qs(back.query)


def test_approved_from_my_app_the_agent_gets_exactly_what_i_chose(two: Two, session: Session) -> None:
    agent = Agent.register(two.client)
    verifier, challenge = pkce()
    waiting = request_id(agent, challenge)
    person = two.person()

    asked = two.call(person, "GET", f"/v1/me/grant-requests/{waiting}")
    assert (asked["client_name"], asked["scopes"], asked["returns_to"]) == (
        "Pocket Assistant",
        ["read", "context", "preferences"],
        "127.0.0.1:8765",
    )
    choice = {
        "decision": "approve",
        "name": "  my phone's assistant ",
        "scopes": ["read", "context"],
        "expiry": "7d",
        "businesses": [two.org_b],
    }
    answer = two.call(person, "POST", f"/v1/me/grant-requests/{waiting}", choice)
    query = back_at(agent, answer)
    assert query["state"] == ["xyz"]

    issued = agent.exchange(query["code"][0], verifier)
    assert issued.status_code == 200, issued.text
    assert issued.json()["scope"] == "read context"
    token = bearer(issued.json())
    mine = two.call(token, "GET", "/v1/me")
    assert {c["org"] for c in mine["consents"]} == {"Rival Rail"}  # that business only
    refused = two.client.patch("/v1/me/preferences", headers=token, json={"interests": {"tea": 1}})
    assert refused.status_code == 403  # asked for, not given

    [grant] = two.call(person, "GET", "/v1/me/grants")
    assert (grant["name"], grant["scopes"], grant["businesses"]) == (
        "my phone's assistant",
        ["read", "context"],
        ["Rival Rail"],
    )
    created = select(func.count()).where(LedgerEntry.chain == "centre", LedgerEntry.type == "grant.created")
    assert session.scalar(created) == 1
    # Answered: the request is gone, and its code buys nothing twice.
    assert two.client.get(f"/v1/me/grant-requests/{waiting}", headers=person).status_code == 404
    assert two.client.post(f"/v1/me/grant-requests/{waiting}", headers=person, json=choice).status_code == 404


def test_declined_from_my_app_the_agent_hears_access_denied_and_nothing_is_granted(
    two: Two, session: Session
) -> None:
    agent = Agent.register(two.client)
    _, challenge = pkce()
    waiting = request_id(agent, challenge)
    answer = two.call(two.person(), "POST", f"/v1/me/grant-requests/{waiting}", {"decision": "deny"})
    query = back_at(agent, answer)
    assert (query["error"], query["state"]) == (["access_denied"], ["xyz"]) and "code" not in query
    assert session.scalar(select(func.count()).select_from(Grant)) == 0


def test_a_bad_answer_names_its_field_and_changes_nothing(two: Two, session: Session) -> None:
    agent = Agent.register(two.client)
    _, challenge = pkce()
    waiting = request_id(agent, challenge, "read context")
    person = two.person()
    stranger, _ = make_org(session, "Never Linked Ltd")
    good = {"decision": "approve", "name": "assistant", "scopes": ["read"], "expiry": "30d"}
    for change, field in (
        ({"name": "   "}, "name"),
        ({"name": None}, "name"),
        ({"scopes": ["read", "preferences"]}, "scopes"),  # not asked for
        ({"scopes": ["erase"]}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"expiry": "forever"}, "expiry"),
        ({"businesses": [str(stranger.id)]}, "businesses"),  # exists, but not hers
        ({"businesses": []}, "businesses"),
        ({"decision": "maybe"}, "decision"),
        ({"extra": 1}, "extra"),
    ):
        refused = two.client.post(f"/v1/me/grant-requests/{waiting}", headers=person, json={**good, **change})
        assert refused.status_code == 422, (change, refused.text)
        named = {e["field"].removeprefix("body.").split(".")[0] for e in refused.json()["errors"]}
        assert field in named, (change, refused.json())
    assert session.scalar(select(func.count()).select_from(Grant)) == 0
    assert (
        two.client.get(f"/v1/me/grant-requests/{waiting}", headers=person).status_code == 200
    )  # still waiting


def test_only_the_verified_person_answers(two: Two) -> None:
    agent = Agent.register(two.client)
    _, challenge = pkce()
    waiting = request_id(agent, challenge)
    own_agent = bearer(Agent.register(two.client).connect(two.browser, scope="read context"))
    app_token = two.call(two.a, "POST", "/v1/subjects/bea/sessions", status=201)["token"]  # the airline's app
    approve = {"decision": "approve", "name": "x", "scopes": ["read"], "expiry": "1d"}
    for headers, status in (
        ({}, 401),
        (two.a, 401),  # an org key speaks for no person
        ({"Authorization": f"Bearer {app_token}"}, 403),  # a business's window
        (own_agent, 403),  # an agent never makes grants
    ):
        for method, body in (("GET", None), ("POST", approve)):
            found = two.client.request(method, f"/v1/me/grant-requests/{waiting}", headers=headers, json=body)
            assert found.status_code == status, (headers, method, found.text)
    assert two.client.get(f"/v1/me/grant-requests/{waiting}", headers=two.person()).status_code == 200
