"""MyTerms, the business's side: what its customers proffered to it, its answer to each (accept, offer
one alternative from the roster, or decline), and which agreements of the roster it says it accepts.
The person's side, and what accepted terms bind, are `harken.terms.service`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.errors import HarkenError, Invalid, NotFound
from harken.ledger.service import Notary
from harken.orgs.models import ApiKey, Org
from harken.terms import changes, roster, service
from harken.terms.models import ACCEPTED, ALTERNATIVE, DECLINED, WITHDRAWN, TermsProffer, TermsPublished


class Answered(HarkenError):
    """The proffer cannot take this answer any more: the business accepted it, or the person withdrew it."""

    status_code, slug, title = 409, "terms-answered", "The proffer was already settled"


def proffers_to(session: Session, org: Org, *, state: str | None = None) -> list[TermsProffer]:
    query = (
        select(TermsProffer)
        .where(TermsProffer.org_id == org.id)
        .order_by(TermsProffer.proffered_at.desc(), TermsProffer.id)
    )
    if state is not None:
        query = query.where(TermsProffer.state == state)
    return list(session.execute(query).scalars())


def proffer_to(session: Session, org: Org, proffer_id: uuid.UUID) -> TermsProffer:
    row = session.get(TermsProffer, proffer_id)
    if row is None or row.org_id != org.id:
        raise NotFound(f"no proffer {proffer_id}")
    return row


def answer(
    session: Session,
    org: Org,
    proffer_id: uuid.UUID,
    *,
    state: str,
    key_hash: str | None,
    notary: Notary,
    now: datetime,
    alternative: str | None = None,
) -> TermsProffer:
    """The business accepts the proffer, offers one alternative from the roster, or declines it. Until
    it accepts it may change its answer; once accepted only the person ends the agreement."""
    assert state in (ACCEPTED, ALTERNATIVE, DECLINED)
    row = proffer_to(session, org, proffer_id)
    if row.state in (ACCEPTED, WITHDRAWN):
        raise Answered(f"proffer {proffer_id} was {row.state}: it takes no answer any more")
    row.alternative = row.alternative_version = None
    if state == ALTERNATIVE:
        assert alternative is not None
        other = service.agreement(alternative)
        if other.id == row.agreement:
            raise Invalid("agreement", "offer another agreement than the one proffered, or accept it")
        row.alternative, row.alternative_version = other.id, other.version
    row.state, row.answered_at = state, now
    row.answered_by = (
        session.execute(select(ApiKey.id).where(ApiKey.key_hash == key_hash)).scalar() if key_hash else None
    )
    changes.enter(session, notary, row, now)
    changes.announce(session, row, now)
    session.flush()
    return row


def publish(
    session: Session, org: Org, agreement_ids: Sequence[str], *, now: datetime
) -> list[roster.Agreement]:
    """Say which agreements of the roster the org accepts (the whole list: the others are taken back)."""
    chosen = [service.agreement(a, f"agreements[{i}]") for i, a in enumerate(agreement_ids)]
    held = {
        p.agreement: p
        for p in session.execute(select(TermsPublished).where(TermsPublished.org_id == org.id)).scalars()
    }
    for gone in set(held) - {a.id for a in chosen}:
        session.delete(held[gone])
    for a in chosen:
        if a.id in held:
            held[a.id].version = a.version
        else:
            session.add(TermsPublished(org_id=org.id, agreement=a.id, version=a.version, published_at=now))
    session.flush()
    return published(session, org.id)


def published(session: Session, org_id: uuid.UUID) -> list[roster.Agreement]:
    ids = session.execute(
        select(TermsPublished.agreement)
        .where(TermsPublished.org_id == org_id)
        .order_by(TermsPublished.agreement)
    ).scalars()
    return [a for a in (roster.find(i) for i in ids) if a is not None]
