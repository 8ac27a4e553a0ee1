"""What proves a consent record: its signed receipt, and the audit that every record matches its
ledger entry (and, given the hub's secret, its sealed evidence its digest)."""

from __future__ import annotations

import functools
import json
import typing
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from harken.clock import rfc3339
from harken.consent.models import ConsentRecord
from harken.consent.purposes import CATALOGUE
from harken.consent.service import (
    CONSENT_STATE_DPV,
    LEDGER_TYPE,
    evidence,
    evidence_digest,
    ledger_data,
    notice,
    plain_evidence_digest,
)
from harken.ledger import service as ledger_service
from harken.ledger.models import LedgerEntry
from harken.orgs.models import Org
from harken.subjects import vault


@dataclass(frozen=True)
class AuditFinding:
    chain: str
    seq: int
    problem: str


def audit(session: Session) -> Iterator[AuditFinding]:
    """Every consent record must match the ledger entry at its position, and every consent entry must
    still have its record: catches rows changed, deleted or inserted in consent_records. Given the hub's
    secret (vault.bind), also that each record's evidence opens, in its own record, to its digest.

    One streamed pass per chain, findings in seq order: the database pairs each consent entry with its
    record (an outer join); each pair is compared on the entry's bytes (`_stated`), and a pair that differs
    there is compared again as before, field by field on the loaded record, so that only a real difference
    is reported. Records that no consent entry has are looked for (an anti-join) only when the chain holds
    more records than were paired."""
    opened = vault.SECRET in session.info
    chains = session.execute(select(ConsentRecord.chain).distinct()).scalars().all()
    for chain_id in sorted(set(chains) | {c for c in ledger_service.chains(session) if c.startswith("org:")}):
        paired = [0]
        findings = list(_paired(session, chain_id, opened, paired))
        if session.execute(select(func.count()).where(_R.chain == chain_id)).scalar_one() != paired[0]:
            findings = sorted([*findings, *_unentered(session, chain_id)], key=lambda f: f.seq)
        yield from findings


_R = ConsentRecord
_EVIDENCE = (_R.id, _R.subject_id, _R.evidence)  # typed, read only when the evidence is opened


def _as_stated(dialect: str) -> tuple[Any, ...]:
    """The record's columns as stored, except on PostgreSQL, which spells its ids and times as `ledger_data`
    does itself (cheaper there than here; SQLite's are spelled by `_from_sqlite`)."""

    def times(column: Any) -> Any:
        if dialect == "postgresql":
            return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"', type_=String)
        return cast(column, String)

    return (
        LedgerEntry.seq,
        LedgerEntry.body,
        cast(_R.id, String),  # on PostgreSQL as str(uuid.UUID) spells it
        cast(_R.org_id, String),  # on PostgreSQL as str(uuid.UUID) spells it
        cast(_R.subject_id, String),  # on PostgreSQL as str(uuid.UUID) spells it
        _R.purpose,
        _R.status,
        cast(_R.channels, String),
        _R.notice_version,
        _R.notice_sha256,
        _R.method,
        _R.evidence_sha256,
        _R.evidence_hmac,
        times(_R.captured_at),
        times(_R.expires_at),
        times(_R.recorded_at),
    )


def _paired(session: Session, chain_id: str, opened: bool, paired: list[int]) -> Iterator[AuditFinding]:
    """Findings on each consent entry of the chain: its record missing, differing, or its evidence bad.
    Counts in `paired[0]` the entries that have their record."""
    db = session.connection()
    columns = (*_as_stated(db.dialect.name), *(_EVIDENCE if opened else ()))
    stated = _from_sqlite if db.dialect.name == "sqlite" else _stated
    rows = db.execute(
        select(*columns)
        .select_from(LedgerEntry)
        .outerjoin(_R, (_R.chain == LedgerEntry.chain) & (_R.seq == LedgerEntry.seq))
        .where(LedgerEntry.chain == chain_id, LedgerEntry.type == LEDGER_TYPE)
        .order_by(LedgerEntry.seq)
        .execution_options(yield_per=_BATCH)
    )
    last = None
    try:
        for batch in rows.partitions():
            for row in batch:
                seq, body, record_id = row[0], row[1], row[2]
                if record_id is None:
                    yield AuditFinding(chain_id, seq, f"the consent record of ledger entry {seq} is missing")
                    continue
                if seq == last:  # a second record at one position (its uniqueness dropped)
                    yield AuditFinding(chain_id, seq, f"consent record {record_id} has no ledger entry")
                    continue
                last = seq
                paired[0] += 1
                if stated(row) != _data_of(body) and (differs := _differs(session, chain_id, seq, body)):
                    yield AuditFinding(
                        chain_id, seq, f"consent record {differs} differs from its ledger entry"
                    )
                elif opened and (problem := _evidence_problem(session, _Evidence(*row[-3:], *row[11:13]))):
                    yield AuditFinding(chain_id, seq, f"consent record {row[-3]}: {problem}")
    finally:  # an audit stopped early must not leave a server-side cursor open
        rows.close()


