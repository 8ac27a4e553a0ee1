"""An agreement record as a document both sides keep and anyone can verify offline, as a consent
receipt is: the hub's signature (a compact JWS over the RFC 8785 canonical JSON, verified against
`/.well-known/jwks.json`) and the ledger entry that recorded the record's last change, which must hash
to its stated position and state the same proffer, agreement and answer.

Pure: the document and keys come in as arguments.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from harken.ledger import receipts
from harken.ledger.chain import canonical, link
from harken.ledger.keys import KeyRing

RECORD_TYP = "harken-myterms+jws"  # the record, as either side fetches it
PROFFER_TYP = "harken-myterms-proffer+jws"  # the person's side, signed by the hub when proffered


class RecordProblem(ValueError):
    """The record is not what the hub signed, or disagrees with its ledger entry."""


def sign(document: Mapping[str, Any], keys: KeyRing, typ: str = RECORD_TYP) -> str:
    return keys.sign(canonical(document), typ=typ)


def verify(
    saved: Mapping[str, Any] | str, public_keys: Mapping[str, Ed25519PublicKey], typ: str = RECORD_TYP
) -> dict[str, Any]:
    """The signed document, once its signature checks out against `public_keys`. `saved` is what the
    API returned (`{record, jws}`) or the bare JWS; a readable `record` must be exactly what was signed.
    A record (not the bare proffer) must also agree with its ledger entry."""
    signed = receipts.signed_document(
        saved, public_keys, typ=typ, field="record", problem=RecordProblem, kind="MyTerms record"
    )
    if typ == RECORD_TYP:
        problem = entry_problem(signed)
        if problem:
            raise RecordProblem(problem)
    return signed


def entry_problem(record: Mapping[str, Any]) -> str | None:
    """Why the record's ledger entry does not hash to its stated hash or does not state the record's
    proffer, agreement and state; None when both hold."""
    try:
        ledger = record["ledger"]
        body = ledger["entry"].encode()
        if link(ledger["prev_hash"], body) != ledger["hash"]:
            return f"the ledger entry in the record does not hash to {ledger['hash']}"
        entry = json.loads(body)
        if (entry["chain"], entry["seq"]) != (ledger["chain"], ledger["seq"]):
            return "the ledger entry in the record sits at another position than stated"
        data = entry["data"]
        stated = {
            "proffer": record["id"],
            "agreement": record["agreement"]["id"],
            "version": record["agreement"]["version"],
            "state": record["state"],
        }
        for field, value in stated.items():
            if data.get(field) != value:
                return f"the record and its ledger entry disagree on {field}"
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        return f"the record's ledger entry is incomplete: {exc}"
    return None
