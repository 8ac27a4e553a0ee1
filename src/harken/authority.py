"""Who may speak for a person: the authority tiers, what each may do, and the one place that checks.

| tier       | credential                                   | speaks for                                   |
|------------|----------------------------------------------|----------------------------------------------|
| `org`      | an org API key (`hk_…`)                      | that org's own records of its own refs       |
| `customer` | a token the org minted for its customer (`hc_…`) | the customer inside that org's window only |
| `person`   | a verified person: a centre sign-in by magic link, or a token minted from it (`hp_…`) | the whole person, across every business they linked |
| `agent`    | an access token (`ha_…`) of a grant the person approved for their own agent (OAuth 2.1 + PKCE, `harken.grants`) | the person, within the scopes they chose and the businesses they named, until expiry or revocation |

A customer token never carries the person's whole authority: it cannot share with other businesses,
make shares or credentials, mint tokens, proffer terms, or erase beyond its org (`POWERS`); it may read
the terms of its own window (`read`). A delegated grant for the person's own assistant is the fourth
tier: `POWERS[Tier.agent]` is what may ever be delegated, and each grant's scopes (`Authority.scopes`)
narrow it further; erasure, tokens, links, credentials and new grants are never delegable.

Every `/v1/` request is authenticated by `authenticate` before its body is read (`deps.Authenticate`):
a caller without a valid credential gets 401, never a detailed 422. Routes then ask for a tier
(`orgs.api.Call`) or a power (`subjects.api`'s `Me…`), and the centre's pages for a power
(`Viewer.require`); a tier without that power gets 403.

Whether a credential is still live (its key or token not revoked, not expired, its person not erased) is
decided again inside the request's own unit of work, in one statement of the same transaction
(`org_of`, `holder`): that is what makes a revocation by any process apply to the very next call, and
what lets `deps.Authenticate` remember credentials it has checked instead of reading them every time.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from harken.clock import rfc3339
from harken.errors import PROBLEM_JSON, HarkenError, Problem, TokenExpired, Unauthenticated
from harken.grants import tokens as grant_tokens
from harken.grants.models import Grant, GrantToken
from harken.orgs import service as org_service
from harken.orgs.models import ApiKey, Org
from harken.subjects import tokens
from harken.subjects.models import Subject, SubjectRef, Token


class Tier(StrEnum):
    org = "org"
    customer = "customer"
    person = "person"
    agent = "agent"


class Power(StrEnum):
    """What a call on a person's behalf does (`/v1/me`)."""

    read = "read"  # see what this window holds and who asked
    context = "context"  # say what matters right now
    preferences = "preferences"  # personas, interests, channels, quiet hours
    erase = "erase"  # erase: what this org holds (customer), everything (person)
    sharing = "sharing"  # let a business see what I declared elsewhere
    shares = "shares"  # carry my context to several businesses
    credentials = "credentials"  # credentials to show off the hub
    links = "links"  # confirm or take back which businesses know me
    tokens = "tokens"  # mint tokens for /v1/me
    consents = "consents"  # grant or withdraw a consent at one business
    terms = "terms"  # proffer terms (IEEE 7012 MyTerms)
    grants = "grants"  # see and revoke the grants for my agents


# What a grant's scopes may be: each names the one power it delegates.
DELEGABLE = (Power.read, Power.context, Power.preferences, Power.consents, Power.shares, Power.terms)


POWERS: dict[Tier, frozenset[Power]] = {
    Tier.org: frozenset(),
    Tier.customer: frozenset({Power.read, Power.context, Power.preferences, Power.consents, Power.erase}),
    Tier.person: frozenset(Power),
    Tier.agent: frozenset(DELEGABLE),
}


class Forbidden(HarkenError):
    status_code, slug, title = 403, "insufficient-authority", "Not allowed with this credential"


# The answer a route that needs a power only the verified person has gives a customer token, documented.
PERSON_ONLY: dict[int | str, dict[str, Any]] = {
    403: {
        "model": Problem,
        "content": {PROBLEM_JSON: {}},
        "description": "Only the verified person may (an `hp_…` token): a business's customer token "
        "(`hc_…`) is refused, `/problems/insufficient-authority`",
    }
}


