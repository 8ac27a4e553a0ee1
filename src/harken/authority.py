"""Who may speak for a person: the authority tiers, what each may do, and the one place that checks.

| tier       | credential                                   | speaks for                                   |
|------------|----------------------------------------------|----------------------------------------------|
| `org`      | an org API key (`hk_…`)                      | that org's own records of its own refs       |
| `customer` | a token the org minted for its customer (`hc_…`) | the customer inside that org's window only |
| `person`   | a verified person: a centre sign-in by magic link, or a token minted from it (`hp_…`) | the whole person, across every business they linked |

A customer token never carries the person's whole authority: it cannot share with other businesses,
make shares or credentials, mint tokens, or erase beyond its org (`POWERS`). A delegated grant for
the person's own assistant is the next tier: a row in `POWERS` with the scopes the person chose.

Every `/v1/` request is authenticated by `authenticate` before its body is read (`deps.Authenticate`):
a caller without a valid credential gets 401, never a detailed 422. Routes then ask for a tier
(`orgs.api.Call`) or a power (`subjects.api`'s `Me…`), and the centre's pages for a power
(`Viewer.require`); a tier without that power gets 403.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.clock import rfc3339
from harken.errors import PROBLEM_JSON, HarkenError, Problem, Unauthenticated
from harken.orgs import service as org_service
from harken.orgs.models import Org
from harken.subjects import tokens
from harken.subjects.models import Subject, SubjectRef, Token


class Tier(StrEnum):
    org = "org"
    customer = "customer"
    person = "person"


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


POWERS: dict[Tier, frozenset[Power]] = {
    Tier.org: frozenset(),
    Tier.customer: frozenset({Power.read, Power.context, Power.preferences, Power.erase}),
    Tier.person: frozenset(Power),
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

    def require(self, power: Power) -> None:
        if power not in POWERS[self.tier]:
            raise Forbidden(f"a {self.tier} credential may not do this ({power}): it needs a {_who(power)}")


def _who(power: Power) -> str:
    tiers = [str(tier) for tier, powers in POWERS.items() if power in powers]
    return " or ".join(f"{t} credential" for t in tiers) + (
        " (sign in to the Preference Centre with your email)" if tiers == [Tier.person] else ""
    )


def authenticate(session: Session, *, secret: bytes, bearer: str, now: datetime) -> Authority:
    """The authority a bearer credential carries right now; Unauthenticated saying why not (unknown,
    expired, revoked, or speaking for someone erased)."""
    if bearer.startswith(org_service.KEY_PREFIX):
        org = org_service.authenticate(session, bearer, now=now)
        return Authority(Tier.org, org_id=org.id)
    read = tokens.read(secret, bearer)
    if read is None:
        raise Unauthenticated(
            "send an org API key (`hk_…`) or a customer token (`hc_…` or `hp_…`) as `Authorization: Bearer …`"
        )
    tier, token_id = read
    token = session.get(Token, token_id)
    if token is None or token.tier != tier:
        raise Unauthenticated("this token is not known")
    if token.revoked_at is not None:
        raise Unauthenticated("this token was revoked")
    if token.expires_at <= now:
        raise Unauthenticated(f"this token expired at {rfc3339(token.expires_at)}: ask for a new one")
    subject_id = token.subject_id
    if tier == Tier.customer:
        ref = session.get(SubjectRef, (token.org_id, token.ref))
        if ref is None:
            raise Unauthenticated("this token no longer names a customer")
        subject_id = ref.subject_id
    if session.execute(select(Subject.erased_at).where(Subject.id == subject_id)).scalar() is not None:
        raise Unauthenticated("the person this token spoke for was erased")
    return Authority(
        Tier(tier),
        org_id=token.org_id,
        subject_id=subject_id,
        ref=token.ref,
        token_id=token.id,
        expires_at=token.expires_at,
    )


def org_of(session: Session, authority: Authority) -> Org:
    """The org an org key speaks for, in this unit of work; Unauthenticated for any other credential."""
    if authority.tier != Tier.org or authority.org_id is None:
        raise Unauthenticated("this call needs an org API key (`hk_…`), not a customer token")
    return session.get_one(Org, authority.org_id)
