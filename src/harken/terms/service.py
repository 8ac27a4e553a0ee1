"""MyTerms, the flow (IEEE 7012-2025): the person proffers an agreement of the roster to the businesses
they linked; each business accepts it, offers one alternative from the roster, or declines; the person
may withdraw a proffer at any time. The hub signs the person's side when they proffer (its key, as it
signs consent receipts); the business's answer is its authenticated call, recorded with the key that
made it (`harken.terms.answers`, the business's side). Every change is an entry on the business's ledger
chain and a `terms.updated` webhook to it (`harken.terms.changes`), so both sides can retrieve, audit or
dispute the record later; both fetch the same signed record (`record`).

Accepted terms bind the business's decisions (decisions.readmodel reads `in_force`), keep the person's
decisions out of its training data when they forbid AI training (`untrainable`), and a business that
declined the person's terms may not be shared with (`declined`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from harken.clock import rfc3339
from harken.errors import Invalid, NotFound
from harken.ledger.models import LedgerEntry
from harken.ledger.service import Notary
from harken.orgs.models import Org
from harken.subjects.models import Subject, SubjectRef
from harken.subjects.viewer import Viewer
from harken.terms import changes, roster
from harken.terms import record as signed
from harken.terms.models import ACCEPTED, ALTERNATIVE, DECLINED, PROFFERED, WITHDRAWN, TermsProffer
from harken.terms.schemas import AgreementRead, ProfferRead


def agreement(agreement_id: str, field: str = "agreement") -> roster.Agreement:
    found = roster.find(agreement_id)
    if found is None:
        raise Invalid(field, f"no agreement {agreement_id!r} on the roster (GET /.well-known/myterms)")
    return found


def read(found: roster.Agreement) -> AgreementRead:
    return AgreementRead.model_validate(found.as_json())


# ---- the person's side ---------------------------------------------------------------------------


def linked(session: Session, viewer: Viewer) -> list[tuple[Org, str, uuid.UUID]]:
    """The businesses the viewer may proffer to or see terms with: (org, its ref, its subject), one per
    org — every business the verified person linked, or the window's own business."""
    query = (
        select(Org, SubjectRef.ref, SubjectRef.subject_id)
        .join(SubjectRef, SubjectRef.org_id == Org.id)
        .join(Subject, Subject.id == SubjectRef.subject_id)
        .where(SubjectRef.subject_id.in_(viewer.subject_ids), Subject.erased_at.is_(None))
        .order_by(Org.name, SubjectRef.ref)
    )
    if viewer.org_id is not None:
        query = query.where(Org.id == viewer.org_id)
    found: dict[uuid.UUID, tuple[Org, str, uuid.UUID]] = {}
    for org, ref, subject_id in session.execute(query):
        found.setdefault(org.id, (org, ref, subject_id))
    return list(found.values())


def proffer(
    session: Session,
    viewer: Viewer,
    *,
    agreement_id: str,
    org_ids: Sequence[uuid.UUID] | None,
    notary: Notary,
    issuer: str,
    now: datetime,
) -> list[TermsProffer]:
    """Proffer the agreement to each of `org_ids` (None: every business the person linked). A business
    that already has this agreement before it (not withdrawn) keeps that proffer: proffering twice is once.
    Proffering the alternative a business offered is taking it up: agreed at once, on its earlier answer."""
    chosen = agreement(agreement_id)
    businesses = linked(session, viewer)
    if org_ids is not None:
        if not org_ids:
            raise Invalid("orgs", "name at least one business, or leave `orgs` out to proffer to all")
        known = {org.id for org, _, _ in businesses}
        for i, org_id in enumerate(org_ids):
            if org_id not in known:
                raise Invalid(f"orgs[{i}]", "not a business you linked (GET /v1/me/directory)")
        businesses = [b for b in businesses if b[0].id in set(org_ids)]
    if not businesses:
        raise Invalid("orgs", "you have not linked any business yet")
    made = []
    for org, ref, subject_id in businesses:
        existing = session.execute(
            select(TermsProffer).where(
                TermsProffer.org_id == org.id,
                TermsProffer.subject_id == subject_id,
                TermsProffer.agreement == chosen.id,
                TermsProffer.state != WITHDRAWN,
            )
        ).scalar_one_or_none()
        if existing is not None:
            made.append(existing)
            continue
        offered = _offered(session, org.id, subject_id, chosen.id)
        row = TermsProffer(
            id=uuid.uuid4(),
            org_id=org.id,
            subject_id=subject_id,
            ref=ref,
            agreement=chosen.id,
            version=chosen.version,
            text_sha256=chosen.text_sha256,
            state=PROFFERED,
            alternative=None,
            alternative_version=None,
            proffered_at=now,
            answered_at=None,
            answered_by=None,
            withdrawn_at=None,
            chain=org.chain,
            seq=0,
        )
        row.proffer_jws = signed.sign(
            _proffer_document(row, org, chosen, issuer), notary.keys, signed.PROFFER_TYP
        )
        changes.enter(session, notary, row, now)
        if offered is not None:  # the business offered this one itself: its answer stands, agreed
            row.state, row.answered_at, row.answered_by = ACCEPTED, now, offered.answered_by
            changes.enter(session, notary, row, now)
        session.add(row)
        changes.announce(session, row, now)
        made.append(row)
    session.flush()
    return made