def _differs(session: Session, chain_id: str, seq: int, body: str) -> uuid.UUID | None:
    """The id of the record at `seq` if it differs from the entry's data, compared as loaded (the exact test,
    for a pair whose bytes differ); None if it does not."""
    consent = session.execute(select(_R).where(_R.chain == chain_id, _R.seq == seq)).scalars().first()
    return consent.id if consent is not None and ledger_data(consent) != json.loads(body)["data"] else None


def _unentered(session: Session, chain_id: str) -> Iterator[AuditFinding]:
    """Findings on the chain's records that no consent entry has (deleted, or a record slipped in)."""
    entered = (
        select(LedgerEntry.seq)
        .where(LedgerEntry.chain == _R.chain, LedgerEntry.seq == _R.seq, LedgerEntry.type == LEDGER_TYPE)
        .exists()
    )
    for record_id, seq in session.execute(
        select(_R.id, _R.seq).where(_R.chain == chain_id, ~entered).order_by(_R.seq)
    ):
        yield AuditFinding(chain_id, seq, f"consent record {record_id} has no ledger entry")


_BATCH = 20_000
_DATA_STARTS = b',"data":'
_DATA_ENDS = b',"seq":'
_string = json.encoder.encode_basestring  # the same escapes as the canonical json.dumps (ensure_ascii off)


def _data_of(body: str) -> bytes:
    """The data an entry states, as its canonical body holds it (the envelope's keys are sorted, the data
    between `chain` and `seq`; a quote inside a string is escaped, so these markers cannot occur there)."""
    raw = body.encode()
    return raw[raw.find(_DATA_STARTS) + len(_DATA_STARTS) : raw.rfind(_DATA_ENDS)]


@functools.cache
def _channels(stored: str) -> str:
    return json.dumps(json.loads(stored), ensure_ascii=False, separators=(",", ":"))


def _from_sqlite(row: Any) -> bytes:
    """`_stated`, for a row as SQLite keeps it: ids as 32 hex digits, times as UTC 'YYYY-MM-DD HH:MM:SS.ffffff'.
    A value in any other form is prefixed with '!', which no stated value starts with, so that its pair goes
    to the exact comparison."""
    seq, body, record_id, org_id, subject_id, *middle, captured_at, expires_at, recorded_at = row[:16]
    try:
        spelled = (
            seq,
            body,
            _hyphenated(record_id),
            _hyphenated(org_id),
            _hyphenated(subject_id),
            *middle,
            _sqlite_time(captured_at),
            None if expires_at is None else _sqlite_time(expires_at),
            _sqlite_time(recorded_at),
        )
    except TypeError:  # a NULL where the hub never writes one: compare exactly
        return b""
    return _stated(spelled)


def _hyphenated(stored: str) -> str:
    if len(stored) == 32:
        return f"{stored[:8]}-{stored[8:12]}-{stored[12:16]}-{stored[16:20]}-{stored[20:]}"
    return f"!{stored}"


def _sqlite_time(stored: str) -> str:
    return f"{stored[:10]}T{stored[11:]}Z" if len(stored) == 26 and stored[10] == " " else f"!{stored}"


