"""The authorization server an agent's software speaks to (`/oauth/…`, its metadata under
`/.well-known/`), and the person's own grants (`/v1/me/grants`). The person answers an agent's request
on the centre's consent screen (`harken.centre.web_grants`), or from an app of their own holding their
verified token (`/v1/me/grant-requests/{id}`): the same choices, the same checks."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.orm import Session

from harken.authority import PERSON_ONLY
from harken.deps import Hub, HubDep, Now
from harken.errors import PROBLEM_RESPONSES, Invalid
from harken.grants import oauth, service
from harken.grants.oauth import OAuthError, RedirectError
from harken.grants.schemas import (
    ActRead,
    ClientPost,
    ClientRead,
    GrantAnswer,
    GrantDecision,
    GrantRead,
    GrantRequestRead,
)
from harken.subjects.api import MeGrants
from harken.subjects.viewer import Viewer

router = APIRouter(tags=["agents"], responses=PROBLEM_RESPONSES)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
RESOURCE_METADATA = "/.well-known/oauth-protected-resource"


# ---- metadata (RFC 8414, RFC 9728) -----------------------------------------------------------------


@router.get("/.well-known/oauth-authorization-server")
async def authorization_server(hub: HubDep) -> dict[str, Any]:
    """This hub as an OAuth 2.1 authorization server for the person's own agents (RFC 8414)."""
    issuer = hub.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "registration_endpoint": f"{issuer}/oauth/register",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": list(service.SCOPES),
        "service_documentation": "https://github.com/harken-hub/harken/blob/main/docs/agents.md",
    }


@router.get(RESOURCE_METADATA)
async def protected_resource(hub: HubDep) -> dict[str, Any]:
    """What an agent's access token opens (RFC 9728): the person's `/v1/me`."""
    return _resource(hub.issuer, "/v1/me", "Harken: what businesses know about me, and what I tell them")


@router.get(RESOURCE_METADATA + "/mcp")
async def protected_mcp(hub: HubDep) -> dict[str, Any]:
    """The same for the MCP endpoint (`/mcp`), at the address RFC 9728 §3.1 gives a resource with a path:
    an MCP client checks that the resource it was sent to is the one the metadata names."""
    return _resource(hub.issuer, "/mcp", "Harken for your assistant (MCP): the same powers as /v1/me")


def _resource(issuer: str, path: str, name: str) -> dict[str, Any]:
    return {
        "resource": f"{issuer}{path}",
        "authorization_servers": [issuer],
        "scopes_supported": list(service.SCOPES),
        "bearer_methods_supported": ["header"],
        "resource_name": name,
    }


# ---- registration (RFC 7591) -----------------------------------------------------------------------


@router.post("/oauth/register", response_model=ClientRead, status_code=201)
async def register(body: ClientPost, hub: HubDep, now: Now) -> ClientRead:
    """Register an agent's software as a public client (no secret): it may then ask a person for a
    grant, redirecting only to the URIs named here (https, or http on a loopback address, any port)."""

    def work(session: Session) -> ClientRead:
        client = oauth.register(session, name=body.client_name, redirect_uris=body.redirect_uris, now=now)
        return ClientRead(
            client_id=client.id,
            client_name=client.name,
            redirect_uris=client.redirect_uris,
            client_id_issued_at=int(now.timestamp()),
        )

    return await hub.run(work)


# ---- authorization and tokens ----------------------------------------------------------------------


# The OAuth protocol's own endpoints answer in its own format (redirects with `error=`, RFC 6749 §5.2
# errors), not problem+json: the metadata above describes them (RFC 8414), and docs/agents.md; they
# are not in the OpenAPI schema.


@router.get("/oauth/authorize", include_in_schema=False)
async def authorize(request: Request, hub: HubDep, now: Now) -> Response:
    """Start an authorization code request (PKCE S256 required): the browser goes on to the centre's
    consent screen, where the person signs in, chooses and approves or declines."""
    params = dict(request.query_params)

    def work(session: Session) -> uuid.UUID | RedirectError:
        try:
            return oauth.start(session, params, now).id
        except RedirectError as refused:
            return refused

    found = await hub.run(work)
    if isinstance(found, RedirectError):
        return RedirectResponse(found.location, status_code=303)
    return RedirectResponse(f"/centre/authorize/{found}", status_code=303)


def _oauth_error(error: OAuthError) -> JSONResponse:
    return JSONResponse(
        {"error": error.error, "error_description": error.detail},
        status_code=error.status_code,
        headers=NO_STORE,
    )


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _needed(form: dict[str, str], *names: str) -> list[str]:
    missing = [n for n in names if not form.get(n)]
    if missing:
        raise OAuthError("invalid_request", f"missing {', '.join(missing)}")
    return [form[n] for n in names]


async def _answer(hub: Hub, work: Callable[[Session], dict[str, Any]]) -> JSONResponse:
    def unit(session: Session) -> dict[str, Any] | OAuthError:
        # An OAuthError is returned from the unit, not raised: what it did (a spent code, a revoked
        # grant) is committed with the refusal.
        try:
            return work(session)
        except OAuthError as refused:
            return refused

    found = await hub.run(unit)
    if isinstance(found, OAuthError):
        return _oauth_error(found)
    return JSONResponse(found, headers=NO_STORE)


