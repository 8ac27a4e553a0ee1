"""The consent rules: notices, recording decisions (with their ledger entries), current state,
history, receipts, and the audit that ties stored records back to the ledger."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import Select, bindparam, insert, select
from sqlalchemy.orm import Session

from harken.clock import rfc3339
from harken.consent.models import ConsentRecord, CurrentConsent, Notice
from harken.consent.schemas import ConsentPut, CurrentStatus
from harken.db import DIALECT_INSERT
from harken.errors import Invalid, NotFound
from harken.ledger import chain
from harken.ledger import service as ledger_service
from harken.ledger.models import LedgerEntry
from harken.ledger.service import Notary
from harken.observe import metrics
from harken.orgs.models import Org
from harken.subjects import service as subject_service
from harken.subjects import vault
from harken.subjects.models import SubjectRef
from harken.webhooks import outbox
from harken.webhooks.schemas import EventType

LEDGER_TYPE = "consent.recorded"


CLOCK_SKEW = timedelta(minutes=5)


CONSENT_STATE_DPV = {
    "granted": "dpv:ConsentGiven",
    "denied": "dpv:ConsentRefused",
    "withdrawn": "dpv:ConsentWithdrawn",
}


def put_notice(
    session: Session, *, org: Org, purpose: str, text: str, locale: str, now: datetime
) -> tuple[Notice, bool]:
    """Store `text` as the org's next notice version for `purpose`; the same text again is not a new version."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    latest = latest_notice(session, org=org, purpose=purpose)
    if latest is not None and latest.sha256 == digest and latest.locale == locale:
        return latest, False
    notice = Notice(
        org_id=org.id,
        purpose=purpose,
        version=(latest.version + 1 if latest else 1),
        text=text,
        sha256=digest,
        locale=locale,
        created_at=now,
    )
    session.add(notice)
    session.flush()
    return notice, True


def latest_notice(session: Session, *, org: Org, purpose: str) -> Notice | None:
    return session.execute(_LATEST_NOTICE, {"org_id": org.id, "purpose": purpose}).scalar_one_or_none()


