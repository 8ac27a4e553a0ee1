"""Signing in to the Preference Centre: magic links, sessions, CSRF tokens and rate limits.

A link is single-use and valid for 15 minutes; only its sha256 is stored. A session's cookie holds a
random id and an HMAC of it under the hub's secret; only the id's sha256 is stored, so the database
alone cannot forge or replay a cookie. Every sign-in starts a new session (no fixation).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from harken.centre.models import CentreSession, SignInLink
from harken.cookies import Domain, keyed, sha256
from harken.cookies import RateLimited as RateLimited  # raised when a sign-in asks too often
from harken.cookies import same_token as same_token  # for the pages' forms
from harken.subjects import service as subject_service
from harken.subjects import tokens
from harken.subjects.models import Subject, Token

DOMAIN = Domain(session=b"centre-session", csrf="anonymous-csrf")  # its cookies' and anonymous forms' keys
LINK_LIFETIME = timedelta(minutes=15)
RATE_WINDOW = timedelta(minutes=15)
LINKS_PER_EMAIL = 5
LINKS_PER_IP = 20


def request_link(
    session: Session, *, secret: bytes, email: str, ip: str, next_path: str, now: datetime
) -> str | None:
    """Record a request for a sign-in link. Returns the token to mail when someone goes by the address —
    a person who proved it before, or a customer some business says has it — None when no one does;
    the caller answers both alike. RateLimited past the limits. Following the link proves control of
    the address: that, never a business's word, makes a verified person."""
    email_digest, ip_digest = tokens.email_digest(secret, email), keyed(secret, "ip", ip)
    since = now - RATE_WINDOW
    for column, value, limit in (
        (SignInLink.email_digest, email_digest, LINKS_PER_EMAIL),
        (SignInLink.ip_digest, ip_digest, LINKS_PER_IP),
    ):
        recent = select(func.count(), func.min(SignInLink.requested_at)).where(
            column == value, SignInLink.requested_at > since
        )
        count, oldest = session.execute(recent).one()
        if count >= limit:
            raise RateLimited(oldest + RATE_WINDOW - now)
    subject_id = session.execute(
        select(Subject.id).where(Subject.email_digest == email_digest, Subject.erased_at.is_(None))
    ).scalar_one_or_none()
    token = secrets.token_urlsafe(32) if subject_service.is_claimed(session, email_digest) else None
    session.add(
        SignInLink(
            id=uuid.uuid4(),
            token_sha256=sha256(token) if token else None,
            subject_id=subject_id,
            email_digest=email_digest,
            ip_digest=ip_digest,
            next_path=next_path,
            requested_at=now,
            expires_at=now + LINK_LIFETIME,
        )
    )
    session.flush()
    return token


def _usable(token: str, now: datetime) -> list[ColumnElement[bool]]:
    return [
        SignInLink.token_sha256 == sha256(token),
        SignInLink.used_at.is_(None),
        SignInLink.expires_at > now,
    ]


def peek_link(session: Session, token: str, now: datetime) -> SignInLink | None:
    """The link if it can still be used (without using it)."""
    return session.execute(select(SignInLink).where(*_usable(token, now))).scalar_one_or_none()


def use_link(session: Session, token: str, now: datetime) -> SignInLink | None:
    """Use the link once: of two racing uses, exactly one gets it."""
    used = session.execute(update(SignInLink).where(*_usable(token, now)).values(used_at=now))
    if used.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.execute(select(SignInLink).where(SignInLink.token_sha256 == sha256(token))).scalar_one()


class Started(NamedTuple):
    cookie: str
    session: CentreSession


def start_session(
    session: Session,
    *,
    secret: bytes,
    subject_id: uuid.UUID,
    org_id: uuid.UUID | None,
    lifetime: timedelta,
    now: datetime,
    token: Token | None = None,
) -> Started:
    """A new session; opened from a token, it ends when the token does (or is revoked)."""
    sid = secrets.token_urlsafe(32)
    expires_at = now + lifetime if token is None else min(now + lifetime, token.expires_at)
    row = CentreSession(
        id_sha256=sha256(sid),
        subject_id=subject_id,
        org_id=org_id,
        token_id=token.id if token else None,
        csrf=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return Started(DOMAIN.cookie(secret, sid), row)


def find_session(session: Session, *, secret: bytes, cookie: str, now: datetime) -> CentreSession | None:
    """The live session a cookie names; None for a forged, ended or expired one."""
    sid = DOMAIN.sid(secret, cookie)
    if sid is None:
        return None
    row = session.get(CentreSession, sha256(sid))
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    if row.token_id is not None:  # opened from a customer token: no longer than the token lives
        token = session.get(Token, row.token_id)
        if token is None or token.revoked_at is not None or token.expires_at <= now:
            return None
    return row


def end_session(session: Session, *, secret: bytes, cookie: str, now: datetime) -> None:
    sid = DOMAIN.sid(secret, cookie)
    if sid is not None:
        session.execute(
            update(CentreSession)
            .where(CentreSession.id_sha256 == sha256(sid), CentreSession.ended_at.is_(None))
            .values(ended_at=now)
        )


def anonymous_csrf(secret: bytes, browser: str) -> str:
    """The CSRF token of a form shown before sign-in, bound to the browser's own random cookie."""
    return DOMAIN.anonymous_csrf(secret, browser)
