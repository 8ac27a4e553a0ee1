"""What an agent's token does: only what its grant delegates, only at the businesses it names, each act
recorded as the person's "through <agent>"; and never what only the person may."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.centre import service as centre
from harken.errors import NotFound
from harken.grants.models import Grant, GrantAct, GrantRequest, GrantToken
from harken.grants.service import acts_chain
from harken.ledger.models import LedgerEntry
from harken.subjects.viewer import Viewer
from tests.centre_client import Visitor, csrf_of
from tests.factories import FixedClock, auth, make_org
from tests.grants.agent import Agent, bearer, pkce

EMAIL = "bea@example.com"


@dataclass
class Two:
    """Bea, a customer of an airline (A) and a railway (B), both linked in her centre."""

    client: TestClient
    browser: Visitor
    a: dict[str, str]
    b: dict[str, str]
    org_a: str
    org_b: str

    def call(
        self, headers: dict[str, str], method: str, path: str, body: Any = None, status: int = 200
    ) -> Any:
        response = self.client.request(method, path, headers=headers, json=body)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        return response.json() if response.content else None

    def agent(self, scope: str, orgs: list[str] | None = None) -> dict[str, str]:
        return bearer(Agent.register(self.client).connect(self.browser, scope=scope, orgs=orgs))

    def person(self) -> dict[str, str]:
        return auth(self.browser.person_token())


@pytest.fixture
def two(client: TestClient, session: Session, visitor: Callable[..., Visitor]) -> Two:
    org_a, key_a = make_org(session, "Skyway Airlines")
    org_b, key_b = make_org(session, "Rival Rail")
    for key in (key_a, key_b):
        headers = auth(key)
        assert client.put("/v1/subjects/bea", headers=headers, json={"email": EMAIL}).status_code == 201
        client.put("/v1/notices/marketing", headers=headers, json={"text": "May we?"}).raise_for_status()
        granted = {"status": "granted", "channels": ["email"]}
        client.put("/v1/subjects/bea/consents/marketing", headers=headers, json=granted).raise_for_status()
    browser = visitor()
    browser.sign_in(EMAIL)
    return Two(client, browser, auth(key_a), auth(key_b), str(org_a.id), str(org_b.id))


def test_a_grant_limited_to_one_business_reads_and_tells_that_business_only(two: Two) -> None:
    observed = {"situation": "commuting", "provenance": "observed"}
    two.call(two.b, "PUT", "/v1/subjects/bea/context", observed)
    b_before = two.call(two.b, "GET", "/v1/subjects/bea")
    two.call(
        two.b,
        "POST",
        "/v1/decisions",
        {
            "subject": "bea",
            "purpose": "marketing",
            "channels": ["email"],
            "candidates": [{"id": "x", "title": "Rail pass", "topics": ["rail"]}],
        },
    )
    agent = two.agent("read context preferences shares", orgs=[two.org_a])

    me = two.call(agent, "GET", "/v1/me")
    assert {c["org"] for c in me["consents"]} == {"Skyway Airlines"}
    assert all(d["source"] == two.org_a for d in me["data"]), me["data"]
    told = two.call(agent, "PUT", "/v1/me/context", {"situation": "travelling", "topics": ["lisbon"]})
    assert (
        told[0]["provenance"] == "declared" and told[0]["via"] == "agent" and told[0]["source"] == two.org_a
    )
    # A sees its customer's own word, marked as said through her agent; B sees nothing new.
    seen = {d["field"]: d for d in two.call(two.a, "GET", "/v1/subjects/bea")["data"]}
    assert seen["context"]["provenance"] == "declared" and seen["context"]["via"] == "agent"
    assert seen["context"]["value"]["situation"] == "travelling"
    assert two.call(two.b, "GET", "/v1/subjects/bea") == b_before
    # B's questions about her are not the agent's to see; they are hers.
    asked = {e["org"] for e in two.call(agent, "GET", "/v1/me/access-log") if e["kind"] == "decision"}
    assert asked == set()
    mine = two.call(two.person(), "GET", "/v1/me/access-log")
    assert "Rival Rail" in {e["org"] for e in mine}
    exported = two.client.get("/v1/me/export", headers=agent)
    assert exported.status_code == 200 and "Skyway Airlines" in exported.text
    assert "Rival Rail" not in exported.text and two.org_b not in exported.text
    # A share reaches businesses beyond the limit: refused, though the scope is granted.
    share = {
        "grants": [{"org": two.org_b, "purpose": "service", "fields": ["context"]}],
        "expires_at": "2026-11-03T08:00:00Z",
    }
    two.call(agent, "POST", "/v1/me/shares", share, status=403)
    two.call(agent, "PUT", f"/v1/me/sharing/{two.org_b}", {"profile": True, "purchases": False}, status=403)


def test_a_business_outside_the_grant_is_not_found(two: Two, session: Session) -> None:
    person = centre.businesses(session, Viewer(uuid.uuid4(), None))  # nobody: nothing
    assert person == []
    everyone = two.call(two.person(), "GET", "/v1/me")
    assert {c["org"] for c in everyone["consents"]} == {"Skyway Airlines", "Rival Rail"}
    subject_ids = _person_subjects(session)
    limited = Viewer(subject_ids[0], None, "", subject_ids, orgs=(uuid.UUID(two.org_a),))
    assert centre.business(session, limited, uuid.UUID(two.org_a)).org.name == "Skyway Airlines"
    with pytest.raises(NotFound):
        centre.business(session, limited, uuid.UUID(two.org_b))


def _person_subjects(session: Session) -> tuple[uuid.UUID, ...]:
    from harken.subjects.models import Subject

    person = session.scalars(select(Subject).where(Subject.email_digest.is_not(None))).one()
    linked = session.scalars(select(Subject.id).where(Subject.person_id == person.id)).all()
    return (person.id, *linked)


def test_an_agent_never_erases_mints_tokens_or_makes_grants(two: Two) -> None:
    agent = two.agent("read context preferences consents shares terms")
    grant_id = two.call(two.person(), "GET", "/v1/me/grants")[0]["id"]
    for method, path, body in (
        ("DELETE", "/v1/me", None),
        ("POST", "/v1/me/tokens", {}),
        ("GET", "/v1/me/grants", None),
        ("DELETE", f"/v1/me/grants/{grant_id}", None),
        ("POST", "/v1/me/credentials", {}),
        ("PUT", f"/v1/me/sharing/{two.org_a}", {"profile": True, "purchases": True}),
    ):
        refused = two.client.request(method, path, headers=agent, json=body)
        assert refused.status_code == 403, (method, path, refused.text)
        assert refused.json()["type"] == "/problems/insufficient-authority"
    assert two.call(agent, "GET", "/v1/me")["org"] is None  # and it still works: nothing was erased
    # An agent cannot act as an org either, nor in the centre.
    assert two.client.get("/v1/subjects", headers=agent).status_code == 401


def test_every_act_is_in_the_ledger_and_the_access_log_through_the_agent(
    two: Two, session: Session, clock: FixedClock
) -> None:
    agent = two.agent("read context")
    two.call(agent, "PUT", "/v1/me/context", {"situation": "home"})
    clock.advance(seconds=1)
    two.call(agent, "GET", "/v1/me")
    log = [e for e in two.call(two.person(), "GET", "/v1/me/access-log") if e["kind"] == "agent"]
    assert [(e["agent"], e["purpose"]) for e in log] == [
        ("my assistant on my phone", "GET /v1/me"),
        ("my assistant on my phone", "PUT /v1/me/context"),
    ]
    assert log[0]["explanation"] == "Through my assistant on my phone: GET /v1/me"
    kinds = session.scalars(select(LedgerEntry.type).where(LedgerEntry.chain == "centre")).all()
    assert "grant.created" in kinds and "agent.acted" not in kinds
    # Her agent's acts are on the chain of agents' acts that is hers (spread from other people's).
    grant_id = two.call(two.person(), "GET", "/v1/me/grants")[0]["id"]
    acted = session.execute(
        select(LedgerEntry.chain, LedgerEntry.body).where(LedgerEntry.type == "agent.acted")
    )
    rows = acted.all()
    assert len(rows) == 2
    for chain, body in rows:
        subject = re.search(r'"subject":"([0-9a-f-]{36})"', body)
        assert subject and f'"grant":"{grant_id}"' in body, body
        assert chain == acts_chain(uuid.UUID(subject.group(1))) and chain.startswith("agents.")
    # What the agent declared is the person's own word, marked as through it, in the ledger too.
    declared = session.scalars(
        select(LedgerEntry.body).where(LedgerEntry.chain == "centre", LedgerEntry.type == "profile.changed")
    ).all()
    assert any('"via":"agent"' in body for body in declared)


def test_revoked_in_the_centre_the_next_call_is_refused(two: Two) -> None:
    agent = two.agent("read")
    two.call(agent, "GET", "/v1/me")
    page = two.browser.get("/centre/assistants").text
    grant_id = two.call(two.person(), "GET", "/v1/me/grants")[0]["id"]
    revoked = two.browser.http.post(f"/centre/assistants/{grant_id}/revoke", data={"csrf": csrf_of(page)})
    assert revoked.status_code == 303 and revoked.headers["location"] == "/centre/assistants?done=revoked"
    assert two.client.get("/v1/me", headers=agent).status_code == 401
    assert "Revoked on" in two.browser.get("/centre/assistants").text
    forged = two.browser.http.post(f"/centre/assistants/{grant_id}/revoke", data={"csrf": "nope"})
    assert forged.status_code == 403
    nobody = two.browser.http.post(f"/centre/assistants/{uuid.uuid4()}/revoke", data={"csrf": csrf_of(page)})
    assert nobody.status_code == 404


def test_the_consent_screen_names_the_agent_scopes_expiry_and_businesses(two: Two) -> None:
    agent = Agent.register(two.client, "Pocket Assistant")
    _, challenge = pkce()
    location = agent.consent_page(two.browser, challenge, scope="read context")
    screen = two.browser.get(location)
    page = screen.text
    assert "Pocket Assistant" in page and "127.0.0.1:8765" in page
    assert "say what matters to you right now" in page and "change your interests" not in page
    assert "Skyway Airlines" in page and "Rival Rail" in page and "30 days" in page
    assert "form-action 'self' http://127.0.0.1:8765" in screen.headers["content-security-policy"]
    german = two.browser.get(location + "?lang=de").text
    assert "Einen Assistenten für Sie handeln lassen?" in german
    # Asked for more than the request named, or a business she did not link: refused, nothing made.
    form = {"csrf": csrf_of(page), "decision": "approve", "name": "x", "expiry": "30d", "businesses": "all"}
    more = two.browser.http.post(location, data={**form, "scopes": ["read", "preferences"]})
    assert more.status_code == 422
    unnamed = two.browser.http.post(location, data={**form, "name": " ", "scopes": ["read"]})
    assert unnamed.status_code == 422
    elsewhere = two.browser.http.post(
        location, data={**form, "scopes": ["read"], "businesses": "some", "orgs": [str(uuid.uuid4())]}
    )
    assert elsewhere.status_code == 422
    assert two.call(two.person(), "GET", "/v1/me/grants") == []


def test_a_session_opened_from_a_business_s_app_cannot_grant(
    two: Two, visitor: Callable[..., Visitor]
) -> None:
    token = two.call(two.a, "POST", "/v1/subjects/bea/sessions", {}, status=201)["token"]
    app_window = visitor()
    app_window.open_from_app(token)
    agent = Agent.register(two.client)
    _, challenge = pkce()
    location = agent.consent_page(app_window, challenge)
    page = app_window.get(location).text
    form = {"csrf": csrf_of(page), "decision": "approve", "name": "x", "expiry": "30d", "businesses": "all"}
    refused = app_window.http.post(location, data={**form, "scopes": ["read"]})
    assert refused.status_code == 403
    assert two.call(two.person(), "GET", "/v1/me/grants") == []


def test_erasing_the_person_erases_their_grants_and_what_their_agents_did(two: Two, session: Session) -> None:
    agent = two.agent("read context")
    two.call(agent, "PUT", "/v1/me/context", {"situation": "travelling"})
    [made] = session.scalars(select(Grant.id)).all()
    assert session.scalars(select(GrantAct).where(GrantAct.grant_id == made)).all() != []

    assert two.call(two.person(), "DELETE", "/v1/me")["scope"] == "everywhere"
    session.expire_all()
    assert session.scalars(select(Grant)).all() == []  # the names she gave her agents with them
    for model in (GrantAct, GrantToken, GrantRequest):
        assert session.scalars(select(model).where(model.grant_id == made)).all() == []
    two.call(agent, "GET", "/v1/me", status=401)
