"""Signing in to the console: magic links mailed to a staff member, sessions, CSRF tokens, rate limits.

As in the Preference Centre (harken.centre.signin): a link is single-use and valid for 15 minutes and
only its sha256 is stored; a session cookie holds a random id and an HMAC of it under the hub's secret,
only the id's sha256 is stored; every sign-in starts a new session. The console keeps its own tables,
cookie (scoped to /console) and limits, so neither sign-in can open or exhaust the other.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from harken.console.models import Staff, StaffLink, StaffSession
from harken.cookies import Domain, keyed, sha256
from harken.cookies import RateLimited as RateLimited  # raised when a sign-in asks too often
from harken.cookies import same_token as same_token  # for the pages' forms

# Its cookies' and anonymous forms' keys: none of the centre's opens the console.
DOMAIN = Domain(session=b"console-session", csrf="console-anonymous-csrf")
LINK_LIFETIME = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=8)  # a working day
RATE_WINDOW = timedelta(minutes=15)
LINKS_PER_EMAIL = 5
LINKS_PER_IP = 20


def request_links(
    session: Session, *, secret: bytes, email: str, ip: str, now: datetime
) -> list[tuple[Staff, str]]:
    """Record a request for sign-in links: one token per org whose live staff has the address (none for
    an address that is no one's; the caller answers both alike). RateLimited past the limits."""
    email_digest, ip_digest = keyed(secret, "console-email", email.strip().lower()), keyed(secret, "ip", ip)
    since = now - RATE_WINDOW
    for column, value, limit in (
        (StaffLink.email_digest, email_digest, LINKS_PER_EMAIL),
        (StaffLink.ip_digest, ip_digest, LINKS_PER_IP),
    ):
        count, oldest = session.execute(
            select(func.count(), func.min(StaffLink.requested_at)).where(
                column == value, StaffLink.requested_at > since
            )
        ).one()
        if count >= limit:
            raise RateLimited(oldest + RATE_WINDOW - now)
    staff = session.execute(
        select(Staff).where(Staff.email == email.strip().lower(), Staff.disabled_at.is_(None))
    ).scalars()
    issued = [(member, secrets.token_urlsafe(32)) for member in staff]
    requests: list[tuple[Staff | None, str | None]] = list(issued) or [(None, None)]
    for member, token in requests:
        session.add(
            StaffLink(
                id=uuid.uuid4(),
                token_sha256=sha256(token) if token else None,
                staff_id=member.id if member else None,
                email_digest=email_digest,
                ip_digest=ip_digest,
                requested_at=now,
                expires_at=now + LINK_LIFETIME,
            )
        )
    session.flush()
    return issued


def _usable(token: str, now: datetime) -> list[ColumnElement[bool]]:
    return [StaffLink.token_sha256 == sha256(token), StaffLink.used_at.is_(None), StaffLink.expires_at > now]


def peek_link(session: Session, token: str, now: datetime) -> Staff | None:
    """The live staff member a still-usable link signs in (without using it)."""
    link = session.execute(select(StaffLink).where(*_usable(token, now))).scalar_one_or_none()
    return _live(session, link.staff_id) if link and link.staff_id else None


def use_link(session: Session, token: str, now: datetime) -> Staff | None:
    """Use the link once (of two racing uses, exactly one gets it): the live staff member it signs in."""
    used = session.execute(update(StaffLink).where(*_usable(token, now)).values(used_at=now))
    if used.rowcount != 1:  # type: ignore[attr-defined]
        return None
    link = session.execute(select(StaffLink).where(StaffLink.token_sha256 == sha256(token))).scalar_one()
    return _live(session, link.staff_id) if link.staff_id else None


def _live(session: Session, staff_id: uuid.UUID) -> Staff | None:
    found = session.get(Staff, staff_id)
    return found if found is not None and found.disabled_at is None else None


class Started(NamedTuple):
    cookie: str
    session: StaffSession


def start_session(session: Session, *, secret: bytes, staff: Staff, now: datetime) -> Started:
    sid = secrets.token_urlsafe(32)
    row = StaffSession(
        id_sha256=sha256(sid),
        staff_id=staff.id,
        csrf=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
    )
    session.add(row)
    session.flush()
    return Started(DOMAIN.cookie(secret, sid), row)


def find_session(
    session: Session, *, secret: bytes, cookie: str, now: datetime
) -> tuple[StaffSession, Staff] | None:
    """The live session a cookie names and its staff member; None for a forged, ended or expired one, or
    once the staff member was removed."""
    sid = DOMAIN.sid(secret, cookie)
    if sid is None:
        return None
    row = session.get(StaffSession, sha256(sid))
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    staff = _live(session, row.staff_id)
    return (row, staff) if staff else None


def end_session(session: Session, *, secret: bytes, cookie: str, now: datetime) -> None:
    sid = DOMAIN.sid(secret, cookie)
    if sid is not None:
        session.execute(
            update(StaffSession)
            .where(StaffSession.id_sha256 == sha256(sid), StaffSession.ended_at.is_(None))
            .values(ended_at=now)
        )


def anonymous_csrf(secret: bytes, browser: str) -> str:
    """The CSRF token of a form shown before sign-in, bound to the browser's own random cookie."""
    return DOMAIN.anonymous_csrf(secret, browser)
