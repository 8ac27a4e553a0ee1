"""The whole OAuth 2.1 flow with PKCE through the centre, and what an agent's token may do after."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, quote, urlsplit

from fastapi.testclient import TestClient

from harken.grants.tokens import s256
from tests.centre_client import Visitor
from tests.factories import FixedClock, auth
from tests.grants.agent import Agent, bearer, pkce


def test_pkce_s256_matches_rfc_7636_appendix_b() -> None:
    assert (
        s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_approve_call_within_scope_refuse_outside_revoke(
    client: TestClient, ana: Visitor, clock: FixedClock
) -> None:
    browser = ana
    agent = Agent.register(client)
    tokens = agent.connect(browser, scope="read context")
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    assert tokens["access_token"].startswith("ha_") and tokens["refresh_token"].startswith("hr_")
    assert tokens["scope"] == "read context"
    me = client.get("/v1/me", headers=bearer(tokens))
    assert me.status_code == 200, me.text
    clock.advance(seconds=1)
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


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_grant(
    client: TestClient, ana: Visitor, clock: FixedClock
) -> None:
    agent = Agent.register(client)
    first = agent.connect(ana)
    clock.advance(minutes=16)  # the access token has run out; the refresh token has not
    expired = client.get("/v1/me", headers=bearer(first))
    assert expired.status_code == 401 and expired.json()["type"] == "/problems/token-expired"
    second = agent.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200, second.text
    assert second.headers["cache-control"] == "no-store"
    renewed = second.json()
    assert renewed["refresh_token"] != first["refresh_token"]
    assert client.get("/v1/me", headers=bearer(renewed)).status_code == 200
    # The old refresh token again: someone else has it. The grant ends, the fresh tokens with it.
    again = agent.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert client.get("/v1/me", headers=bearer(renewed)).status_code == 401
    later = agent.token(grant_type="refresh_token", refresh_token=renewed["refresh_token"])
    assert later.status_code == 400


def test_a_code_is_good_once_and_its_reuse_revokes_what_it_bought(client: TestClient, ana: Visitor) -> None:
    agent = Agent.register(client)
    verifier, challenge = pkce()
    code = agent.approve(ana, challenge)["code"][0]
    issued = agent.exchange(code, verifier)
    assert issued.status_code == 200, issued.text
    reused = agent.exchange(code, verifier)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert client.get("/v1/me", headers=bearer(issued.json())).status_code == 401


def test_a_wrong_verifier_or_another_redirect_uri_buys_nothing(client: TestClient, ana: Visitor) -> None:
    agent = Agent.register(client)
    verifier, challenge = pkce()
    code = agent.approve(ana, challenge)["code"][0]
    wrong = agent.exchange(code, pkce()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert "code_verifier" in wrong.json()["error_description"]
    assert agent.exchange(code, verifier).status_code == 400  # the code is spent
    code = agent.approve(ana, challenge)["code"][0]
    elsewhere = agent.token(
        grant_type="authorization_code",
        code=code,
        redirect_uri="http://127.0.0.1:9/other",
        code_verifier=verifier,
    )
    assert elsewhere.status_code == 400 and elsewhere.json()["error"] == "invalid_grant"
    other = Agent.register(client, "Another app")
    stolen = other.exchange(code, verifier)
    assert stolen.status_code == 400


def test_redirect_uris_match_exactly_but_a_loopback_port_may_change(client: TestClient, ana: Visitor) -> None:
    agent = Agent.register(client)
    _, challenge = pkce()
    for unregistered in ("http://127.0.0.1:8765/elsewhere", "https://evil.example/callback"):
        refused = ana.http.get(agent.authorize_url(challenge, redirect_uri=unregistered))
        assert refused.status_code == 400 and "location" not in refused.headers  # never sent there
    unknown = ana.http.get(Agent(client, "no-such-client").authorize_url(challenge))
    assert unknown.status_code == 400 and "location" not in unknown.headers
    native = Agent(client, agent.client_id, "http://127.0.0.1:50123/callback")  # RFC 8252: any port
    verifier, challenge = pkce()
    code = native.approve(ana, challenge)["code"][0]
    assert native.exchange(code, verifier).status_code == 200
    web = client.post("/oauth/register", json={"redirect_uris": ["https://app.example/cb"]}).json()
    moved = ana.http.get(
        Agent(client, web["client_id"], "https://app.example:8443/cb").authorize_url(challenge)
    )
    assert moved.status_code == 400  # only loopback URIs may change port


def test_requests_without_pkce_s256_or_with_unknown_scopes_go_back_refused(
    client: TestClient, ana: Visitor
) -> None:
    agent = Agent.register(client)
    _, challenge = pkce()
    for extra, error in (
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"scope": "read erase"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ):
        refused = ana.http.get(agent.authorize_url(challenge, **extra))
        assert refused.status_code == 303, refused.text
        back = parse_qs(urlsplit(refused.headers["location"]).query)
        assert back["error"] == [error] and back["state"] == ["xyz"], back


def test_declining_tells_the_agent_and_grants_nothing(client: TestClient, ana: Visitor) -> None:
    agent = Agent.register(client)
    _, challenge = pkce()
    back = agent.approve(ana, challenge, decision="deny")
    assert back["error"] == ["access_denied"] and back["state"] == ["xyz"] and "code" not in back
    assert client.get("/v1/me/grants", headers=auth(ana.person_token())).json() == []


def test_the_person_signs_in_first_and_comes_back_to_the_request(
    client: TestClient, ana: Visitor, visitor: Callable[..., Visitor]
) -> None:
    agent = Agent.register(client)
    _, challenge = pkce()
    stranger = visitor()
    location = agent.consent_page(stranger, challenge)
    bounced = stranger.http.get(location)
    assert bounced.status_code == 303
    assert bounced.headers["location"] == f"/centre/sign-in?next={quote(location)}"


def test_an_expired_grant_stops_its_tokens(client: TestClient, ana: Visitor, clock: FixedClock) -> None:
    agent = Agent.register(client)
    tokens = agent.connect(ana, expiry="1d")
    for _ in range(4 * 24):  # kept fresh by refreshing, until the grant itself runs out
        clock.advance(minutes=15)
        renewed = agent.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        if renewed.status_code != 200:
            break
        tokens = renewed.json()
        assert tokens["expires_in"] <= 900
    assert renewed.status_code == 400 and renewed.json()["error"] == "invalid_grant"
    ended = client.get("/v1/me", headers=bearer(tokens))
    assert ended.status_code == 401 and "grant expired" in ended.json()["detail"]


def test_revocation_endpoint_rfc_7009(client: TestClient, ana: Visitor) -> None:
    agent = Agent.register(client)
    tokens = agent.connect(ana)
    gone = client.post("/oauth/revoke", data={"client_id": agent.client_id, "token": tokens["access_token"]})
    assert gone.status_code == 200
    assert client.get("/v1/me", headers=bearer(tokens)).status_code == 401
    renewed = agent.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()
    assert client.get("/v1/me", headers=bearer(renewed)).status_code == 200
    # Letting go of the refresh token ends the grant.
    client.post("/oauth/revoke", data={"client_id": agent.client_id, "token": renewed["refresh_token"]})
    assert client.get("/v1/me", headers=bearer(renewed)).status_code == 401
    unknown = client.post("/oauth/revoke", data={"client_id": agent.client_id, "token": "ha_nothing.x"})
    assert unknown.status_code == 200


def test_metadata_and_the_challenge_that_points_to_it(client: TestClient) -> None:
    server = client.get("/.well-known/oauth-authorization-server").json()
    assert server["code_challenge_methods_supported"] == ["S256"]
    assert server["token_endpoint"].endswith("/oauth/token")
    assert server["scopes_supported"] == ["read", "context", "preferences", "consents", "shares", "terms"]
    resource = client.get("/.well-known/oauth-protected-resource").json()
    assert resource["resource"].endswith("/v1/me") and resource["authorization_servers"] == [server["issuer"]]
    refused = client.get("/v1/me")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == (
        f'Bearer resource_metadata="{server["issuer"]}/.well-known/oauth-protected-resource"'
    )
    assert "www-authenticate" not in client.get("/v1/purposes").headers


def test_registration_refuses_what_a_public_client_may_not_redirect_to(client: TestClient) -> None:
    for uris in (["http://app.example/cb"], ["https://app.example/cb#frag"], [], ["ftp://x/y"]):
        refused = client.post("/oauth/register", json={"client_name": "x", "redirect_uris": uris})
        assert refused.status_code == 422, (uris, refused.text)
    confidential = client.post(
        "/oauth/register",
        json={
            "redirect_uris": ["https://app.example/cb"],
            "token_endpoint_auth_method": "client_secret_basic",
        },
    )
    assert confidential.status_code == 422
    made = client.post("/oauth/register", json={"redirect_uris": ["http://[::1]:3000/cb"]})
    assert made.status_code == 201 and made.json()["token_endpoint_auth_method"] == "none"


def test_the_token_endpoint_names_what_is_missing(client: TestClient) -> None:
    missing = client.post("/oauth/token", data={"grant_type": "authorization_code", "client_id": "c"})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    assert "code" in missing.json()["error_description"]
    odd = client.post("/oauth/token", data={"grant_type": "password", "client_id": "c"})
    assert odd.json()["error"] == "unsupported_grant_type"
