"""Signed receipts: a consent record as a document the customer keeps and anyone can verify offline.

Pure: the document and keys come in as arguments.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from harken import jws
from harken.ledger.chain import Checkpoint, canonical, inclusion_problem, link
from harken.ledger.keys import KeyRing

RECEIPT_TYP = "harken-receipt+jws"


class ReceiptProblem(ValueError):
    """The receipt is not what the hub signed."""


def sign_receipt(document: Mapping[str, Any], keys: KeyRing) -> str:
    """A compact JWS over the RFC 8785 canonical JSON of `document`."""
    return keys.sign(canonical(document), typ=RECEIPT_TYP)


def verify_receipt(
    saved: Mapping[str, Any] | str, public_keys: Mapping[str, Ed25519PublicKey]
) -> dict[str, Any]:
    """The receipt document, once its signature checks out against `public_keys`.

    `saved` is what GET /v1/receipts/{id} returned ({receipt, jws}) or the bare JWS. When the
    readable `receipt` is present it must be exactly what was signed: an edited copy fails.
    """
    signed = signed_document(saved, public_keys, typ=RECEIPT_TYP, field="receipt", problem=ReceiptProblem)
    problem = entry_problem(signed)
    if problem:
        raise ReceiptProblem(problem)
    return signed


def signed_document(
    saved: Mapping[str, Any] | str,
    public_keys: Mapping[str, Ed25519PublicKey],
    *,
    typ: str,
    field: str,
    problem: type[ValueError],
    kind: str | None = None,
) -> dict[str, Any]:
    """What a document the hub signed says, once its signature checks out: `saved` is what the API
    returned (`{<field>, jws}`) or the bare JWS, and a readable `<field>` beside it must be exactly what
    was signed. Anything else raises `problem`, naming the document as `kind` (`field` unless given)."""
    token = saved if isinstance(saved, str) else saved.get("jws")
    if not isinstance(token, str):
        raise problem(f"no `jws` in the {field}")
    try:
        header, payload = jws.verify_by_kid(token.strip(), public_keys)
    except jws.JWSProblem as exc:
        raise problem(str(exc)) from exc
    if header.get("typ") != typ:
        raise problem(f"this JWS is not a {kind or field} (typ {header.get('typ')!r})")
    signed = json.loads(payload)
    if not isinstance(saved, str) and field in saved and canonical(saved[field]) != canonical(signed):
        raise problem(f"the readable {field} differs from what the hub signed")
    return dict(signed)


# What a receipt states, and where the same fact sits in its ledger entry's data.
ENTRY_FIELDS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "record": lambda r: r["record_id"],
    "purpose": lambda r: r["purposes"][0]["purpose"],
    "status": lambda r: r["consent_status"],
    "channels": lambda r: r["channels"],
    "captured_at": lambda r: r["events"][0]["event_time"],
    "expires_at": lambda r: r["events"][0]["validity_until"],
    "method": lambda r: r["events"][0]["indication_method"],
    "recorded_at": lambda r: r["recorded_at"],
    "notice_sha256": lambda r: (r["privacy_notice"] or {}).get("sha256"),
    "evidence_sha256": lambda r: r["evidence_sha256"],
    "evidence_hmac": lambda r: r.get("evidence_hmac"),  # receipts before migration 0012 have none
}


def entry_problem(receipt: Mapping[str, Any]) -> str | None:
    """Why the receipt's ledger entry does not hash to its stated hash or does not say what the receipt
    says; None when both hold."""
    try:
        ledger = receipt["ledger"]
        body = ledger["entry"].encode()
        if link(ledger["prev_hash"], body) != ledger["hash"]:
            return f"the ledger entry in the receipt does not hash to {ledger['hash']}"
        entry = json.loads(body)
        if (entry["chain"], entry["seq"]) != (ledger["chain"], ledger["seq"]):
            return "the ledger entry in the receipt sits at another position than stated"
        for field, stated in ENTRY_FIELDS.items():
            if entry["data"].get(field) != stated(receipt):
                return f"the receipt and its ledger entry disagree on {field}"
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        return f"the receipt's ledger entry is incomplete: {exc}"
    return None


def verify_proof(
    receipt: Mapping[str, Any], proof: Mapping[str, Any], public_keys: Mapping[str, Ed25519PublicKey]
) -> int:
    """Check that the receipt's ledger entry lies under a checkpoint the hub signed; returns that checkpoint's seq.

    `receipt` is a verified receipt document; `proof` is what GET /v1/receipts/{id}/proof returned.
    """
    position = receipt["ledger"]
    try:
        cp = proof["checkpoint"]
        checkpoint = Checkpoint(str(cp["chain"]), int(cp["seq"]), str(cp["hash"]), str(cp["jws"]))
        digests = [str(d) for d in proof["digests"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ReceiptProblem(f"the proof is incomplete: {exc}") from exc
    problem = inclusion_problem(
        chain=position["chain"],
        seq=position["seq"],
        entry_hash=position["hash"],
        digests=digests,
        checkpoint=checkpoint,
        keys=public_keys,
    )
    if problem:
        raise ReceiptProblem(problem)
    return checkpoint.seq
