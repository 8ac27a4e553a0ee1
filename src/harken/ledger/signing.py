"""Ed25519 JWS (RFC 7515 compact serialisation, RFC 8037 EdDSA) and JWKs (RFC 7517, RFC 7638).

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
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


class SignatureProblem(ValueError):
    """A JWS that is malformed, signed by an unknown key, or whose signature does not match."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not _B64URL.fullmatch(text):
        raise SignatureProblem("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_B64URL = re.compile(r"[A-Za-z0-9_-]+")  # fullmatch: not \Z-anchored `$`, so no trailing newline slips by


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    """The public key as a JWK, with its RFC 7638 thumbprint as `kid`."""
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


def sign(payload: bytes, key: Ed25519PrivateKey, *, kid: str, typ: str | None = None) -> str:
    """A compact JWS over `payload`, header {alg: EdDSA, kid, typ}."""
    header: dict[str, str] = {"alg": "EdDSA", "kid": kid}
    if typ:
        header["typ"] = typ
    signing_input = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + b64url(payload)
    return signing_input + "." + b64url(key.sign(signing_input.encode("ascii")))


def verify(jws: str, keys: Mapping[str, Ed25519PublicKey]) -> tuple[dict[str, Any], bytes]:
    """The protected header and payload of a compact JWS signed by one of `keys`.

    Raises SignatureProblem when the token is malformed, names an unknown key or algorithm,
    or its signature does not match.
    """
    parts = jws.split(".")
    if len(parts) != 3:
        raise SignatureProblem("a compact JWS has three parts separated by dots")
    try:
        header = json.loads(b64url_decode(parts[0]))
    except ValueError as exc:
        raise SignatureProblem("the protected header is not base64url JSON") from exc
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        raise SignatureProblem("only alg EdDSA (Ed25519) is accepted")
    key = keys.get(header.get("kid", ""))
    if key is None:
        raise SignatureProblem(f"unknown signing key {header.get('kid')!r}")
    payload = b64url_decode(parts[1])
    try:
        key.verify(b64url_decode(parts[2]), f"{parts[0]}.{parts[1]}".encode("ascii"))
    except InvalidSignature as exc:
        raise SignatureProblem("the signature does not match the content") from exc
    return header, payload