@dataclass(frozen=True)
class Authority:
    """A checked credential: its tier, and whom it speaks for."""

    tier: Tier
    org_id: uuid.UUID | None = None  # the org (key), or the org whose window a customer token opens
    subject_id: uuid.UUID | None = None  # the customer (token), or the verified person
    ref: str | None = None  # the org's ref for its customer
    token_id: uuid.UUID | None = None
    expires_at: datetime | None = None
    key_hash: str | None = None  # an org key's `api_keys.key_hash` (its `digest`), never the key
    # An agent's grant: its id, the name the person gave the agent, its scopes, and the businesses it
    # is limited to (None: every business the person linked).
    grant_id: uuid.UUID | None = None
    agent: str | None = None
    scopes: frozenset[Power] = frozenset()
    orgs: tuple[uuid.UUID, ...] | None = None

    def require(self, power: Power) -> None:
        if power not in POWERS[self.tier]:
            raise Forbidden(f"a {self.tier} credential may not do this ({power}): it needs a {_who(power)}")
        if self.tier == Tier.agent and power not in self.scopes:
            raise Forbidden(f"this agent's grant does not include the `{power}` scope: ask the person for it")
        if self.tier == Tier.agent and self.orgs is not None and power == Power.shares:
            raise Forbidden("a grant limited to some businesses may not make shares, which reach others")


def _who(power: Power) -> str:
    tiers = [str(tier) for tier, powers in POWERS.items() if power in powers]
    return " or ".join(f"{t} credential" for t in tiers) + (
        " (sign in to the Preference Centre with your email)" if tiers == [Tier.person] else ""
    )


def digest(bearer: str) -> str:
    """What the hub keeps of a credential it checked, never the credential: its sha256, which for an org
    key is the `api_keys.key_hash` that orgs.service stores for it (tests/test_authority.py pins the two together)."""
    return hashlib.sha256(bearer.encode()).hexdigest()


def authenticate(session: Session, *, secret: bytes, bearer: str, now: datetime) -> Authority:
    """The authority a bearer credential carries right now; Unauthenticated saying why not (unknown,
    expired, revoked, or speaking for someone erased)."""
    if bearer.startswith(org_service.KEY_PREFIX):
        key_hash = digest(bearer)
        return Authority(Tier.org, org_id=_live_key(session, key_hash, now).id, key_hash=key_hash)
    if bearer.startswith(grant_tokens.ACCESS):
        return _live_agent(session, _read_agent(secret, bearer), now)
    read = tokens.read(secret, bearer)
    if read is None:
        raise Unauthenticated(
            "send an org API key (`hk_…`) or a customer token (`hc_…` or `hp_…`) as `Authorization: Bearer …`"
        )
    tier, token_id = read
    return _live_token(session, Tier(tier), token_id, now)


def _read_agent(secret: bytes, bearer: str) -> uuid.UUID:
    token_id = grant_tokens.read(secret, grant_tokens.ACCESS, bearer)
    if token_id is None:
        raise Unauthenticated("this access token is not known")
    return token_id


def org_of(session: Session, authority: Authority, now: datetime) -> Org:
    """The org an org key speaks for, in this unit of work, if the key is still live at `now`: one
    statement in the unit's own transaction, so a key revoked by any process before it is refused.
    Unauthenticated for a revoked key, or for any other credential."""
    if authority.tier != Tier.org or authority.key_hash is None:
        raise Unauthenticated("this call needs an org API key (`hk_…`), not a customer token")
    org = _live_key(session, authority.key_hash, now)
    if org.id != authority.org_id:  # a key never changes org; refuse rather than trust a stale entry
        raise Unauthenticated("this API key is not known or was revoked")
    return org


def holder(session: Session, authority: Authority, now: datetime) -> Authority:
    """A customer or person token's authority as it stands at `now`, in this unit of work (one statement
    in its transaction): refused, saying why, once the token is revoked or expired or its person erased,
    and naming the subject its ref names now."""
    if authority.tier == Tier.org or authority.token_id is None:
        raise Unauthenticated("send a customer token (`hc_…` or `hp_…`), not an org API key")
    if authority.tier == Tier.agent:
        return _live_agent(session, authority.token_id, now)
    return _live_token(session, authority.tier, authority.token_id, now)


# A key is live until its `revoked_at` (a rotated key's grace ends there); an unknown key and a revoked
# one are refused alike.
_LIVE_KEY = (
    select(Org.id, Org.name, Org.created_at)
    .join(ApiKey)
    .where(
        ApiKey.key_hash == bindparam("key_hash"),
        or_(ApiKey.revoked_at.is_(None), ApiKey.revoked_at > bindparam("now")),
    )
)


