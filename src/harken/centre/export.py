"""Everything held about a customer, in one JSON document: what the centre's "My data" downloads, and
what `GET /v1/me/export` and `GET /v1/subjects/{ref}/export` answer for one business's window."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.centre.models import ErasureRequest
from harken.centre.service import businesses, facts, receipt
from harken.clock import rfc3339
from harken.consent import service as consent_service
from harken.consent.models import ConsentRecord
from harken.context.models import CENTRE, Event, Sharing
from harken.credentials import service as credentials_service
from harken.decisions import service as decision_service
from harken.ledger.keys import KeyRing
from harken.ledger.receipts import sign_receipt
from harken.profiling.models import QuestionAsk
from harken.shares import service as shares_service
from harken.subjects.viewer import Viewer
from harken.terms import record as terms_record
from harken.terms import service as terms_service


def document(
    session: Session, viewer: Viewer, now: datetime, *, issuer: str, keys: KeyRing
) -> dict[str, Any]:
    """Everything held about the viewer, in one JSON document: data with provenance and source, consent
    records with their signed receipts, events (each naming the decision it answers, if any, by that
    decision's `id` in the same document), the decisions asked, sharing, shares (with how often each
    business read them), credentials issued (what each carries, never the credential itself), questions
    asked, erasure requests, and the terms proffered (MyTerms) with each business's answer, as the signed
    record the business holds too."""
    receipts = {}
    for record_id in receipt_ids(session, viewer):
        document = receipt(session, viewer, record_id, issuer)
        receipts[str(record_id)] = {"receipt": document, "jws": sign_receipt(document, keys)}
    known = businesses(session, viewer)
    names = {str(b.org.id): b.org.name for b in known}
    org_ids = [b.org.id for b in known]
    rows = facts(session, viewer, now)
    records = session.execute(
        select(ConsentRecord)
        .where(ConsentRecord.subject_id.in_(viewer.subject_ids), ConsentRecord.org_id.in_(org_ids))
        .order_by(ConsentRecord.recorded_at)
    ).scalars()
    events = session.execute(
        select(Event)
        .where(Event.subject_id.in_(viewer.subject_ids), Event.org_id.in_(org_ids))
        .order_by(Event.occurred_at)
    ).scalars()
    asks = session.execute(
        select(QuestionAsk)
        .where(QuestionAsk.subject_id.in_(viewer.subject_ids), QuestionAsk.org_id.in_(org_ids))
        .order_by(QuestionAsk.asked_at)
    ).scalars()
    sharing = session.execute(
        select(Sharing).where(Sharing.subject_id.in_(viewer.subject_ids), Sharing.org_id.in_(org_ids))
    ).scalars()
    erasures = session.execute(
        select(ErasureRequest).where(ErasureRequest.subject_id.in_(viewer.subject_ids))
    ).scalars()
    decisions = [
        log
        for b in known
        for log, _ in decision_service.access_log(
            session,
            subject_ids=viewer.subject_ids,
            org_id=b.org.id,
            limit=None,  # every one, as for events
        )
    ]
    return {
        "exported_at": rfc3339(now),
        "scope": "everything" if viewer.org_id is None else names.get(str(viewer.org_id)),
        "businesses": [{"id": str(b.org.id), "name": b.org.name, "your_ref": b.ref} for b in known],
        "data": [
            {
                "field": r.key,
                "value": r.value,
                "provenance": r.provenance,
                "source": "centre" if r.source == CENTRE else names.get(r.source, r.source),
                "recorded_at": rfc3339(r.recorded_at),
                "valid_until": rfc3339(r.valid_until) if r.valid_until else None,
            }
            for r in sorted(rows, key=lambda r: (r.key, r.source))
        ],
        "consents": [
            {
                "id": str(c.id),
                "business": names[str(c.org_id)],
                "purpose": c.purpose,
                "status": c.status,
                "channels": c.channels,
                "notice_version": c.notice_version,
                "notice_sha256": c.notice_sha256,
                "method": c.method,
                "captured_at": rfc3339(c.captured_at),
                "expires_at": rfc3339(c.expires_at) if c.expires_at else None,
                "recorded_at": rfc3339(c.recorded_at),
                "evidence": consent_service.evidence(session, c),
                "receipt": receipts.get(str(c.id)),
            }
            for c in records
        ],
        "events": [
            {
                "business": names[str(e.org_id)],
                "type": e.type,
                "item": e.item,
                "topics": e.topics,
                "gift": e.gift,
                "offer": e.offer_id,
                # The decision the event answers: one of the same business about the same customer
                # (`context.events` refuses any other), so it is among this document's decisions.
                "decision_id": str(e.decision_id) if e.decision_id is not None else None,
                "occurred_at": rfc3339(e.occurred_at),
            }
            for e in events
        ],
        "decisions": [
            {
                "id": str(d.id),
                "business": names[str(d.org_id)],
                "purpose": d.purpose,
                "channels": d.channels,
                "allowed": d.allowed,
                "channel": d.channel,
                "offer": d.offer_id,
                "reasons": d.reason_codes,
                "explanation": d.explanation,
                "data_used": d.data_used,
                "decided_at": rfc3339(d.decided_at),
            }
            for d in sorted(decisions, key=lambda d: d.decided_at)
        ],
        "sharing": [
            {"business": names[str(s.org_id)], "profile": s.profile, "purchases": s.purchases}
            for s in sharing
        ],
        "shares": [
            share.model_dump(mode="json")
            for share in shares_service.listed(
                session, subject_id=viewer.subject_id, window_org_id=viewer.org_id, now=now
            )
        ],
        "credentials": [
            credential.model_dump(mode="json")
            for credential in credentials_service.listed(
                session,
                subject_id=viewer.subject_id,
                window_org_id=viewer.org_id,
                issuer=issuer.rstrip("/"),
                now=now,
            )
        ],
        "questions": [
            {
                "business": names[str(a.org_id)],
                "question": a.question_id,
                "asked_at": rfc3339(a.asked_at),
                "outcome": a.outcome,
            }
            for a in asks
        ],
        "terms": [
            {
                "record": (found := terms_service.record(session, row, issuer=issuer)),
                "jws": terms_record.sign(found, keys),
            }
            for row in terms_service.proffers_of(session, viewer)
        ],
        "erasure_requests": [
            {
                "requested_at": rfc3339(e.requested_at),
                "business": names.get(str(e.org_id)) if e.org_id else None,
            }
            for e in erasures
        ],
    }


def receipt_ids(session: Session, viewer: Viewer) -> list[uuid.UUID]:
    org_ids = [b.org.id for b in businesses(session, viewer)]
    return list(
        session.execute(
            select(ConsentRecord.id).where(
                ConsentRecord.subject_id.in_(viewer.subject_ids), ConsentRecord.org_id.in_(org_ids)
            )
        ).scalars()
    )
