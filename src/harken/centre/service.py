"""What the centre and `/v1/me` show and do, for one customer (a `Viewer`).

Signed in by email, the viewer is the verified person: every business they linked, everything held
about them, and what they declare here has the source `centre`. Opened from an org's app (a customer
token), the viewer sees that org's window only, and what they declare goes through that org.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from harken import erasure
from harken.authority import Power
from harken.centre.models import ErasureRequest
from harken.consent import proof
from harken.consent import service as consent_service
from harken.consent.models import ConsentRecord, Notice
from harken.consent.purposes import CATALOGUE, LegalBasis
from harken.consent.schemas import Channel, ConsentPut, Method, Status
from harken.context import service as context_service
from harken.context.models import CENTRE, Sharing
from harken.context.schemas import Provenance
from harken.context.service import Change, StoredFact
from harken.decisions import service as decision_service
from harken.decisions.models import DecisionLog
from harken.errors import NotFound
from harken.ledger import service as ledger_service
from harken.ledger.service import Notary
from harken.orgs.models import Org
from harken.shares import service as shares_service
from harken.shares.models import ShareUse
from harken.subjects import service as subject_service
from harken.subjects.models import SubjectRef
from harken.subjects.viewer import Viewer

CENTRE_CHAIN = "centre"  # the ledger chain of what customers declare in the centre itself
RECENT_ASKS = 5


@dataclass(frozen=True)
class Business:
    org: Org
    ref: str
    subject_id: uuid.UUID  # the person as this org knows them: its records are kept under it


def businesses(session: Session, viewer: Viewer) -> list[Business]:
    """The orgs this person deals with — those they linked, for the verified person; the window's org
    otherwise — by name (one per org: a person with two accounts at one org sees the first)."""
    query = (
        select(Org, SubjectRef.ref, SubjectRef.subject_id)
        .join(SubjectRef, SubjectRef.org_id == Org.id)
        .where(SubjectRef.subject_id.in_(viewer.subject_ids))
        .order_by(Org.name, SubjectRef.ref)
    )
    if viewer.org_id is not None:
        query = query.where(Org.id == viewer.org_id)
    if viewer.orgs is not None:  # an agent's grant limited to some businesses
        query = query.where(Org.id.in_(viewer.orgs))
    found: dict[uuid.UUID, Business] = {}
    for org, ref, subject_id in session.execute(query):
        found.setdefault(org.id, Business(org, ref, subject_id))
    return list(found.values())


def business(session: Session, viewer: Viewer, org_id: uuid.UUID) -> Business:
    """One of the viewer's businesses; NotFound for any other org, whether it exists or not."""
    found = next((b for b in businesses(session, viewer) if b.org.id == org_id), None)
    if found is None:
        raise NotFound("no such business")
    return found


def facts(session: Session, viewer: Viewer, now: datetime) -> list[StoredFact]:
    """Everything in force about the viewer: all of it for the person, the org's window otherwise."""
    if viewer.org_id is not None:
        return context_service.visible(session, subject_id=viewer.subject_id, org_id=viewer.org_id, now=now)[
            0
        ]
    allowed = None if viewer.orgs is None else {str(org_id) for org_id in viewer.orgs}
    return [
        row
        for row in context_service.facts(session, subject_id=viewer.subject_id)
        if (row.valid_until is None or row.valid_until > now) and (allowed is None or row.source in allowed)
    ]


def declared(rows: list[StoredFact]) -> dict[str, StoredFact]:
    """The customer's own word per key: the newest declared datum wherever it was told."""
    newest: dict[str, StoredFact] = {}
    for row in rows:
        if row.provenance == Provenance.declared and (
            row.key not in newest or row.recorded_at > newest[row.key].recorded_at
        ):
            newest[row.key] = row
    return newest


def declare(session: Session, viewer: Viewer, changes: list[Change], notary: Notary, now: datetime) -> None:
    """What the customer says here. For the whole person a datum is one thing wherever it was told:
    the centre's copy is set and other declared copies of the same key are removed (each in its org's
    chain), so no business keeps an answer the customer has since changed."""
    via = "agent" if viewer.agent else None
    if viewer.org_id is not None:
        org = session.get_one(Org, viewer.org_id)
        _write(session, viewer.subject_id, str(org.id), org.chain, changes, notary, now)
        return
    if viewer.orgs is not None:  # an agent limited to some businesses tells each of them, no one else
        for found in businesses(session, viewer):
            _write(session, found.subject_id, str(found.org.id), found.org.chain, changes, notary, now, via)
        return
    _write(session, viewer.subject_id, CENTRE, CENTRE_CHAIN, changes, notary, now, via)
    keys = {c.key for c in changes}
    stale: dict[tuple[uuid.UUID, str], list[Change]] = {}
    for row in context_service.facts(session, subject_id=viewer.subject_id):
        if row.provenance == Provenance.declared and row.source != CENTRE and row.key in keys:
            assert row.subject_id is not None
            stale.setdefault((row.subject_id, row.source), []).append(Change(row.key, None))
    for (holder, source), removals in stale.items():
        org = session.get_one(Org, uuid.UUID(source))
        _write(session, holder, source, org.chain, removals, notary, now)


