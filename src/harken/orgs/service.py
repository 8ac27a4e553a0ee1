"""Creating orgs, issuing, revoking and rotating their API keys, and recognising the keys."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from harken.clock import rfc3339, system_clock
from harken.errors import HarkenError, Invalid, NotFound, Unauthenticated
from harken.ledger import service as ledger_service
from harken.ledger.service import Notary
from harken.orgs.models import ApiKey, Org
from harken.orgs.schemas import MAX_GRACE

KEY_PREFIX = "hk_"

By = Literal["operator", "org"]  # who changed a key: the hub's operator (CLI) or the org (its API)


class LastKey(HarkenError):
    status_code, slug, title = 409, "last-live-key", "The org's last live key"


class KeyRevoked(HarkenError):
    status_code, slug, title = 409, "key-revoked", "The key is revoked"


def create(session: Session, *, name: str, now: datetime) -> tuple[Org, str]:
    """A new org and its first API key (returned in clear exactly once). The first key is not a
    ledger entry: the org's chain begins with its first record."""
    name = name.strip()
    if not name or len(name) > 200:
        raise Invalid("name", "an org name has 1 to 200 characters")
    if by_name(session, name) is not None:
        raise Invalid("name", f"an org named {name!r} exists already")
    org = Org(name=name, created_at=now)
    session.add(org)
    session.flush()
    return org, first_key(session, org=org, now=now)


def first_key(session: Session, *, org: Org, now: datetime) -> str:
    """The key an org is created with; only its hash is stored, and nothing goes in the ledger."""
    return _new_key(session, org, now)[1]


def issue_key(session: Session, *, org: Org, by: By, notary: Notary, now: datetime) -> tuple[ApiKey, str]:
    """One more live key for `org` (the key returned in clear, once); `key.issued` in the org's chain."""
    found, key = _new_key(session, org, now)
    _record(session, notary, org, found, "key.issued", now, by=by)
    return found, key


def keys(session: Session, *, org: Org) -> list[ApiKey]:
    """Every key the org was given, live or not, oldest first."""
    return list(
        session.execute(
            select(ApiKey).where(ApiKey.org_id == org.id).order_by(ApiKey.created_at, ApiKey.prefix)
        ).scalars()
    )


def key(session: Session, *, org: Org, key_id: uuid.UUID) -> ApiKey:
    """The org's key; NotFound alike for an unknown id and another org's key."""
    found = session.get(ApiKey, key_id)
    if found is None or found.org_id != org.id:
        raise NotFound(f"no API key {key_id}")
    return found


def find_key(session: Session, *, org: Org, named: str) -> ApiKey:
    """The org's key named by its id, its printed prefix (`hk_` and 7 more characters, or the start of
    them if no other key shares it) or the key itself (say, one that leaked)."""
    named = named.strip()
    try:
        return key(session, org=org, key_id=uuid.UUID(named))
    except ValueError:
        pass
    matches = (
        ApiKey.key_hash == _hash(named)
        if len(named) > 10
        else ApiKey.prefix.startswith(named, autoescape=True)
    )
    found = session.execute(select(ApiKey).where(ApiKey.org_id == org.id, matches)).scalars().all()
    if not found:
        raise NotFound(f"{org.name} has no API key {named[:10]!r}")
    if len(found) > 1:
        raise Invalid("key", f"{len(found)} keys start with {named!r}: name one by its id")
    return found[0]


def revoke_key(
    session: Session,
    *,
    org: Org,
    key_id: uuid.UUID,
    by: By,
    notary: Notary,
    now: datetime,
    allow_last: bool = False,
) -> ApiKey:
    """Revoke the org's key from `now` on: the very next call with it is refused. A key already
    revoked stays as it is; a rotated key still in its grace period ends now. Refuses (LastKey) to
    revoke the org's last key without an end date unless `allow_last`: that would shut the org out of
    the API until the operator issues a new key."""
    found = _locked(session, org, key_id)
    if found.revoked_at is not None and found.revoked_at <= now:
        return found
    if found.revoked_at is None and not allow_last and not _others_open(session, found):
        raise LastKey(
            "this is the org's last live API key: revoking it shuts the org out of the API until the "
            "operator issues a new one; rotate it instead, or say allow_last to revoke it anyway"
        )
    found.revoked_at = now
    _record(session, notary, org, found, "key.revoked", now, by=by, ends=rfc3339(now))
    return found


