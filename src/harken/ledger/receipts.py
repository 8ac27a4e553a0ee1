"""Signed receipts: a consent record as a document the customer keeps and anyone can verify offline.

Pure: the document and keys come in as arguments.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from harken.ledger import signing
from harken.ledger.chain import canonical
from harken.ledger.keys import KeyRing

RECEIPT_TYP = "harken-receipt+jws"


class ReceiptProblem(ValueError):
    """The receipt is not what the hub signed."""


def sign_receipt(document: Mapping[str, Any], keys: KeyRing) -> str:
    """A compact JWS over the RFC 8785 canonical JSON of `document`."""
    return keys.sign(canonical(document), typ=RECEIPT_TYP)


def verify_receipt(saved: Mapping[str, Any] | str, public_keys: Mapping[str, Ed25519PublicKey]) -> dict[str, Any]:
    """The receipt document, once its signature checks out against `public_keys`.

    `saved` is what GET /v1/receipts/{id} returned ({receipt, jws}) or the bare JWS. When the
    readable `receipt` is present it must be exactly what was signed: an edited copy fails.
    """
    jws = saved if isinstance(saved, str) else saved.get("jws")
    if not isinstance(jws, str):
        raise ReceiptProblem("no `jws` in the receipt")
    try:
        header, payload = signing.verify(jws.strip(), public_keys)
    except signing.SignatureProblem as exc:
        raise ReceiptProblem(str(exc)) from exc
    if header.get("typ") != RECEIPT_TYP:
        raise ReceiptProblem(f"this JWS is not a receipt (typ {header.get('typ')!r})")
    signed = json.loads(payload)
    if not isinstance(saved, str) and "receipt" in saved and canonical(saved["receipt"]) != canonical(signed):
        raise ReceiptProblem("the readable receipt differs from what the hub signed")
    return dict(signed)
