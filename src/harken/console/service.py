"""Staff accounts (who may sign in to an org's console, and as what), and the console's entries in the
org's ledger chain: every change made from the console names the staff member who made it."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harken.console.models import Staff
from harken.decisions.models import DecisionLog, Offer
from harken.errors import Invalid, NotFound
from harken.ledger import chain
from harken.ledger import service as ledger_service
from harken.ledger.keys import KeyRing
from harken.ledger.models import LedgerHead
from harken.ledger.service import Notary
from harken.orgs.models import Org
from harken.webhooks.models import Attempt, Delivery, OutboxEvent

ROLES = ("admin", "viewer")
Role = Literal["admin", "viewer"]
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def actor(staff: Staff) -> str:
    """How the ledger names a staff member: by id, never by address (the ledger is never erased)."""
    return f"staff:{staff.id}"


def add(
    session: Session, *, org: Org, email: str, role: str, by: str, notary: Notary, now: datetime
) -> Staff:
    """A new staff member of `org` (`staff.added` in its chain, `by` the operator or a staff member). An
    address that was removed before is given back its account, with the new role."""
    email = email.strip().lower()
    if len(email) > 254 or not EMAIL.match(email):
        raise Invalid("email", "an email address like name@example.com")
    if role not in ROLES:
        raise Invalid("role", "admin or viewer")
    found = session.execute(
        select(Staff).where(Staff.org_id == org.id, Staff.email == email)
    ).scalar_one_or_none()
    if found is not None and found.disabled_at is None:
        raise Invalid("email", f"{email} is on {org.name}'s staff already")
    if found is None:
        found = Staff(id=uuid.uuid4(), org_id=org.id, email=email, role=role, created_at=now)
        session.add(found)
    else:
        found.role, found.disabled_at = role, None
    session.flush()
    record(session, notary=notary, org=org, type="staff.added", by=by, at=now, staff=str(found.id), role=role)
    return found


def listed(session: Session, *, org: Org, include_disabled: bool = False) -> list[Staff]:
    query = select(Staff).where(Staff.org_id == org.id)
    if not include_disabled:
        query = query.where(Staff.disabled_at.is_(None))
    return list(session.execute(query.order_by(Staff.email)).scalars())


def member(session: Session, *, org: Org, staff_id: uuid.UUID) -> Staff:
    """The org's (live) staff member; NotFound for an unknown id or another org's."""
    found = session.get(Staff, staff_id)
    if found is None or found.org_id != org.id or found.disabled_at is not None:
        raise NotFound("no such staff member")
    return found


def by_email(session: Session, *, org: Org, email: str) -> Staff:
    found = session.execute(
        select(Staff).where(
            Staff.org_id == org.id, Staff.email == email.strip().lower(), Staff.disabled_at.is_(None)
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"{email} is not on {org.name}'s staff")
    return found


def remove(session: Session, *, org: Org, staff: Staff, by: str, notary: Notary, now: datetime) -> None:
    """Disable the account (its sessions stop at once: `signin.find_session` reads it). The org's last
    admin is kept: without one, only the operator could let anyone change anything again."""
    if staff.role == "admin" and _admins(session, org) <= 1:
        raise Invalid("staff", "the org's last admin cannot be removed: add another admin first")
    staff.disabled_at = now
    record(session, notary=notary, org=org, type="staff.removed", by=by, at=now, staff=str(staff.id))


def _admins(session: Session, org: Org) -> int:
    count = select(func.count()).where(
        Staff.org_id == org.id, Staff.role == "admin", Staff.disabled_at.is_(None)
    )
    return int(session.execute(count).scalar_one())


def record(
    session: Session, *, notary: Notary, org: Org, type: str, by: str, at: datetime, **data: Any
) -> None:
    """A console change in the org's chain, in the caller's transaction: `by` is `operator` or a staff
    member's `actor`."""
    ledger_service.append(
        session, notary=notary, chain_id=org.chain, type=type, at=at, data={"by": by, **data}
    )


def retire_offer(session: Session, *, offer: Offer) -> dict[str, Any]:
    """Take an offer out of its org's catalogue: decisions can no longer name it (the catalogue's change
    counter moves, so no process keeps using it), while past decisions and feedback keep its id. Returns
    what it was, for the ledger entry that records the retirement."""
    spec = dict(offer.spec)
    session.delete(offer)
    session.flush()
    return spec


def decisions_asked(session: Session, *, org: Org, ref: str, limit: int) -> list[DecisionLog]:
    """The decisions the org asked about its customer `ref`, newest first, as they were answered."""
    query = (
        select(DecisionLog)
        .where(DecisionLog.org_id == org.id, DecisionLog.ref == ref)
        .order_by(DecisionLog.decided_at.desc(), DecisionLog.id)
        .limit(limit)
    )
    return list(session.execute(query).scalars())


# ---- integrations ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Health:
    """How an endpoint's recent deliveries went: a success rate over those that finished (delivered or
    given up), what is still pending, and the latest failed attempts (newest first)."""

    deliveries: int
    delivered: int
    failed: int
    pending: int
    failures: list[tuple[Delivery, OutboxEvent, Attempt]]

    @property
    def success_rate(self) -> float | None:
        finished = self.delivered + self.failed
        return self.delivered / finished if finished else None


def health(rows: list[tuple[Delivery, OutboxEvent, list[Attempt]]], *, failures: int = 5) -> Health:
    """`rows` as webhooks.service.deliveries gives them, for one endpoint."""
    statuses = [delivery.status for delivery, _, _ in rows]
    failed_attempts = [
        (delivery, event, attempt)
        for delivery, event, attempts in rows
        for attempt in attempts
        if attempt.error is not None or not (attempt.status_code and 200 <= attempt.status_code < 300)
    ]
    failed_attempts.sort(key=lambda row: row[2].attempted_at, reverse=True)
    return Health(
        deliveries=len(rows),
        delivered=statuses.count("delivered"),
        failed=statuses.count("dead") + statuses.count("disabled"),
        pending=statuses.count("pending"),
        failures=failed_attempts[:failures],
    )


def last_checkpoint(session: Session, *, org: Org) -> dict[str, Any] | None:
    """The org chain's latest signed head, as the `ledger.checkpoint` webhook delivers it."""
    found = ledger_service.heads(session, org_id=org.id, chain_id=org.chain)
    return found[0] if found else None


def head(session: Session, *, org: Org) -> tuple[int, str]:
    found = session.get(LedgerHead, org.chain)
    return (found.seq, found.hash) if found else (0, chain.GENESIS)


def verify(session: Session, *, org: Org, keys: KeyRing, every: int) -> chain.ChainReport:
    """Walk the org's own chain (no other org's) from its first entry to its head, checking each link,
    each signed checkpoint, and that one was signed every `every` entries."""
    return chain.verify_chain(
        org.chain,
        ledger_service.entries(session, org.chain),
        checkpoints=ledger_service.checkpoints(session, org.chain),
        keys=keys.public,
        head=head(session, org=org),
        every=every,
    )
