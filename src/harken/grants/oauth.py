"""Grants for the person's own agent, and the OAuth 2.1 authorization server that hands them out.

The flow (RFC 6749 as OAuth 2.1 keeps it, PKCE S256 only, RFC 7636): a public client registers its
redirect URIs (RFC 7591); `/oauth/authorize` keeps the request and sends the browser to the centre,
where the signed-in person names the agent, picks scopes, an expiry and the businesses, and approves;
the code (one-time, a minute) and the verifier buy an access token (15 minutes) and a refresh token
(rotated on every use, never past the grant's expiry). A code or refresh token used twice means
someone else has it: the grant is revoked, and with it every token it issued.

Whether an access token is live is `authority._live_agent`'s to say, in each call's own transaction.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.authority import Forbidden
from harken.errors import HarkenError, Invalid, NotFound
from harken.grants import tokens
from harken.grants.models import Grant, GrantRequest, GrantToken, OAuthClient
from harken.grants.service import EXPIRIES, SCOPES, enter, linked_orgs, revoke_grant_row
from harken.ledger.service import Notary
from harken.subjects.viewer import Viewer

REQUEST_LIFETIME = timedelta(minutes=10)  # to sign in and decide
CODE_LIFETIME = timedelta(minutes=1)
ACCESS_LIFETIME = timedelta(minutes=15)
REFRESH_LIFETIME = timedelta(days=30)
MAX_REDIRECT_URIS = 10


class OAuthError(HarkenError):
    """An error the token, revocation or registration endpoint answers as RFC 6749 §5.2 says."""

    status_code = 400

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.status_code = error, status


class NoRedirect(HarkenError):
    """An authorization request whose client or redirect URI is not known: never redirect to it
    (RFC 6749 §4.1.2.1), say so to the person instead."""

    status_code, slug, title = 400, "invalid-authorization-request", "Invalid authorization request"


class RedirectError(HarkenError):
    """An authorization request refused back to the client's own redirect URI."""

    def __init__(self, redirect_uri: str, error: str, description: str, state: str | None) -> None:
        super().__init__(description)
        self.location = with_query(redirect_uri, error=error, error_description=description, state=state)


def with_query(uri: str, **params: str | None) -> str:
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    return urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))


# ---- clients (RFC 7591) ----------------------------------------------------------------------------


def _loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_redirect_uri(uri: str) -> str:
    """A redirect URI a public client may register: https, or http on a loopback address (RFC 8252 §7.3;
    any port, matched without it); never a fragment."""
    parts = urlsplit(uri)
    if len(uri) > 2000 or parts.fragment or not parts.netloc:
        raise Invalid("redirect_uris", "must be absolute URIs without a fragment")
    if parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname)):
        return uri
    raise Invalid("redirect_uris", "must be https, or http on 127.0.0.1 or [::1] for a native app")


def register(session: Session, *, name: str, redirect_uris: list[str], now: datetime) -> OAuthClient:
    if not redirect_uris or len(redirect_uris) > MAX_REDIRECT_URIS:
        raise Invalid("redirect_uris", f"name 1 to {MAX_REDIRECT_URIS} redirect URIs")
    client = OAuthClient(
        id=secrets.token_urlsafe(24),
        name=name,
        redirect_uris=[check_redirect_uri(u) for u in redirect_uris],
        created_at=now,
    )
    session.add(client)
    return client


def redirect_matches(registered: list[str], given: str) -> bool:
    """Exact string match; for a loopback URI the port may differ (RFC 8252 §7.3)."""
    if given in registered:
        return True
    asked = urlsplit(given)
    if asked.scheme != "http" or not _loopback(asked.hostname):
        return False
    return any(
        (p := urlsplit(r)).scheme == "http"
        and p.hostname == asked.hostname
        and (p.path, p.query) == (asked.path, asked.query)
        for r in registered
    )


# ---- authorization -----------------------------------------------------------------------------------