def notice(session: Session, *, org: Org, purpose: str, version: int | None = None) -> Notice:
    if version is None:
        found = latest_notice(session, org=org, purpose=purpose)
    else:
        found = session.execute(
            select(Notice).where(
                Notice.org_id == org.id, Notice.purpose == purpose, Notice.version == version
            )
        ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no notice for purpose {purpose!r}" + (f" at version {version}" if version else ""))
    return found


class Recorded(NamedTuple):
    record: ConsentRecord
    ledger_hash: str
    created: bool


def record(
    session: Session, *, org: Org, ref: str, purpose: str, change: ConsentPut, notary: Notary, now: datetime
) -> Recorded:
    """Append a consent record and its ledger entry (same transaction). Never updates a record.

    The same decision sent again is recognised and returned as it stands, with created=False.
    """
    subject = subject_service.alive(session, org=org, ref=ref)
    captured_at = change.captured_at or now
    if captured_at > now + CLOCK_SKEW:
        raise Invalid("captured_at", "lies in the future")
    if change.expires_at is not None and change.expires_at <= captured_at:
        raise Invalid("expires_at", "must be later than captured_at")
    shown = _shown_notice(session, org=org, purpose=purpose, version=change.notice_version)
    channels = [str(c) for c in change.channels]
    # Their key, also without evidence to seal and for a decision sent again: nothing is recorded, nor
    # answered as recorded, about an erased customer.
    data_key = vault.data_key(session, subject.subject_id, now=now)
    evidence_hmac = evidence_digest(data_key, change.evidence) if change.evidence else None

    current = _current_record(session, org=org, subject_id=subject.subject_id, purpose=purpose)
    if current is not None and _same_decision(current, change, channels, shown, captured_at, evidence_hmac):
        return Recorded(current, ledger_hashes(session, [current])[(current.chain, current.seq)], False)

    record_id = uuid.uuid4()
    consent = ConsentRecord(
        id=record_id,
        org_id=org.id,
        subject_id=subject.subject_id,
        purpose=purpose,
        status=str(change.status),
        channels=channels,
        notice_version=shown.version if shown else None,
        notice_sha256=shown.sha256 if shown else None,
        method=str(change.method),
        captured_at=captured_at,
        expires_at=change.expires_at,
        recorded_at=now,
        evidence=vault.seal(data_key, change.evidence, _sealed_as(record_id)) if change.evidence else None,
        evidence_sha256=None,
        evidence_hmac=evidence_hmac,
        chain=org.chain,
        seq=0,
    )
    entry = ledger_service.append(
        session, notary=notary, chain_id=org.chain, type=LEDGER_TYPE, data=ledger_data(consent), at=now
    )
    consent.seq = entry.seq
    db = session.connection()
    db.execute(_INSERT_RECORD, {c: getattr(consent, c) for c in _RECORD_COLUMNS})
    db.execute(
        MAKE_CURRENT[db.dialect.name],
        {
            "org_id": org.id,
            "subject_id": subject.subject_id,
            "purpose": purpose,
            "record_id": consent.id,
            "captured_at": captured_at,
        },
    )
    outbox.emit(
        session,
        org_id=org.id,
        type=EventType.consent_updated,
        subject_id=subject.subject_id,
        data={
            "ref": ref,
            "purpose": purpose,
            "status": consent.status,
            "channels": channels,
            "method": consent.method,
            "captured_at": rfc3339(captured_at),
            "expires_at": rfc3339(change.expires_at) if change.expires_at else None,
            "record_id": str(consent.id),
        },
        now=now,
    )
    metrics.consent_written(consent.status)
    return Recorded(consent, entry.hash, True)


# Built once: the write path runs these on every consent change.
_RECORD_COLUMNS = [c.key for c in ConsentRecord.__table__.columns]


_INSERT_RECORD = insert(ConsentRecord)


def _current_upsert(dialect_insert: Any, rows: Select[Any] | None = None) -> Any:
    """Point the current state at the new record unless a later-captured decision is in force: one
    statement, so concurrent writers cannot both insert. The rows are the statement's parameters, or
    what `rows` selects."""
    stmt = dialect_insert(CurrentConsent.__table__)
    if rows is not None:
        stmt = stmt.from_select([c.name for c in CurrentConsent.__table__.columns], rows)
    return stmt.on_conflict_do_update(
        index_elements=["org_id", "subject_id", "purpose"],
        set_={"record_id": stmt.excluded.record_id, "captured_at": stmt.excluded.captured_at},
        where=CurrentConsent.__table__.c.captured_at <= stmt.excluded.captured_at,
    )


# The later-captured decision becomes current: one upsert per dialect, shared with `harken import`.
MAKE_CURRENT = {name: _current_upsert(insert) for name, insert in DIALECT_INSERT.items()}


def make_current_from(dialect: str, rows: Select[Any]) -> Any:
    """MAKE_CURRENT for the states `rows` selects (org_id, subject_id, purpose, record_id, captured_at),
    each (org, subject, purpose) at most once."""
    return _current_upsert(DIALECT_INSERT[dialect], rows)


_IN_FORCE = (
    select(ConsentRecord)
    .join(CurrentConsent, CurrentConsent.record_id == ConsentRecord.id)
    .where(CurrentConsent.org_id == bindparam("org_id"), CurrentConsent.subject_id == bindparam("subject_id"))
)


_CURRENT_RECORD = _IN_FORCE.where(CurrentConsent.purpose == bindparam("purpose"))


_LATEST_NOTICE = (
    select(Notice)
    .where(Notice.org_id == bindparam("org_id"), Notice.purpose == bindparam("purpose"))
    .order_by(Notice.version.desc())
    .limit(1)
)


def _shown_notice(session: Session, *, org: Org, purpose: str, version: int | None) -> Notice | None:
    if version is None:
        return latest_notice(session, org=org, purpose=purpose)
    try:
        return notice(session, org=org, purpose=purpose, version=version)
    except NotFound:
        raise Invalid("notice_version", f"the org has no notice version {version} for {purpose!r}") from None


def _same_decision(
    current: ConsentRecord,
    change: ConsentPut,
    channels: list[str],
    shown: Notice | None,
    captured_at: datetime,
    evidence_hmac: str | None,
) -> bool:
    return (
        current.status == change.status
        and current.channels == channels
        and current.method == change.method
        and current.notice_version == (shown.version if shown else None)
        and current.expires_at == change.expires_at
        and current.evidence_hmac == evidence_hmac
        and current.evidence_sha256 is None
        and (change.captured_at is None or current.captured_at == captured_at)
    )


def _current_record(
    session: Session, *, org: Org, subject_id: uuid.UUID, purpose: str
) -> ConsentRecord | None:
    return session.execute(
        _CURRENT_RECORD, {"org_id": org.id, "subject_id": subject_id, "purpose": purpose}
    ).scalar_one_or_none()


def effective_status(consent: ConsentRecord, now: datetime) -> CurrentStatus:
    if consent.expires_at is not None and consent.expires_at <= now:
        return CurrentStatus.expired
    return CurrentStatus(consent.status)


def current(session: Session, *, org: Org, ref: str) -> list[ConsentRecord]:
    """The records in force for each purpose the customer decided on with this org."""
    subject = subject_service.alive(session, org=org, ref=ref)
    return in_force(session, org_id=org.id, subject_id=subject.subject_id)


def granted(records: list[ConsentRecord], now: datetime) -> list[str]:
    """The purposes these records grant at `now` (not expired, not withdrawn or denied)."""
    return [c.purpose for c in records if effective_status(c, now) == CurrentStatus.granted]


def in_force(session: Session, *, org_id: uuid.UUID, subject_id: uuid.UUID) -> list[ConsentRecord]:
    query = _IN_FORCE.order_by(ConsentRecord.purpose)
    return list(session.execute(query, {"org_id": org_id, "subject_id": subject_id}).scalars())


def history(
    session: Session, *, org: Org, ref: str, purpose: str | None, limit: int, before_seq: int | None
) -> tuple[list[ConsentRecord], int | None]:
    """Records newest first (by ledger position); returns the seq to continue before, or None at the end."""
    subject = subject_service.alive(session, org=org, ref=ref)
    query = select(ConsentRecord).where(
        ConsentRecord.org_id == org.id, ConsentRecord.subject_id == subject.subject_id
    )
    if purpose is not None:
        query = query.where(ConsentRecord.purpose == purpose)
    if before_seq is not None:
        query = query.where(ConsentRecord.seq < before_seq)
    rows = list(session.execute(query.order_by(ConsentRecord.seq.desc()).limit(limit + 1)).scalars())
    return rows[:limit], (rows[limit - 1].seq if len(rows) > limit else None)


def ledger_data(consent: ConsentRecord) -> dict[str, Any]:
    """What the ledger holds of a record: pseudonymous ids and digests, nothing readable about the person.

    `evidence_hmac` is there only when the record has one (since migration 0012), so that entries written
    before keep exactly the data they were hashed with."""
    data = {
        "record": str(consent.id),
        "org": str(consent.org_id),
        "subject": str(consent.subject_id),
        "purpose": consent.purpose,
        "status": consent.status,
        "channels": list(consent.channels),
        "notice_version": consent.notice_version,
        "notice_sha256": consent.notice_sha256,
        "method": consent.method,
        "captured_at": rfc3339(consent.captured_at),
        "expires_at": rfc3339(consent.expires_at) if consent.expires_at else None,
        "recorded_at": rfc3339(consent.recorded_at),
        "evidence_sha256": consent.evidence_sha256,
    }
    if consent.evidence_hmac is not None:
        data["evidence_hmac"] = consent.evidence_hmac
    return data


def evidence_digest(data_key: bytes, evidence: dict[str, Any]) -> str:
    """What the ledger and the receipt say of a customer's evidence: an HMAC-SHA256 of its canonical JSON
    under their data key. The hub (holding the key) shows it is what was recorded; once erasure destroys
    the key, nobody can test a guess of the evidence against it, as a plain sha256 would let them."""
    return vault.digest(data_key, chain.canonical({"consent_evidence": evidence}))


def plain_evidence_digest(evidence: dict[str, Any]) -> str:
    """The sha256 of the evidence's canonical JSON: the digest of an import's evidence (its file and line,
    nothing the customer said) and of evidence recorded before migration 0012."""
    return chain.digest(chain.canonical(evidence))


def evidence(session: Session, consent: ConsentRecord) -> dict[str, Any] | None:
    """The record's evidence as it was given; None when there was none or the customer was erased."""
    if not vault.is_sealed(consent.evidence):  # none, an import's, or written before migration 0008
        return consent.evidence
    try:
        data_key = vault.data_key(session, consent.subject_id)
    except vault.Erased:
        return None
    opened: dict[str, Any] = vault.unseal(
        data_key, cast(dict[str, Any], consent.evidence), _sealed_as(consent.id)
    )
    return opened


def _sealed_as(record_id: uuid.UUID) -> str:
    """What sealed evidence is bound to: moved to another record, it will not open."""
    return f"consent-evidence:{record_id}"


def find_record(session: Session, *, org: Org, record_id: uuid.UUID) -> tuple[ConsentRecord, str]:
    """The org's own record and the ref it knows the customer by; NotFound for anyone else's."""
    row = session.execute(
        select(ConsentRecord, SubjectRef.ref)
        .join(SubjectRef, (SubjectRef.subject_id == ConsentRecord.subject_id) & (SubjectRef.org_id == org.id))
        .where(ConsentRecord.id == record_id, ConsentRecord.org_id == org.id)
    ).first()
    if row is None:
        raise NotFound(f"no receipt {record_id}")
    return row[0], row[1]


def ledger_hashes(session: Session, records: list[ConsentRecord]) -> dict[tuple[str, int], str]:
    """(chain, seq) → entry hash for the given records, in one query."""
    if not records:
        return {}
    rows = session.execute(
        select(LedgerEntry.chain, LedgerEntry.seq, LedgerEntry.hash).where(
            LedgerEntry.chain.in_({r.chain for r in records}), LedgerEntry.seq.in_([r.seq for r in records])
        )
    )
    return {(c, s): h for c, s, h in rows}


def notices(
    session: Session, *, org: Org, purpose: str | None, after: tuple[str, int] | None, limit: int
) -> list[Notice]:
    """Every version of the org's notices in (purpose, version) order after `after`: up to `limit`, and
    one more if there is a next page."""
    query = select(Notice).where(Notice.org_id == org.id)
    if purpose is not None:
        query = query.where(Notice.purpose == purpose)
    if after is not None:
        query = query.where(
            (Notice.purpose > after[0]) | ((Notice.purpose == after[0]) & (Notice.version > after[1]))
        )
    return list(session.execute(query.order_by(Notice.purpose, Notice.version).limit(limit + 1)).scalars())
