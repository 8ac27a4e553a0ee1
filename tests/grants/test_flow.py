"""The whole OAuth 2.1 flow with PKCE through the centre, and what an agent's token may do after."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from harken.grants.tokens import s256
from tests.centre_client import Visitor
from tests.factories import auth, make_org
from tests.grants.agent import Agent, bearer

EMAIL = "ana@example.com"


def signed_in(client: TestClient, session: Session, visitor: Callable[..., Visitor]) -> Visitor:
    """Ana, a customer of the airline, signed in to the centre by email (and so linked to it)."""
    _, key = make_org(session, "Skyway Airlines")
    assert client.put("/v1/subjects/ana", headers=auth(key), json={"email": EMAIL}).status_code == 201
    browser = visitor()
    browser.sign_in(EMAIL)
    return browser


def test_pkce_s256_matches_rfc_7636_appendix_b() -> None:
    assert (
        s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_approve_call_within_scope_refuse_outside_revoke(
    client: TestClient, visitor: Callable[..., Visitor], session: Session
) -> None:
    browser = signed_in(client, session, visitor)
    agent = Agent.register(client)
    tokens = agent.connect(browser, scope="read context")
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    assert tokens["access_token"].startswith("ha_") and tokens["refresh_token"].startswith("hr_")
    assert tokens["scope"] == "read context"
    me = client.get("/v1/me", headers=bearer(tokens))
    assert me.status_code == 200, me.text
    said = client.put("/v1/me/context", headers=bearer(tokens), json={"situation": "travelling"})
    assert said.status_code == 200, said.text
    refused = client.patch("/v1/me/preferences", headers=bearer(tokens), json={"interests": {"golf": 1}})
    assert refused.status_code == 403 and "`preferences` scope" in refused.json()["detail"]
    # The person sees it, and what it did.
    person = auth(browser.person_token())
    grants = client.get("/v1/me/grants", headers=person).json()
    assert [g["name"] for g in grants] == ["my assistant on my phone"]
    assert [a["act"] for a in grants[0]["acts"]] == ["PUT /v1/me/context", "GET /v1/me"]
    page = browser.get("/centre/assistants").text
    assert "my assistant on my phone" in page and "PUT /v1/me/context" in page
    # Revoked: the very next call is refused, and the refresh token is dead too.
    assert client.delete(f"/v1/me/grants/{grants[0]['id']}", headers=person).status_code == 204
    after = client.get("/v1/me", headers=bearer(tokens))
    assert after.status_code == 401 and "revoked" in after.json()["detail"]
    renewed = agent.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert renewed.status_code == 400 and renewed.json()["error"] == "invalid_grant"
