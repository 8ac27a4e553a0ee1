"""Creating orgs, issuing API keys and recognising them."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from harken.errors import Invalid, Unauthenticated
from harken.orgs.models import ApiKey, Org

KEY_PREFIX = "hk_"


def create(session: Session, *, name: str, now: datetime) -> tuple[Org, str]:
    """A new org and its first API key (returned in clear exactly once)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise Invalid("name", "an org name has 1 to 200 characters")
    if by_name(session, name) is not None:
        raise Invalid("name", f"an org named {name!r} exists already")
    org = Org(name=name, created_at=now)
    session.add(org)
    session.flush()
    return org, issue_key(session, org=org, now=now)


def issue_key(session: Session, *, org: Org, now: datetime) -> str:
    """A new API key for `org`; only its hash is stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(org_id=org.id, key_hash=_hash(key), prefix=key[:10], created_at=now))
    return key


def by_name(session: Session, name: str) -> Org | None:
    return session.execute(
        select(Org).where(func.lower(Org.name) == name.strip().lower())
    ).scalar_one_or_none()


def all_orgs(session: Session) -> list[tuple[Org, int]]:
    """Every org with its number of live keys."""
    live = func.count(ApiKey.id).filter(ApiKey.revoked_at.is_(None))
    rows = session.execute(select(Org, live).outerjoin(ApiKey).group_by(Org.id).order_by(Org.name))
    return [(org, keys) for org, keys in rows]


def authenticate(session: Session, key: str | None) -> Org:
    """The org owning a live API key; Unauthenticated for a missing, unknown or revoked key."""
    if not key or not key.startswith(KEY_PREFIX):
        raise Unauthenticated("send an org API key as `Authorization: Bearer hk_…`")
    org = session.execute(_BY_KEY, {"key_hash": _hash(key)}).scalar_one_or_none()
    if org is None:
        raise Unauthenticated("this API key is not known or was revoked")
    return org


_BY_KEY = (
    select(Org).join(ApiKey).where(ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None))
)


def _hash(key: str) -> str:
    # Keys carry 256 random bits, so a plain digest is as strong as a slow password hash here.
    return hashlib.sha256(key.encode()).hexdigest()