def _offered(
    session: Session, org_id: uuid.UUID, subject_id: uuid.UUID, agreement_id: str
) -> TermsProffer | None:
    """The business's answer to an earlier proffer of this person's that offered `agreement_id` instead."""
    return (
        session.execute(
            select(TermsProffer)
            .where(
                TermsProffer.org_id == org_id,
                TermsProffer.subject_id == subject_id,
                TermsProffer.state == ALTERNATIVE,
                TermsProffer.alternative == agreement_id,
            )
            .order_by(TermsProffer.answered_at.desc())
            .limit(1)
        )
        .scalars()
        .first()
    )


def withdraw(
    session: Session, viewer: Viewer, proffer_id: uuid.UUID, *, notary: Notary, now: datetime
) -> None:
    """End the proffer, answered or not: accepted terms stop binding the business from the next decision.
    Withdrawing twice is once."""
    row = mine(session, viewer, proffer_id)
    if row.state == WITHDRAWN:
        return
    row.state, row.withdrawn_at = WITHDRAWN, now
    changes.enter(session, notary, row, now)
    changes.announce(session, row, now)
    session.flush()


def mine(session: Session, viewer: Viewer, proffer_id: uuid.UUID) -> TermsProffer:
    """One of the viewer's proffers (through a business's app: one made to that business); NotFound
    for anyone else's, as for one that does not exist."""
    row = session.get(TermsProffer, proffer_id)
    if row is None or row.subject_id not in viewer.subject_ids or viewer.org_id not in (None, row.org_id):
        raise NotFound(f"no proffer {proffer_id}")
    return row


def proffers_of(session: Session, viewer: Viewer) -> list[TermsProffer]:
    """The viewer's proffers, newest first (through a business's app: those to that business)."""
    query = (
        select(TermsProffer)
        .where(TermsProffer.subject_id.in_(viewer.subject_ids))
        .order_by(TermsProffer.proffered_at.desc(), TermsProffer.id)
    )
    if viewer.org_id is not None:
        query = query.where(TermsProffer.org_id == viewer.org_id)
    return list(session.execute(query).scalars())


# ---- what the terms bind ---------------------------------------------------------------------------


def in_force(session: Session, *, org_id: uuid.UUID, subject_id: uuid.UUID) -> list[roster.Agreement]:
    """The agreements the business accepted from this person and the person has not withdrawn."""
    rows = session.execute(
        select(TermsProffer.agreement).where(
            TermsProffer.org_id == org_id,
            TermsProffer.subject_id == subject_id,
            TermsProffer.state == ACCEPTED,
        )
    ).scalars()
    return sorted((a for a in (roster.find(i) for i in rows) if a is not None), key=lambda a: a.id)


NO_TRAINING = tuple(a.id for a in roster.AGREEMENTS.values() if not a.terms.ai_training)