def start(session: Session, params: dict[str, str], now: datetime) -> GrantRequest:
    """Keep an authorization request for the person to decide on; refused to the client's redirect URI
    when the client and URI are known, to the person otherwise."""
    client = session.get(OAuthClient, params.get("client_id", ""))
    redirect_uri = params.get("redirect_uri", "")
    if client is None:
        raise NoRedirect("this application is not registered with the hub (unknown client_id)")
    if not redirect_matches(client.redirect_uris, redirect_uri):
        raise NoRedirect("this redirect_uri is not one the application registered")
    state = params.get("state")

    def refuse(error: str, description: str) -> RedirectError:
        return RedirectError(redirect_uri, error, description, state)

    if params.get("response_type") != "code":
        raise refuse("unsupported_response_type", "response_type must be code")
    challenge = params.get("code_challenge", "")
    if params.get("code_challenge_method") != "S256" or not 43 <= len(challenge) <= 128:
        raise refuse("invalid_request", "PKCE is required: a code_challenge with code_challenge_method=S256")
    asked = (params.get("scope") or "read").split()
    unknown = [s for s in asked if s not in SCOPES]
    if unknown or not asked:
        raise refuse("invalid_scope", f"unknown scope {' '.join(unknown)}; scopes are {' '.join(SCOPES)}")
    if state is not None and len(state) > 500:
        raise refuse("invalid_request", "state is too long")
    found = GrantRequest(
        client_id=client.id,
        redirect_uri=redirect_uri,
        scopes=[s for s in SCOPES if s in asked],
        state=state,
        code_challenge=challenge,
        created_at=now,
        expires_at=now + REQUEST_LIFETIME,
    )
    session.add(found)
    session.flush()
    return found


@dataclass(frozen=True)
class Pending:
    request: GrantRequest
    client: OAuthClient


def pending(session: Session, request_id: uuid.UUID, now: datetime) -> Pending:
    """A request still waiting for the person; NotFound once decided or expired."""
    found = session.get(GrantRequest, request_id)
    if found is None or found.grant_id is not None or found.used_at is not None or found.expires_at <= now:
        raise NotFound("no such authorization request (it expired, or was decided)")
    return Pending(found, session.get_one(OAuthClient, found.client_id))


@dataclass(frozen=True)
class Choice:
    """What the person chose on the consent screen."""

    name: str
    scopes: list[str]
    expiry: str
    orgs: list[uuid.UUID] | None  # None: every business they linked


def approve(
    session: Session, viewer: Viewer, request_id: uuid.UUID, choice: Choice, notary: Notary, now: datetime
) -> str:
    """Make the grant the person chose and the code that buys its tokens; where the browser goes next."""
    if viewer.org_id is not None:
        raise Forbidden("only the verified person may grant an agent (sign in with your email)")
    found = pending(session, request_id, now)
    name = choice.name.strip()
    if not 1 <= len(name) <= 100:
        raise Invalid("name", "invalid.required")
    scopes = [s for s in found.request.scopes if s in choice.scopes]
    if not scopes or set(choice.scopes) - set(found.request.scopes):
        raise Invalid("scopes", "invalid.choose")
    if choice.expiry not in EXPIRIES:
        raise Invalid("expiry", "invalid.choose")
    if choice.orgs is not None:
        linked = {b for b in linked_orgs(session, viewer)}
        if not choice.orgs or set(choice.orgs) - linked:
            raise Invalid("orgs", "invalid.choose")
    grant = Grant(
        id=uuid.uuid4(),
        subject_id=viewer.subject_id,
        client_id=found.client.id,
        redirect_uri=found.request.redirect_uri,
        name=name,
        scopes=scopes,
        orgs=None if choice.orgs is None else sorted(str(o) for o in choice.orgs),
        created_at=now,
        expires_at=now + EXPIRIES[choice.expiry],
        revoked_at=None,
    )
    session.add(grant)
    session.flush()
    code = secrets.token_urlsafe(32)
    found.request.grant_id = grant.id
    found.request.code_sha256 = _sha256(code)
    found.request.expires_at = now + CODE_LIFETIME
    enter(session, notary, "grant.created", grant, now, scopes=scopes, orgs=grant.orgs)
    return with_query(found.request.redirect_uri, code=code, state=found.request.state)


def deny(session: Session, request_id: uuid.UUID, now: datetime) -> str:
    found = pending(session, request_id, now)
    found.request.used_at = now
    return with_query(
        found.request.redirect_uri,
        error="access_denied",
        error_description="the person declined",
        state=found.request.state,
    )