def _stated(row: Any) -> bytes:
    """What the entry of the record in `row` should state as its data: the canonical JSON of
    `consent.service.ledger_data`, written from the stored values (`_as_stated`) without loading the
    record. Equal bytes mean equal data (canonical JSON is one spelling per value, and every string here is
    escaped as the canonical form escapes it); unequal ones are compared again exactly."""
    (_, _, record_id, org_id, subject_id, purpose, status, channels, notice_version, notice_sha256) = row[:10]
    method, evidence_sha256, evidence_hmac, captured_at, expires_at, recorded_at = row[10:16]
    text = _string
    try:
        return (
            f'{{"captured_at":{text(captured_at)},"channels":{_channels(channels)},'
            + (f'"evidence_hmac":{text(evidence_hmac)},' if evidence_hmac is not None else "")
            + f'"evidence_sha256":{_json(evidence_sha256)},"expires_at":{_json(expires_at)},'
            f'"method":{text(method)},"notice_sha256":{_json(notice_sha256)},'
            f'"notice_version":{_json(notice_version)},"org":{text(org_id)},'
            f'"purpose":{text(purpose)},"record":{text(record_id)},'
            f'"recorded_at":{text(recorded_at)},"status":{text(status)},'
            f'"subject":{text(subject_id)}}}'
        ).encode()
    except (TypeError, ValueError, UnicodeEncodeError):  # not what the hub writes: compare exactly
        return b""


def _json(value: str | int | None) -> str:
    if value is None:
        return "null"
    if type(value) is int:
        return str(value)
    if type(value) is str:
        return _string(value)
    raise TypeError(value)


class _Evidence(NamedTuple):
    """What `_evidence_problem` reads of a record."""

    id: uuid.UUID
    subject_id: uuid.UUID
    evidence: dict[str, Any] | None
    evidence_sha256: str | None
    evidence_hmac: str | None


def _evidence_problem(session: Session, consent: ConsentRecord | _Evidence) -> str | None:
    if consent.evidence is None:
        return "its evidence is missing" if consent.evidence_sha256 or consent.evidence_hmac else None
    try:
        given = evidence(session, typing.cast(ConsentRecord, consent))  # it reads what _Evidence holds
    except InvalidTag:
        return "its evidence does not open (changed, or moved from another record)"
    if given is None:  # sealed, and the customer's key destroyed by their erasure
        return None
    if consent.evidence_hmac is not None:  # keyed: only the person's key reproduces it
        digest = evidence_digest(vault.data_key(session, consent.subject_id), given)
        return "its evidence differs from its digest" if digest != consent.evidence_hmac else None
    if consent.evidence_sha256 is None:
        return "its evidence has no digest"
    return (
        "its evidence differs from its digest"
        if plain_evidence_digest(given) != consent.evidence_sha256
        else None
    )


def receipt_document(
    session: Session, *, org: Org, consent: ConsentRecord, ref: str, issuer: str
) -> dict[str, Any]:
    """The record in the shape of an ISO/IEC TS 27560 consent record, with its ledger position."""
    purpose = CATALOGUE[consent.purpose]
    shown = (
        notice(session, org=org, purpose=consent.purpose, version=consent.notice_version)
        if consent.notice_version
        else None
    )
    entry = session.get_one(LedgerEntry, (consent.chain, consent.seq))
    return {
        "schema_version": "https://w3id.org/dpv/schema/dpv-27560#receipt",
        "record_id": str(consent.id),
        "issuer": issuer,
        "pii_principal_id": ref,
        "pii_controllers": [
            {"party_id": str(org.id), "party_name": org.name, "party_type": "dpv:DataController"}
        ],
        "privacy_notice": (
            {"version": shown.version, "sha256": shown.sha256, "language": shown.locale} if shown else None
        ),
        "purposes": [
            {
                "purpose": purpose.key,
                "purpose_type": purpose.dpv,
                "lawful_basis": purpose.legal_basis_dpv,
                "sensitive": purpose.sensitive,
            }
        ],
        "channels": list(consent.channels),
        "events": [
            {
                "event_time": rfc3339(consent.captured_at),
                "validity_until": rfc3339(consent.expires_at) if consent.expires_at else None,
                "entity_id": "dpv:DataSubject",
                "event_state": CONSENT_STATE_DPV[consent.status],
                "indication_method": consent.method,
            }
        ],
        "consent_status": consent.status,
        "recorded_at": rfc3339(consent.recorded_at),
        "evidence_sha256": consent.evidence_sha256,
        # HMAC-SHA256 under the customer's data key (from migration 0012): the hub can show the evidence is
        # what was recorded; once their erasure destroys the key, nobody can test a guess against it.
        "evidence_hmac": consent.evidence_hmac,
        "ledger": {
            "chain": entry.chain,
            "seq": entry.seq,
            "prev_hash": entry.prev_hash,
            "hash": entry.hash,
            "entry": entry.body,
        },
    }
