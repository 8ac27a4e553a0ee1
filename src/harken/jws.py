"""Compact JWS (RFC 7515) and JWKs (RFC 7517, RFC 7638): the hub's one signing code, for the ledger's
receipts and checkpoints and for credentials (JWTs, RFC 7519).

The hub signs with Ed25519 (EdDSA, RFC 8037) and verifies EdDSA and ES256 (P-256), because the
credentials' published examples (RFC 9901) and holders' keys use ES256. The protected header is
`{"alg": "EdDSA", **header}` in the caller's order, as compact JSON; a payload given as bytes is signed
as it is (the ledger's canonical JSON), one given as a mapping as compact JSON.

Pure: keys come in as arguments; nothing here reads files, a database or the clock.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey

# RFC 7518 §3.4: an ES256 signature is R and S as two 32-byte big-endian integers, not DER.
_P256_BYTES = 32
_B64URL = re.compile(r"[A-Za-z0-9_-]+")  # fullmatch: not \Z-anchored `$`, so no trailing newline slips by


class JWSProblem(ValueError):
    """A token that is malformed, names an unknown key, uses an algorithm or key type not accepted,
    or whose signature does not match."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not _B64URL.fullmatch(text):
        raise JWSProblem("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(header: Mapping[str, Any], payload: bytes | Mapping[str, Any], key: Ed25519PrivateKey) -> str:
    """A compact JWS with protected header `{"alg": "EdDSA", **header}` over `payload`."""
    protected = {"alg": "EdDSA", **header}
    if protected["alg"] != "EdDSA":
        raise JWSProblem("the hub signs with EdDSA (Ed25519) only")
    body = payload if isinstance(payload, bytes) else _json_bytes(payload)
    signing_input = f"{b64url(_json_bytes(protected))}.{b64url(body)}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode('ascii')))}"


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and JSON payload of a compact JWS, not yet verified: read them only to choose the key."""
    protected, body, _ = _parts(token)
    return _header(protected), _json_object(_b64(body, "payload"), "payload")


def verify(token: str, key: PublicKey) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and JSON payload of a compact JWS whose signature `key` made."""
    header, payload = verify_bytes(token, key)
    return header, _json_object(payload, "payload")


def verify_bytes(token: str, key: PublicKey) -> tuple[dict[str, Any], bytes]:
    """The header and payload bytes of a compact JWS whose signature `key` made.

    The header's `alg` must fit the key (EdDSA for Ed25519, ES256 for P-256): a token cannot choose
    a weaker check than its key calls for, and `none` is never accepted (RFC 8725 §3.1).
    """
    protected, body, signature = _parts(token)
    header = _header(protected)
    alg = header.get("alg")
    eddsa = alg == "EdDSA" and isinstance(key, Ed25519PublicKey)
    es256 = alg == "ES256" and isinstance(key, ec.EllipticCurvePublicKey)
    if not (eddsa or es256):
        raise JWSProblem(f"alg {alg!r} is not accepted with a key of type {_key_kind(key)}")
    payload = _b64(body, "payload")
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


def verify_by_kid(token: str, keys: Mapping[str, PublicKey]) -> tuple[dict[str, Any], bytes]:
    """The header and payload bytes of a compact JWS signed by the key of `keys` that its `kid` names."""
    kid = _header(_parts(token)[0]).get("kid")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise JWSProblem(f"unknown signing key {kid!r}")
    return verify_bytes(token, key)


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    """The hub's public key as a JWK, with its RFC 7638 thumbprint as `kid`."""
    x = b64url(key.public_bytes(Encoding.Raw, PublicFormat.Raw))
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": thumbprint(x), "alg": "EdDSA", "use": "sig"}


def thumbprint(x: str) -> str:
    """RFC 7638 thumbprint of an Ed25519 public key given by its `x` member."""
    members = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(members.encode("ascii")).digest())


def keys_from_jwks(jwks: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """kid → public key for every Ed25519 key of a JWK Set; other key types are ignored."""
    found: dict[str, Ed25519PublicKey] = {}
    for jwk in jwks.get("keys", []):
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and isinstance(jwk.get("x"), str):
            raw = b64url_decode(jwk["x"])
            found[jwk.get("kid") or thumbprint(jwk["x"])] = Ed25519PublicKey.from_public_bytes(raw)
    return found


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


def _parts(token: str) -> tuple[str, str, str]:
    parts = token.split(".")
    if len(parts) != 3:
        raise JWSProblem("a compact JWS has three parts separated by dots")
    return parts[0], parts[1], parts[2]


def _json_bytes(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _header(protected: str) -> dict[str, Any]:
    return _json_object(_b64(protected, "protected header"), "protected header")


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested deeper than Python parses
        raise JWSProblem(f"the {what} is not base64url JSON") from exc
    if not isinstance(value, dict):
        raise JWSProblem(f"the {what} is not a JSON object")
    return value


def _b64(part: str, what: str) -> bytes:
    try:
        return b64url_decode(part)
    except ValueError as exc:  # JWSProblem, or binascii's: a length no base64 has
        raise JWSProblem(f"the {what} is not base64url") from exc


def _coordinate(jwk: Mapping[str, Any], name: str) -> bytes:
    value = jwk.get(name)
    raw = _b64(value, f"JWK member {name!r}") if isinstance(value, str) else b""
    if len(raw) != _P256_BYTES:  # Ed25519's x is 32 bytes too
        raise JWSProblem(f"the JWK's {name!r} is not 32 bytes of base64url")
    return raw


def _key_kind(key: PublicKey) -> str:
    return "Ed25519" if isinstance(key, Ed25519PublicKey) else f"EC {key.curve.name}"
