"""What proves a consent record: its signed receipt, and the audit that every record matches its
ledger entry (and, given the hub's secret, its sealed evidence its digest)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import select
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
    secret (vault.bind), also that each record's evidence opens, in its own record, to its digest."""
    opened = vault.SECRET in session.info
    chains = session.execute(select(ConsentRecord.chain).distinct()).scalars().all()
    for chain_id in sorted(set(chains) | {c for c in ledger_service.chains(session) if c.startswith("org:")}):
        stored = session.execute(
            select(ConsentRecord)
            .where(ConsentRecord.chain == chain_id)
            .order_by(ConsentRecord.seq)
            .execution_options(yield_per=10_000)
        ).scalars()
        entries = ledger_service.typed_entries(session, chain_id, LEDGER_TYPE)
        yield from _merge(
            chain_id, iter(stored), entries, lambda c: _evidence_problem(session, c) if opened else None
        )


def _merge(
    chain_id: str,
    stored: Iterator[ConsentRecord],
    entries: Iterator[tuple[int, Any]],
    evidence_problem: Callable[[ConsentRecord], str | None],
) -> Iterator[AuditFinding]:
    consent, entry = next(stored, None), next(entries, None)
    while consent is not None or entry is not None:
        if entry is None or (consent is not None and consent.seq < entry[0]):
            assert consent is not None
            yield AuditFinding(chain_id, consent.seq, f"consent record {consent.id} has no ledger entry")
            consent = next(stored, None)
        elif consent is None or entry[0] < consent.seq:
            yield AuditFinding(
                chain_id, entry[0], f"the consent record of ledger entry {entry[0]} is missing"
            )
            entry = next(entries, None)
        else:
            if ledger_data(consent) != entry[1]:
                yield AuditFinding(
                    chain_id, consent.seq, f"consent record {consent.id} differs from its ledger entry"
                )
            elif problem := evidence_problem(consent):
                yield AuditFinding(chain_id, consent.seq, f"consent record {consent.id}: {problem}")
            consent, entry = next(stored, None), next(entries, None)


def _evidence_problem(session: Session, consent: ConsentRecord) -> str | None:
    if consent.evidence is None:
        return "its evidence is missing" if consent.evidence_sha256 or consent.evidence_hmac else None
    try:
        given = evidence(session, consent)
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
