"""Token Status List (draft-ietf-oauth-status-list-18): whether an issued credential still holds.

A credential's `status.status_list` names a list (`uri`) and its place in it (`idx`). The list is one
status per credential, `bits` bits each, packed from the least significant bit of each byte (index 0 is
bit 0 of byte 0), then DEFLATE-compressed in the zlib format and base64url-encoded without padding (`lst`).
The hub publishes it as a signed Status List Token (`typ: statuslist+jwt`) whose `sub` is the list's uri.

Pure: keys and the time come in as arguments.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harken import jws
from harken.credentials.sdjwt import CredentialProblem, verify_jwt
from harken.jws import PublicKey, b64url, b64url_decode

VALID = 0
INVALID = 1  # revoked for good
SUSPENDED = 2  # needs bits >= 2
BITS = (1, 2, 4, 8)
TYP = "statuslist+jwt"
# A list of 2^24 one-byte statuses is 16 MiB; more than that from a few kilobytes of `lst` is a zip bomb.
MAX_LIST_BYTES = 1 << 24


def encode(statuses: Sequence[int], bits: int) -> str:
    """The `lst` of a status list: packed, zlib at level 9 (the highest, as §4.1 recommends), base64url."""
    if bits not in BITS:
        raise ValueError(f"bits is one of {BITS}, not {bits}")
    per_byte = 8 // bits
    packed = bytearray(-(-len(statuses) // per_byte))
    for idx, status in enumerate(statuses):
        if not 0 <= status < 1 << bits:
            raise ValueError(f"status {status} at index {idx} does not fit in {bits} bit(s)")
        packed[idx // per_byte] |= status << ((idx % per_byte) * bits)
    return b64url(zlib.compress(bytes(packed), 9))


def decode(lst: str, bits: int) -> list[int]:
    """Every status of a list, the padding of its last byte included (8 // bits entries per byte)."""
    raw = _decompress(lst, bits)
    per_byte, mask = 8 // bits, (1 << bits) - 1
    return [(byte >> (k * bits)) & mask for byte in raw for k in range(per_byte)]


def status_at(lst: str, bits: int, idx: int) -> int:
    """The status at `idx`; an index outside the list is a CredentialProblem, never VALID (§8.3)."""
    raw = _decompress(lst, bits)
    per_byte = 8 // bits
    if not 0 <= idx < len(raw) * per_byte:
        raise CredentialProblem(
            "status-list", f"index {idx} is outside the list's {len(raw) * per_byte} entries"
        )
    return (raw[idx // per_byte] >> ((idx % per_byte) * bits)) & ((1 << bits) - 1)


def token(
    *,
    uri: str,
    statuses: Sequence[int],
    bits: int,
    iat: int,
    exp: int,
    ttl: int,
    key: Ed25519PrivateKey,
    kid: str,
) -> str:
    """A Status List Token (§5.1): the list at `uri`, valid until `exp`, to be cached for at most `ttl` s."""
    status_list = {"bits": bits, "lst": encode(statuses, bits)}
    payload = {"sub": uri, "iat": iat, "exp": exp, "ttl": ttl, "status_list": status_list}
    return jws.sign({"typ": TYP, "kid": kid}, payload, key)


def read_token(
    status_token: str, *, keys: Mapping[str | None, PublicKey], uri: str, now: int
) -> tuple[int, str]:
    """`bits` and `lst` of a Status List Token signed by one of `keys`, for `uri`, not expired at `now`."""
    _, payload = verify_jwt(status_token, keys=keys, accept_typ=(TYP,))
    if payload.get("sub") != uri:
        raise CredentialProblem("status-list", f"the token is the list {payload.get('sub')!r}, not {uri!r}")
    iat, exp = payload.get("iat"), payload.get("exp")
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise CredentialProblem("malformed", "a Status List Token has an iat")
    if exp is not None and (not isinstance(exp, int | float) or isinstance(exp, bool)):
        raise CredentialProblem("malformed", "the Status List Token's exp is not a NumericDate")
    if exp is not None and now >= exp:
        raise CredentialProblem("expired", f"the Status List Token expired at {exp} (now {now})")
    status_list = payload.get("status_list")
    if not isinstance(status_list, dict):
        raise CredentialProblem("malformed", "the Status List Token has no status_list")
    bits, lst = status_list.get("bits"), status_list.get("lst")
    if bits not in BITS or not isinstance(lst, str):
        raise CredentialProblem("malformed", "status_list is {bits: 1, 2, 4 or 8, lst: a string}")
    return bits, lst


def _decompress(lst: str, bits: int) -> bytes:
    if bits not in BITS:
        raise CredentialProblem("status-list", f"bits is one of {BITS}, not {bits}")
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(b64url_decode(lst), MAX_LIST_BYTES)
    except (ValueError, zlib.error) as exc:
        raise CredentialProblem("malformed", "lst is not base64url zlib data") from exc
    if inflater.unconsumed_tail:
        raise CredentialProblem("status-list", f"the list is larger than {MAX_LIST_BYTES} bytes")
    if not inflater.eof:
        raise CredentialProblem("malformed", "lst ends before its compressed data does")
    return raw


def reference(claims: Mapping[str, Any]) -> tuple[str, int]:
    """The `uri` and `idx` of a credential's `status.status_list` (§6.1)."""
    status = claims.get("status")
    entry = status.get("status_list") if isinstance(status, dict) else None
    uri, idx = (entry.get("uri"), entry.get("idx")) if isinstance(entry, dict) else (None, None)
    if not isinstance(uri, str) or not isinstance(idx, int) or isinstance(idx, bool) or idx < 0:
        raise CredentialProblem("status-list", "the credential has no status.status_list {idx, uri}")
    return uri, idx


def check(
    claims: Mapping[str, Any], *, status_token: str, keys: Mapping[str | None, PublicKey], now: int
) -> None:
    """Nothing if the credential's status in its list's token is VALID; CredentialProblem("revoked")
    for any other status (revoked or suspended)."""
    uri, idx = reference(claims)
    bits, lst = read_token(status_token, keys=keys, uri=uri, now=now)
    status = status_at(lst, bits, idx)
    if status != VALID:
        raise CredentialProblem("revoked", f"the credential's status is {status} at {uri} index {idx}")