def rotate_key(
    session: Session,
    *,
    org: Org,
    key_id: uuid.UUID,
    by: By,
    notary: Notary,
    now: datetime,
    grace: timedelta = timedelta(0),
) -> tuple[ApiKey, str]:
    """A new key replacing the org's key `key_id`, which keeps working for `grace` (0 to MAX_GRACE) and
    is refused from then on. Both changes go in the org's chain: `key.issued` (replaces) and
    `key.revoked` (ends, replaced_by). KeyRevoked for a key already revoked or rotated."""
    if not timedelta(0) <= grace <= MAX_GRACE:
        raise Invalid("grace", f"from 0 to {MAX_GRACE.days} days")
    old = _locked(session, org, key_id)
    if old.revoked_at is not None:
        raise KeyRevoked(f"API key {old.prefix}… is revoked or rotated already: rotate its successor")
    new, clear = _new_key(session, org, now)
    old.revoked_at = now + grace
    _record(session, notary, org, new, "key.issued", now, by=by, replaces=str(old.id))
    ends = rfc3339(old.revoked_at)
    _record(session, notary, org, old, "key.revoked", now, by=by, ends=ends, replaced_by=str(new.id))
    return new, clear


def status(found: ApiKey, now: datetime) -> Literal["live", "expiring", "revoked"]:
    """`expiring`: rotated, and working until its `revoked_at`."""
    if found.revoked_at is None:
        return "live"
    return "expiring" if found.revoked_at > now else "revoked"


def by_name(session: Session, name: str) -> Org | None:
    return session.execute(
        select(Org).where(func.lower(Org.name) == name.strip().lower())
    ).scalar_one_or_none()


def all_orgs(session: Session) -> list[tuple[Org, int]]:
    """Every org with its number of keys without an end date (a rotated key in its grace is not counted)."""
    live = func.count(ApiKey.id).filter(ApiKey.revoked_at.is_(None))
    rows = session.execute(select(Org, live).outerjoin(ApiKey).group_by(Org.id).order_by(Org.name))
    return [(org, keys) for org, keys in rows]


def authenticate(session: Session, key: str | None, *, now: datetime | None = None) -> Org:
    """The org owning a live API key; Unauthenticated for a missing, unknown or revoked key (alike).

    A key is live until its `revoked_at`, read afresh on every call (nothing is cached), so a
    revocation applies to the very next call. `now` is the hub's clock; None reads the system clock.
    """
    if not key or not key.startswith(KEY_PREFIX):
        raise Unauthenticated("send an org API key as `Authorization: Bearer hk_…`")
    found = session.execute(_BY_KEY, {"key_hash": _hash(key), "now": now or system_clock()})
    org = found.scalar_one_or_none()
    if org is None:
        raise Unauthenticated("this API key is not known or was revoked")
    return org


_BY_KEY = (
    select(Org)
    .join(ApiKey)
    .where(
        ApiKey.key_hash == bindparam("key_hash"),
        or_(ApiKey.revoked_at.is_(None), ApiKey.revoked_at > bindparam("now")),
    )
)


def _new_key(session: Session, org: Org, now: datetime) -> tuple[ApiKey, str]:
    clear = KEY_PREFIX + secrets.token_urlsafe(32)
    found = ApiKey(org_id=org.id, key_hash=_hash(clear), prefix=clear[:10], created_at=now)
    session.add(found)
    session.flush()
    return found, clear


def _locked(session: Session, org: Org, key_id: uuid.UUID) -> ApiKey:
    """The org's key, with the org's row locked until commit: two revocations at once cannot each see
    the other's key still open and leave the org with none (SQLite's single writer does this alone)."""
    session.execute(select(Org.id).where(Org.id == org.id).with_for_update())
    found = key(session, org=org, key_id=key_id)
    session.refresh(found)  # as committed by whoever held the lock before
    return found


def _others_open(session: Session, found: ApiKey) -> bool:
    """Whether the org has another key with no end date."""
    other = select(ApiKey.id).where(
        ApiKey.org_id == found.org_id, ApiKey.id != found.id, ApiKey.revoked_at.is_(None)
    )
    return session.execute(other.limit(1)).first() is not None


def _record(
    session: Session, notary: Notary, org: Org, found: ApiKey, type: str, now: datetime, **data: str
) -> None:
    """A key change in the org's chain: the key's id and printed prefix, never the key or its hash."""
    ledger_service.append(
        session,
        notary=notary,
        chain_id=org.chain,
        type=type,
        at=now,
        data={"key": str(found.id), "prefix": found.prefix, **data},
    )


def _hash(key: str) -> str:
    # Keys carry 256 random bits, so a plain digest is as strong as a slow password hash here.
    return hashlib.sha256(key.encode()).hexdigest()
