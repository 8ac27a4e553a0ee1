"""Whose data a call or a page may see and change: one window onto a person."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from harken.authority import Authority, Power, Tier
from harken.context.models import CENTRE
from harken.subjects import service


@dataclass(frozen=True)
class Viewer:
    """The whole person (`org_id` None: a verified person, signed in by email, and every subject linked
    to them), or one org's customer seen through that org's window (a customer token, or the org
    answering its customer's request)."""

    subject_id: uuid.UUID  # the verified person, or the org's customer
    org_id: uuid.UUID | None
    csrf: str = ""
    subject_ids: tuple[uuid.UUID, ...] = ()  # the person: every subject they are; the window's one
    # Through an agent's grant (`harken.grants`): the name the person gave it, and the businesses the
    # grant is limited to (None: all the person linked).
    orgs: tuple[uuid.UUID, ...] | None = None
    agent: str | None = None

    def __post_init__(self) -> None:
        if not self.subject_ids:
            object.__setattr__(self, "subject_ids", (self.subject_id,))

    @property
    def tier(self) -> Tier:
        return Tier.person if self.org_id is None else Tier.customer

    def require(self, power: Power) -> None:
        """Forbidden unless this window may do `power` (a customer token's window may not share, make
        shares or credentials, or link businesses: only the verified person may)."""
        Authority(self.tier).require(power)

    @property
    def source(self) -> str:
        """Whom what the customer declares here is told to: the centre (the person), or the org."""
        return CENTRE if self.org_id is None else str(self.org_id)


def viewer(session: Session, subject_id: uuid.UUID, org_id: uuid.UUID | None, csrf: str = "") -> Viewer:
    people = service.person(session, subject_id) if org_id is None else (subject_id,)
    return Viewer(subject_id, org_id, csrf, people)