def untrainable(org_id: uuid.UUID) -> Select[uuid.UUID]:
    """The org's subjects whose accepted terms forbid training AI on their data (a subquery)."""
    return select(TermsProffer.subject_id).where(
        TermsProffer.org_id == org_id, TermsProffer.state == ACCEPTED, TermsProffer.agreement.in_(NO_TRAINING)
    )


def declined(session: Session, *, org_id: uuid.UUID, subject_ids: Sequence[uuid.UUID]) -> list[str]:
    """The agreements of this person's that the business declined (and the person has not withdrawn)."""
    return list(
        session.execute(
            select(TermsProffer.agreement)
            .where(
                TermsProffer.org_id == org_id,
                TermsProffer.subject_id.in_(subject_ids),
                TermsProffer.state == DECLINED,
            )
            .order_by(TermsProffer.agreement)
        ).scalars()
    )


# ---- records -------------------------------------------------------------------------------------


def shown(session: Session, rows: Sequence[TermsProffer]) -> list[ProfferRead]:
    names = dict(session.execute(select(Org.id, Org.name).where(Org.id.in_({r.org_id for r in rows}))).all())
    return [
        ProfferRead(
            id=r.id,
            org=r.org_id,
            org_name=names[r.org_id],
            ref=r.ref,
            agreement=r.agreement,
            version=r.version,
            title=_title(r.agreement),
            state=r.state,
            alternative=r.alternative,
            alternative_version=r.alternative_version,
            proffered_at=r.proffered_at,
            answered_at=r.answered_at,
            withdrawn_at=r.withdrawn_at,
        )
        for r in rows
    ]


def record(session: Session, row: TermsProffer, *, issuer: str) -> dict[str, Any]:
    """The agreement record both sides fetch: the agreement as proffered, the person's side as the hub
    signed it, the business's answer and the key that gave it, and the ledger entry of the last change."""
    org = session.get_one(Org, row.org_id)
    entry = session.get_one(LedgerEntry, (row.chain, row.seq))
    chosen = roster.find(row.agreement)
    other = roster.find(row.alternative) if row.alternative else None
    return {
        "type": "myterms-agreement",
        "standard": "IEEE 7012-2025",
        "issuer": issuer.rstrip("/"),
        "id": str(row.id),
        "agreement": {
            "id": row.agreement,
            "version": row.version,
            "title": chosen.title if chosen else row.agreement,
            "text_sha256": row.text_sha256,
            "terms": chosen.terms.as_json() if chosen else None,
        },
        "person": {"ref": row.ref, "proffered_at": rfc3339(row.proffered_at), "proffer_jws": row.proffer_jws},
        "business": {
            "id": str(org.id),
            "name": org.name,
            "answered_at": rfc3339(row.answered_at) if row.answered_at else None,
            "answered_by_key": str(row.answered_by) if row.answered_by else None,
        },
        "state": row.state,
        "alternative": other.as_json() if other else None,
        "withdrawn_at": rfc3339(row.withdrawn_at) if row.withdrawn_at else None,
        "ledger": {
            "chain": entry.chain,
            "seq": entry.seq,
            "hash": entry.hash,
            "prev_hash": entry.prev_hash,
            "entry": entry.body,
        },
    }


def signed_record(session: Session, row: TermsProffer, *, issuer: str, notary: Notary) -> dict[str, Any]:
    document = record(session, row, issuer=issuer)
    return {"record": document, "jws": signed.sign(document, notary.keys)}


def _proffer_document(row: TermsProffer, org: Org, chosen: roster.Agreement, issuer: str) -> dict[str, Any]:
    """The person's side, as the hub signs it for them when they proffer."""
    return {
        "type": "myterms-proffer",
        "issuer": issuer.rstrip("/"),
        "id": str(row.id),
        "agreement": {"id": chosen.id, "version": chosen.version, "text_sha256": chosen.text_sha256},
        "business": {"id": str(org.id), "name": org.name},
        "person": {"ref": row.ref},
        "proffered_at": rfc3339(row.proffered_at),
    }


def _title(agreement_id: str) -> str:
    found = roster.find(agreement_id)
    return found.title if found else agreement_id
