"""Compact JWS for JWTs (RFC 7515, RFC 7519): the hub signs with Ed25519 (EdDSA, RFC 8037) and verifies
EdDSA and ES256 (P-256), because the credentials' published examples (RFC 9901) and holders' keys use ES256.

Pure: keys come in as arguments. Unlike harken.ledger.signing, the headers are the caller's (typ, kid,
anything else a profile needs) and the payload is a JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from harken.ledger.signing import SignatureProblem, b64url, b64url_decode

PublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey

# RFC 7518 §3.4: an ES256 signature is R and S as two 32-byte big-endian integers, not DER.
_P256_BYTES = 32


class JWSProblem(ValueError):
    """A token that is malformed, uses an algorithm or key type not accepted, or whose signature fails."""


def sign(header: Mapping[str, Any], payload: Mapping[str, Any], key: Ed25519PrivateKey) -> str:
    """A compact JWS with protected header `{"alg": "EdDSA", **header}` over the compact JSON of `payload`."""
    protected = {"alg": "EdDSA", **header}
    if protected["alg"] != "EdDSA":
        raise JWSProblem("the hub signs with EdDSA (Ed25519) only")
    signing_input = f"{b64url(_json_bytes(protected))}.{b64url(_json_bytes(payload))}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode('ascii')))}"


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and payload of a compact JWS, not yet verified: read them only to choose the key."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JWSProblem("a compact JWS has three parts separated by dots")
    return _json_object(parts[0], "protected header"), _json_object(parts[1], "payload")


def verify(token: str, key: PublicKey) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and payload of a compact JWS whose signature `key` made.

    The header's `alg` must fit the key (EdDSA for Ed25519, ES256 for P-256): a token cannot choose
    a weaker check than its key calls for, and `none` is never accepted (RFC 8725 §3.1).
    """
    header, payload = unverified(token)
    alg = header.get("alg")
    eddsa = alg == "EdDSA" and isinstance(key, Ed25519PublicKey)
    es256 = alg == "ES256" and isinstance(key, ec.EllipticCurvePublicKey)
    if not (eddsa or es256):
        raise JWSProblem(f"alg {alg!r} is not accepted with a key of type {_key_kind(key)}")
    protected, body, signature = token.split(".")
    signing_input = f"{protected}.{body}".encode("ascii")
    raw = _b64(signature, "signature")
    try:
        if isinstance(key, Ed25519PublicKey):
            key.verify(raw, signing_input)
        else:
            if not isinstance(key.curve, ec.SECP256R1) or len(raw) != 2 * _P256_BYTES:
                raise JWSProblem("an ES256 signature is 64 bytes made by a P-256 key")
            r = int.from_bytes(raw[:_P256_BYTES], "big")
            s = int.from_bytes(raw[_P256_BYTES:], "big")
            key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise JWSProblem("the signature does not match the content") from exc
    return header, payload


def public_key_from_jwk(jwk: Mapping[str, Any]) -> PublicKey:
    """The public key a JWK (RFC 7517) describes: OKP Ed25519 (RFC 8037) or EC P-256 only."""
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "OKP" and crv == "Ed25519":
        x = _coordinate(jwk, "x")
        return Ed25519PublicKey.from_public_bytes(x)
    if kty == "EC" and crv == "P-256":
        x, y = _coordinate(jwk, "x"), _coordinate(jwk, "y")
        numbers = ec.EllipticCurvePublicNumbers(
            int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
        )
        try:
            return numbers.public_key()
        except ValueError as exc:
            raise JWSProblem("the JWK's point is not on the P-256 curve") from exc
    raise JWSProblem(f"unsupported JWK kty {kty!r} crv {crv!r}: only OKP Ed25519 and EC P-256 are accepted")


def jwk_of(public_key: PublicKey) -> dict[str, str]:
    """The public key as a bare JWK (no kid, alg or use): what a credential's `cnf.jwk` carries."""
    if isinstance(public_key, Ed25519PublicKey):
        x = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url(x)}
    if not isinstance(public_key.curve, ec.SECP256R1):
        raise JWSProblem(f"unsupported curve {public_key.curve.name}: only P-256 is accepted")
    numbers = public_key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(_P256_BYTES, "big")),
        "y": b64url(numbers.y.to_bytes(_P256_BYTES, "big")),
    }


def _json_bytes(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _json_object(part: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64(part, what))
    except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested deeper than Python parses
        raise JWSProblem(f"the {what} is not base64url JSON") from exc
    if not isinstance(value, dict):
        raise JWSProblem(f"the {what} is not a JSON object")
    return value


def _b64(part: str, what: str) -> bytes:
    try:
        return b64url_decode(part)
    except (SignatureProblem, ValueError) as exc:
        raise JWSProblem(f"the {what} is not base64url") from exc


def _coordinate(jwk: Mapping[str, Any], name: str) -> bytes:
    value = jwk.get(name)
    raw = _b64(value, f"JWK member {name!r}") if isinstance(value, str) else b""
    if len(raw) != _P256_BYTES:  # Ed25519's x is 32 bytes too
        raise JWSProblem(f"the JWK's {name!r} is not 32 bytes of base64url")
    return raw


def _key_kind(key: PublicKey) -> str:
    return "Ed25519" if isinstance(key, Ed25519PublicKey) else f"EC {key.curve.name}"
