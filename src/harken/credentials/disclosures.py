"""SD-JWT disclosures (RFC 9901 §4.2, §7.1): their digests, and a payload with the offered disclosures put in
place of the digests that name them, each refused with a CredentialProblem when it breaks a rule. What
`sdjwt` issues, presents and verifies with.

Pure: no keys, no clock.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from harken import jws
from harken.jws import JWSProblem, b64url, b64url_decode

Code = Literal[
    "malformed",
    "typ",
    "unknown-kid",
    "signature",
    "sd-alg",
    "expired",
    "not-yet-valid",
    "disclosure",
    "key-binding-missing",
    "key-binding",
    "nonce",
    "audience",
    "sd-hash",
    "status-list",
    "revoked",
]


SD_ALG = "sha-256"


class CredentialProblem(ValueError):
    """A credential or presentation to reject; `code` is a stable slug naming the rule it broke."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code: Code = code


@dataclass(frozen=True, slots=True)
class Disclosure:
    """One disclosure of an issued credential, with the path of the claim it reveals."""

    path: str
    name: str | None  # None for an array element
    value: Any  # as issued: a nested object still carries the digests of its own disclosures
    encoded: str  # the exact text the digest covers: what a presentation sends
    digest: str
    parent: str | None  # the path of the disclosure carrying this one's digest; None: the issuer-signed JWT


def digest(text: str) -> str:
    """The sha-256 digest of a disclosure or of a presentation, as sent (§4.2.3, §4.3.1).

    There is no canonical form: the digest is over the issuer's own base64url text.
    """
    return b64url(hashlib.sha256(text.encode("ascii")).digest())


class _Parsed(NamedTuple):
    encoded: str
    digest: str
    name: str | None
    value: Any


@dataclass
class _Unpacking:
    """The state of one walk over a payload: which disclosures were offered, which digests were seen."""

    offered: dict[str, _Parsed]
    seen: set[str] = field(default_factory=set)
    found: list[Disclosure] = field(default_factory=list)

    def take(self, embedded: str) -> _Parsed | None:
        """The disclosure an embedded digest names, if offered; None for a decoy or an undisclosed claim."""
        if embedded in self.seen:
            raise CredentialProblem("disclosure", f"the digest {embedded} appears more than once")
        self.seen.add(embedded)
        return self.offered.get(embedded)


def split(text: str) -> tuple[str, list[str], str]:
    parts = text.split("~")
    if len(parts) < 2 or not parts[0]:
        raise CredentialProblem("malformed", "an SD-JWT is <JWT>~<disclosures>~, then a KB-JWT or nothing")
    if not all(parts[1:-1]):
        raise CredentialProblem("malformed", "an SD-JWT has an empty disclosure between two '~'")
    return parts[0], parts[1:-1], parts[-1]


def unverified(jwt: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        return jws.unverified(jwt)
    except JWSProblem as exc:
        raise CredentialProblem("malformed", f"the signed JWT: {exc}") from exc


def process(payload: dict[str, Any], encoded: list[str]) -> tuple[dict[str, Any], list[Disclosure]]:
    """The payload with the offered disclosures put in place of their digests (§7.1 steps 3 to 5)."""
    if payload.get("_sd_alg", SD_ALG) != SD_ALG:
        raise CredentialProblem("sd-alg", f"_sd_alg {payload.get('_sd_alg')!r} is not sha-256")
    offered: dict[str, _Parsed] = {}
    for text in encoded:
        parsed = _parse(text)
        if parsed.digest in offered:
            raise CredentialProblem("disclosure", "a disclosure is sent twice")
        offered[parsed.digest] = parsed
    unpacking = _Unpacking(offered)
    claims = _unpack_object(payload, "", None, unpacking)
    claims.pop("_sd_alg", None)
    unreferenced = len(offered) - len(unpacking.found)
    if unreferenced:
        raise CredentialProblem("disclosure", f"{unreferenced} disclosure(s) are referenced by no digest")
    return claims, unpacking.found


def _parse(encoded: str) -> _Parsed:
    try:
        contents = json.loads(b64url_decode(encoded))
    except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested deeper than Python parses
        raise CredentialProblem("disclosure", "a disclosure is not base64url JSON") from exc
    if (
        not isinstance(contents, list)
        or len(contents) not in (2, 3)
        or not isinstance(contents[0], str)
        or (len(contents) == 3 and not isinstance(contents[1], str))
    ):
        raise CredentialProblem("disclosure", "a disclosure is [salt, name, value] or [salt, value]")
    name = contents[1] if len(contents) == 3 else None
    return _Parsed(encoded=encoded, digest=digest(encoded), name=name, value=contents[-1])


def _unpack(value: Any, path: str, parent: str | None, unpacking: _Unpacking) -> Any:
    if isinstance(value, dict):
        return _unpack_object(value, path, parent, unpacking)
    if isinstance(value, list):
        return _unpack_array(value, path, parent, unpacking)
    return value


def _unpack_object(
    obj: dict[str, Any], path: str, parent: str | None, unpacking: _Unpacking
) -> dict[str, Any]:
    embedded = obj.get("_sd", [])
    if not isinstance(embedded, list) or not all(isinstance(d, str) for d in embedded):
        raise CredentialProblem("malformed", f"_sd of {path or 'the payload'!r} is not an array of digests")
    out = {name: _unpack(v, join(path, name), parent, unpacking) for name, v in obj.items() if name != "_sd"}
    for embedded_digest in embedded:
        parsed = unpacking.take(embedded_digest)
        if parsed is None:
            continue
        if parsed.name is None:
            raise CredentialProblem("disclosure", f"an array element's disclosure is in _sd of {path!r}")
        if parsed.name in ("_sd", "..."):
            raise CredentialProblem("disclosure", f"a disclosure may not be named {parsed.name!r}")
        if parsed.name in out:
            raise CredentialProblem("disclosure", f"a disclosure repeats {join(path, parsed.name)!r}")
        child = join(path, parsed.name)
        unpacking.found.append(
            Disclosure(child, parsed.name, parsed.value, parsed.encoded, parsed.digest, parent)
        )
        out[parsed.name] = _unpack(parsed.value, child, child, unpacking)
    return out


def _unpack_array(array: list[Any], path: str, parent: str | None, unpacking: _Unpacking) -> list[Any]:
    out: list[Any] = []
    for i, element in enumerate(array):
        child = join(path, str(i))
        if not is_element_digest(element):
            out.append(_unpack(element, child, parent, unpacking))
            continue
        parsed = unpacking.take(element["..."])
        if parsed is None:
            continue
        if parsed.name is not None:
            raise CredentialProblem("disclosure", f"an object member's disclosure is array element {child!r}")
        unpacking.found.append(Disclosure(child, None, parsed.value, parsed.encoded, parsed.digest, parent))
        out.append(_unpack(parsed.value, child, child, unpacking))
    return out


def is_element_digest(element: Any) -> bool:
    """Whether an array element is {"...": digest} (§4.2.4.2); other objects are plain elements."""
    return isinstance(element, dict) and len(element) == 1 and isinstance(element.get("..."), str)


def join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