# ---- tokens --------------------------------------------------------------------------------------------


def exchange(
    session: Session,
    secret: bytes,
    *,
    client_id: str,
    code: str,
    redirect_uri: str,
    verifier: str,
    now: datetime,
) -> dict[str, Any]:
    """The authorization_code grant: a code once, from the client it was given to, with the redirect URI
    it was asked with and the verifier of its challenge."""
    found = session.execute(
        select(GrantRequest).where(GrantRequest.code_sha256 == _sha256(code)).with_for_update()
    ).scalar_one_or_none()
    if found is None or found.grant_id is None:
        raise OAuthError("invalid_grant", "this code is not known")
    if found.used_at is not None:  # a second use: whoever holds it, the tokens it bought are not safe
        revoke_grant_row(session, found.grant_id, now, why="code-reused")
        raise OAuthError("invalid_grant", "this code was used already; the grant it made is revoked")
    found.used_at = now
    if found.expires_at <= now:
        raise OAuthError("invalid_grant", "this code expired")
    if found.client_id != client_id or found.redirect_uri != redirect_uri:
        raise OAuthError("invalid_grant", "this code was issued to another client or redirect_uri")
    if not secrets.compare_digest(tokens.s256(verifier), found.code_challenge):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
    grant = session.get_one(Grant, found.grant_id)
    if grant.revoked_at is not None or grant.expires_at <= now:
        raise OAuthError("invalid_grant", "the grant was revoked or expired")
    return _issue(session, secret, grant, now)


def refresh(session: Session, secret: bytes, *, client_id: str, token: str, now: datetime) -> dict[str, Any]:
    """The refresh_token grant, rotating: the old refresh token is spent, a second use of it revokes
    the grant."""
    token_id = tokens.read(secret, tokens.REFRESH, token)
    found = session.get(GrantToken, token_id, with_for_update=True) if token_id else None
    if found is None or found.kind != "refresh":
        raise OAuthError("invalid_grant", "this refresh token is not known")
    grant = session.get_one(Grant, found.grant_id)
    if grant.client_id != client_id:
        raise OAuthError("invalid_grant", "this refresh token was issued to another client")
    if found.used_at is not None:
        revoke_grant_row(session, grant.id, now, why="refresh-reused")
        raise OAuthError("invalid_grant", "this refresh token was used already; its grant is revoked")
    if found.revoked_at is not None or grant.revoked_at is not None:
        raise OAuthError("invalid_grant", "this refresh token or its grant was revoked")
    if found.expires_at <= now:
        raise OAuthError("invalid_grant", "this refresh token expired")
    found.used_at = now
    return _issue(session, secret, grant, now)


def _issue(session: Session, secret: bytes, grant: Grant, now: datetime) -> dict[str, Any]:
    access_until = min(now + ACCESS_LIFETIME, grant.expires_at)
    access = GrantToken(
        id=uuid.uuid4(), grant_id=grant.id, kind="access", created_at=now, expires_at=access_until
    )
    renewal = GrantToken(
        id=uuid.uuid4(),
        grant_id=grant.id,
        kind="refresh",
        created_at=now,
        expires_at=min(now + REFRESH_LIFETIME, grant.expires_at),
    )
    session.add_all([access, renewal])
    return {
        "access_token": tokens.mint(secret, tokens.ACCESS, access.id),
        "token_type": "Bearer",
        "expires_in": int((access_until - now).total_seconds()),
        "refresh_token": tokens.mint(secret, tokens.REFRESH, renewal.id),
        "scope": " ".join(grant.scopes),
    }


def revoke_token(session: Session, secret: bytes, *, client_id: str, token: str, now: datetime) -> None:
    """RFC 7009: an access token stops; a refresh token ends its grant (the client is letting go).
    Unknown tokens, and another client's, are ignored alike."""
    for prefix in (tokens.ACCESS, tokens.REFRESH):
        token_id = tokens.read(secret, prefix, token)
        found = session.get(GrantToken, token_id) if token_id else None
        if found is None:
            continue
        grant = session.get_one(Grant, found.grant_id)
        if grant.client_id != client_id:
            return
        if found.kind == "refresh":
            revoke_grant_row(session, grant.id, now, why="client")
        elif found.revoked_at is None:
            found.revoked_at = now
        return


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