@router.post("/oauth/token", include_in_schema=False)
async def token(request: Request, hub: HubDep, now: Now) -> Response:
    """Exchange a code and its PKCE verifier (`grant_type=authorization_code`), or a refresh token
    (`grant_type=refresh_token`, rotated: each is good once), for a 15-minute access token (`ha_…`)
    and a refresh token (`hr_…`, 30 days, never past the grant's expiry)."""
    form = await _form(request)
    try:
        kind, client_id = _needed(form, "grant_type", "client_id")
        if kind == "authorization_code":
            code, redirect_uri, verifier = _needed(form, "code", "redirect_uri", "code_verifier")
            return await _answer(
                hub,
                lambda session: oauth.exchange(
                    session,
                    hub.secret,
                    client_id=client_id,
                    code=code,
                    redirect_uri=redirect_uri,
                    verifier=verifier,
                    now=now,
                ),
            )
        if kind == "refresh_token":
            (renewal,) = _needed(form, "refresh_token")
            return await _answer(
                hub,
                lambda session: oauth.refresh(
                    session, hub.secret, client_id=client_id, token=renewal, now=now
                ),
            )
        raise OAuthError("unsupported_grant_type", "grant_type is authorization_code or refresh_token")
    except OAuthError as refused:
        return _oauth_error(refused)


@router.post("/oauth/revoke", include_in_schema=False)
async def revoke(request: Request, hub: HubDep, now: Now) -> Response:
    """Revoke an access or refresh token (RFC 7009); a refresh token takes its whole grant with it.
    200 whether or not the token was known."""
    form = await _form(request)
    try:
        bearer, client_id = _needed(form, "token", "client_id")
    except OAuthError as refused:
        return _oauth_error(refused)
    await hub.run(
        lambda session: oauth.revoke_token(session, hub.secret, client_id=client_id, token=bearer, now=now)
    )
    return Response(status_code=200, headers=NO_STORE)


# ---- the person's grants -----------------------------------------------------------------------------


@router.get("/v1/me/grants", response_model=list[GrantRead], tags=["me"], responses=PERSON_ONLY)
async def my_grants(me: MeGrants) -> list[GrantRead]:
    """The grants I made for my agents, newest first: each one's scopes, businesses, expiry, and what
    it did and when. Only the verified person may see them (never an agent)."""

    def work(session: Session, window: Viewer) -> list[GrantRead]:
        return [
            GrantRead(
                id=str(v.grant.id),
                name=v.grant.name,
                client_id=v.grant.client_id,
                scopes=v.grant.scopes,
                businesses=None if v.grant.orgs is None else v.businesses,
                created_at=v.grant.created_at,
                expires_at=v.grant.expires_at,
                revoked_at=v.grant.revoked_at,
                acts=[ActRead(at=a.at, act=a.act) for a in v.acts],
            )
            for v in service.grants_of(session, window)
        ]

    return await me(work)


@router.delete("/v1/me/grants/{grant_id}", status_code=204, tags=["me"], responses=PERSON_ONLY)
async def revoke_my_grant(grant_id: uuid.UUID, me: MeGrants, now: Now) -> Response:
    """Revoke a grant: its agent's next call is refused, and its refresh tokens are dead too."""
    await me(lambda session, window: service.revoke(session, window, grant_id, me.hub.notary, now))
    return Response(status_code=204)


@router.get(
    "/v1/me/grant-requests/{request_id}", response_model=GrantRequestRead, tags=["me"], responses=PERSON_ONLY
)
async def grant_request(request_id: uuid.UUID, me: MeGrants, now: Now) -> GrantRequestRead:
    """An agent's request waiting for my answer (the id the consent screen's address carries): who
    asks, for what, and where the answer goes. 404 once answered or expired."""

    def work(session: Session, _window: Viewer) -> GrantRequestRead:
        found = oauth.pending(session, request_id, now)
        return GrantRequestRead(
            id=str(request_id),
            client_id=found.client.id,
            client_name=found.client.name,
            returns_to=urlsplit(found.request.redirect_uri).netloc,
            scopes=found.request.scopes,
            expiries=list(service.EXPIRIES),
            expires_at=found.request.expires_at,
        )

    return await me(work)


@router.post(
    "/v1/me/grant-requests/{request_id}", response_model=GrantAnswer, tags=["me"], responses=PERSON_ONLY
)
async def answer_grant_request(
    request_id: uuid.UUID, body: GrantDecision, me: MeGrants, now: Now
) -> GrantAnswer:
    """Approve an agent's request — with my name for it, the scopes I allow (some or all of those it
    asked), an expiry, and optionally only some of my businesses — or decline it. As on the consent
    screen: the grant is in the ledger and under My assistants; the agent gets its one-time code (or
    `access_denied`) where `redirect_to` points."""

    def work(session: Session, window: Viewer) -> GrantAnswer:
        if body.decision == "deny":
            return GrantAnswer(redirect_to=oauth.deny(session, request_id, now))
        asked = oauth.pending(session, request_id, now).request.scopes
        for field, given in (("name", body.name), ("scopes", body.scopes), ("expiry", body.expiry)):
            if given is None:
                raise Invalid(field, "required to approve")
        assert body.name is not None and body.scopes is not None and body.expiry is not None
        if not set(body.scopes) <= set(asked):
            raise Invalid("scopes", f"only what the agent asked for: {', '.join(asked)}")
        if body.expiry not in service.EXPIRIES:
            raise Invalid("expiry", f"one of {', '.join(service.EXPIRIES)}")
        if body.businesses is not None and not set(body.businesses) <= set(
            service.linked_orgs(session, window)
        ):
            raise Invalid("businesses", "only businesses you linked")
        choice = oauth.Choice(name=body.name, scopes=body.scopes, expiry=body.expiry, orgs=body.businesses)
        return GrantAnswer(redirect_to=oauth.approve(session, window, request_id, choice, me.hub.notary, now))

    return await me(work)