def _write(
    session: Session,
    subject_id: uuid.UUID,
    source: str,
    chain_id: str,
    changes: list[Change],
    notary: Notary,
    now: datetime,
    via: str | None = None,
) -> None:
    context_service.write(
        session,
        subject_id=subject_id,
        provenance=Provenance.declared,
        source=source,
        changes=changes,
        chain_id=chain_id,
        notary=notary,
        now=now,
        via=via,
    )


# ---- businesses ----------------------------------------------------------------------------------


@dataclass
class BusinessView:
    business: Business
    holds: list[StoredFact]
    granted: list[str]
    sharing: Sharing | None
    asked: list[DecisionLog] = field(default_factory=list)
    read: list[ShareUse] = field(default_factory=list)  # its reads of what the customer shared with it


def business_views(session: Session, viewer: Viewer, now: datetime) -> list[BusinessView]:
    views = []
    for found in businesses(session, viewer):
        rows, sharing = context_service.visible(
            session, subject_id=found.subject_id, org_id=found.org.id, now=now
        )
        granted = consent_service.granted(
            consent_service.in_force(session, org_id=found.org.id, subject_id=found.subject_id), now
        )
        # What it can read (as GET /v1/subjects/{ref} gives it), and what it recorded itself.
        readable = context_service.readable(rows, granted)
        own = str(found.org.id)
        rows = readable + [
            r for r in rows if r.source == own and r.provenance != Provenance.declared and r not in readable
        ]
        asked = [
            log
            for log, _ in decision_service.access_log(
                session, subject_ids=viewer.subject_ids, org_id=found.org.id, limit=RECENT_ASKS
            )
        ]
        read = [
            use
            for use, _, _ in shares_service.list_uses(
                session, subject_ids=viewer.subject_ids, org_id=found.org.id, limit=RECENT_ASKS
            )
        ]
        views.append(BusinessView(found, rows, granted, sharing, asked, read))
    return views


def set_sharing(
    session: Session,
    viewer: Viewer,
    org_id: uuid.UUID,
    *,
    profile: bool,
    purchases: bool,
    notary: Notary,
    now: datetime,
) -> None:
    viewer.require(Power.sharing)
    found = business(session, viewer, org_id)
    context_service.set_sharing(
        session,
        subject_id=found.subject_id,
        org_id=found.org.id,
        profile=profile,
        purchases=purchases,
        chain_id=found.org.chain,
        notary=notary,
        now=now,
    )


def answer_claim(
    session: Session,
    viewer: Viewer,
    org_id: uuid.UUID,
    ref: str,
    answer: str,
    *,
    notary: Notary,
    now: datetime,
) -> None:
    """The verified person answers a business's claim that its customer `ref` is them: `confirm` links
    it, `refuse` drops the claim, `unlink` takes a link back; in the org's ledger chain (by subject id,
    never the address). NotFound for a claim that is not this person's."""
    viewer.require(Power.links)
    step = {
        "confirm": subject_service.link,
        "refuse": subject_service.refuse,
        "unlink": subject_service.unlink,
    }
    found = step[answer](session, person_id=viewer.subject_id, org_id=org_id, ref=ref)
    if found is not None:
        org = session.get_one(Org, org_id)
        ledger_service.append(
            session,
            notary=notary,
            chain_id=org.chain,
            type=f"subject.{'linked' if answer == 'confirm' else 'unlinked'}",
            at=now,
            data={"subject": str(found.subject_id), "person": str(viewer.subject_id)},
        )


def directory(session: Session) -> list[tuple[uuid.UUID, str]]:
    """Every business on the hub, by name: whom the customer may share with (as GET /v1/me/directory)."""
    return [(i, n) for i, n in session.execute(select(Org.id, Org.name).order_by(Org.name))]