def _live_key(session: Session, key_hash: str, now: datetime) -> Org:
    found = session.connection().execute(_LIVE_KEY, {"key_hash": key_hash, "now": now}).first()
    if found is None:
        raise Unauthenticated("this API key is not known or was revoked")
    # A plain copy of the row, not an object of the session (a third of an org call's database time
    # went to loading it): an org never changes once created, and nothing adds it back to a session.
    return Org(id=found.id, name=found.name, created_at=found.created_at)


# A token, the subject it speaks for now (a customer token's ref may have been erased or re-bound), and
# whether that subject was erased: one statement.
_SPEAKS_FOR = func.coalesce(SubjectRef.subject_id, Token.subject_id)
_TOKEN = (
    select(
        Token.tier,
        Token.org_id,
        Token.ref,
        Token.expires_at,
        Token.revoked_at,
        SubjectRef.subject_id.label("ref_subject_id"),
        _SPEAKS_FOR.label("subject_id"),
        Subject.erased_at,
    )
    .outerjoin(
        SubjectRef,
        and_(
            Token.tier == Tier.customer.value, SubjectRef.org_id == Token.org_id, SubjectRef.ref == Token.ref
        ),
    )
    .outerjoin(Subject, Subject.id == _SPEAKS_FOR)
    .where(Token.id == bindparam("token_id"))
)


def _live_token(session: Session, tier: Tier, token_id: uuid.UUID, now: datetime) -> Authority:
    token = session.execute(_TOKEN, {"token_id": token_id}).one_or_none()
    if token is None or token.tier != tier:
        raise Unauthenticated("this token is not known")
    if token.revoked_at is not None:
        raise Unauthenticated("this token was revoked")
    if token.expires_at <= now:
        raise TokenExpired(f"this token expired at {rfc3339(token.expires_at)}: ask for a new one")
    if tier == Tier.customer and token.ref_subject_id is None:
        raise Unauthenticated("this token no longer names a customer")
    if token.erased_at is not None:
        raise Unauthenticated("the person this token spoke for was erased")
    return Authority(
        tier,
        org_id=token.org_id,
        subject_id=token.subject_id,
        ref=token.ref,
        token_id=token_id,
        expires_at=token.expires_at,
    )


# An access token, its grant, and whether the person it speaks for was erased: one statement.
_AGENT = (
    select(
        GrantToken.kind,
        GrantToken.expires_at,
        GrantToken.revoked_at,
        Grant.id.label("grant_id"),
        Grant.subject_id,
        Grant.name,
        Grant.scopes,
        Grant.orgs,
        Grant.expires_at.label("grant_expires_at"),
        Grant.revoked_at.label("grant_revoked_at"),
        Subject.erased_at,
    )
    .join(Grant, Grant.id == GrantToken.grant_id)
    .join(Subject, Subject.id == Grant.subject_id)
    .where(GrantToken.id == bindparam("token_id"))
)


def _live_agent(session: Session, token_id: uuid.UUID, now: datetime) -> Authority:
    """An agent's access token as it stands at `now`: refused once it or its grant is revoked or
    expired, or its person erased."""
    token = session.execute(_AGENT, {"token_id": token_id}).one_or_none()
    if token is None or token.kind != "access":
        raise Unauthenticated("this access token is not known")
    if token.revoked_at is not None or token.grant_revoked_at is not None:
        raise Unauthenticated("this access token or its grant was revoked")
    if token.grant_expires_at <= now:
        raise TokenExpired(f"this grant expired at {rfc3339(token.grant_expires_at)}: ask the person again")
    if token.expires_at <= now:
        raise TokenExpired(f"this access token expired at {rfc3339(token.expires_at)}: refresh it")
    if token.erased_at is not None:
        raise Unauthenticated("the person this token spoke for was erased")
    return Authority(
        Tier.agent,
        subject_id=token.subject_id,
        token_id=token_id,
        expires_at=token.expires_at,
        grant_id=token.grant_id,
        agent=token.name,
        scopes=frozenset(Power(s) for s in token.scopes),
        orgs=None if token.orgs is None else tuple(uuid.UUID(o) for o in token.orgs),
    )