# ---- consents ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentView:
    purpose: str
    contract: bool
    record: ConsentRecord | None
    status: str | None
    notice: Notice | None  # the notice shown with the record, else the one a new decision would see


def consent_views(session: Session, viewer: Viewer, found: Business, now: datetime) -> list[ConsentView]:
    """Per purpose the org has a notice or a record for: where it stands and the exact notice text."""
    records = {
        c.purpose: c
        for c in consent_service.in_force(session, org_id=found.org.id, subject_id=found.subject_id)
    }
    notices = {
        n.purpose for n in session.execute(select(Notice).where(Notice.org_id == found.org.id)).scalars()
    }
    views = []
    for key, purpose in CATALOGUE.items():
        record = records.get(key)
        if record is None and key not in notices:
            continue
        shown = (
            consent_service.notice(session, org=found.org, purpose=key, version=record.notice_version)
            if record is not None and record.notice_version
            else consent_service.latest_notice(session, org=found.org, purpose=key)
        )
        views.append(
            ConsentView(
                key,
                purpose.legal_basis == LegalBasis.contract,
                record,
                str(consent_service.effective_status(record, now)) if record else None,
                shown,
            )
        )
    return views


def decide_consent(
    session: Session,
    viewer: Viewer,
    org_id: uuid.UUID,
    purpose: str,
    *,
    status: Status,
    channels: list[Channel],
    notary: Notary,
    now: datetime,
    via: str = "preference-centre",
) -> ConsentRecord:
    """Grant or withdraw from the centre (or `/v1/me`, `via` the person's app or agent): a consent record
    like any other, method preference-centre, against the notice the customer was shown (the org's
    latest)."""
    found = business(session, viewer, org_id)
    if purpose not in CATALOGUE:
        raise NotFound("no such purpose")
    shown = consent_service.latest_notice(session, org=found.org, purpose=purpose)
    change = ConsentPut(
        status=status,
        channels=channels,
        method=Method.preference_centre,
        notice_version=shown.version if shown else None,
        evidence={"via": via},
    )
    return consent_service.record(
        session, org=found.org, ref=found.ref, purpose=purpose, change=change, notary=notary, now=now
    ).record


def receipt(session: Session, viewer: Viewer, record_id: uuid.UUID, issuer: str) -> dict[str, Any]:
    """The receipt document of one of the viewer's own consent records; NotFound for anyone else's."""
    record = session.get(ConsentRecord, record_id)
    if record is None or record.subject_id not in viewer.subject_ids:
        raise NotFound("no such receipt")
    found = business(session, viewer, record.org_id)
    return proof.receipt_document(session, org=found.org, consent=record, ref=found.ref, issuer=issuer)


# ---- my data -------------------------------------------------------------------------------------


def erasure_requested(session: Session, viewer: Viewer) -> ErasureRequest | None:
    query = select(ErasureRequest).where(ErasureRequest.subject_id.in_(viewer.subject_ids))
    if viewer.org_id is not None:
        query = query.where((ErasureRequest.org_id == viewer.org_id) | ErasureRequest.org_id.is_(None))
    return session.execute(query.order_by(ErasureRequest.requested_at.desc()).limit(1)).scalar_one_or_none()


def request_erasure(session: Session, viewer: Viewer, *, notary: Notary, now: datetime) -> ErasureRequest:
    """Record the request. Signed in as the whole person, erase them now (`erasure.erase`). Through one
    business's window, stop all its marketing at once (every consent in force that is not needed for a
    contract is withdrawn, a record and receipt each) and leave the erasure to that business."""
    request = ErasureRequest(
        id=uuid.uuid4(), subject_id=viewer.subject_id, org_id=viewer.org_id, requested_at=now
    )
    session.add(request)
    session.flush()
    if viewer.org_id is None:
        erasure.erase_person(session, subject_id=viewer.subject_id, notary=notary, now=now)
        return request
    for found in businesses(session, viewer):
        for consent in consent_service.in_force(session, org_id=found.org.id, subject_id=found.subject_id):
            if (
                consent.status != Status.granted
                or CATALOGUE[consent.purpose].legal_basis == LegalBasis.contract
            ):
                continue
            consent_service.record(
                session,
                org=found.org,
                ref=found.ref,
                purpose=consent.purpose,
                change=ConsentPut(
                    status=Status.withdrawn,
                    channels=[Channel(c) for c in consent.channels],
                    method=Method.preference_centre,
                    evidence={"erasure_request": str(request.id)},
                ),
                notary=notary,
                now=now,
            )
    return request
