"""SD-JWT VCs (RFC 9901, SD-JWT VC): the hub issues, the customer presents a chosen part, a business verifies.

    issued        <issuer-signed JWT>~<disclosure>~...~<disclosure>~
    presented     <issuer-signed JWT>~<the chosen disclosures>~<KB-JWT>

A disclosure is base64url([salt, name, value]) for an object's member or base64url([salt, value]) for an
array element; the signed payload carries only its sha-256 digest, so a claim is revealed by sending its
disclosure and hidden by leaving it out. The KB-JWT, signed by the key in the credential's `cnf`, binds one
presentation to one verifier (`aud`), one request (`nonce`) and its disclosures (`sd_hash`).

A claim is named by its path: member names joined by dots, array elements by their index in the issued
array ("trip.arrival", "memories.0").

Pure: keys, the time and the salt source come in as arguments.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harken import jws
from harken.credentials.disclosures import (
    SD_ALG,
    Code,
    CredentialProblem,
    Disclosure,
    digest,
    join,
    process,
    split,
    unverified,
)
from harken.jws import JWSProblem, PublicKey, b64url

__all__ = [  # what callers use; the disclosures' own rules live in harken.credentials.disclosures
    "ALWAYS_VISIBLE",
    "NEVER_SELECTIVE",
    "Code",
    "CredentialProblem",
    "Disclosure",
    "Verified",
    "digest",
    "disclosures",
    "issue",
    "new_salt",
    "present",
    "verify",
    "verify_jwt",
]

# SD-JWT VC §3.2.2.2: a verifier must see these to judge the credential at all, so they are never selective.
NEVER_SELECTIVE = ("iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status")


ALWAYS_VISIBLE = (*NEVER_SELECTIVE, "iat")


ACCEPTED_TYP = ("dc+sd-jwt", "vc+sd-jwt")  # vc+sd-jwt: the SD-JWT VC media type until November 2024


KB_TYP = "kb+jwt"


# Names the format gives a meaning of its own; a claim by one of these names would be read as structure.
RESERVED_NAMES = frozenset({"_sd", "...", "_sd_alg"})


SaltSource = Callable[[], str]


@dataclass(frozen=True, slots=True)
class Verified:
    """What a verifier may rely on: the issuer signed these claims and the holder chose to show them."""

    header: dict[str, Any]
    claims: dict[str, Any]  # the processed payload: permanently visible claims and the disclosed ones only
    disclosed: tuple[str, ...]  # the paths of the disclosures presented
    key_binding: dict[str, Any] | None  # the KB-JWT's payload when key binding was required


def new_salt() -> str:
    """128 bits from the operating system's CSPRNG, as RFC 9901 §9.3 recommends."""
    return b64url(secrets.token_bytes(16))


def issue(
    claims: Mapping[str, Any],
    *,
    key: Ed25519PrivateKey,
    kid: str,
    always_visible: Collection[str] = ALWAYS_VISIBLE,
    typ: str = "dc+sd-jwt",
    decoys: int = 4,
    salt: SaltSource = new_salt,
) -> str:
    """An SD-JWT in which every claim is selectively disclosable except the top-level `always_visible` ones.

    Disclosability is recursive: each member of a nested object and each array element has a disclosure of
    its own, so a holder can show "trip.arrival" without "trip.departure". The `NEVER_SELECTIVE` claims are
    issued in the clear whatever `always_visible` says, and verbatim (a `status` object is not taken apart).
    Each object's `_sd` is padded with decoy digests to a multiple of `decoys`, so a verifier learns how many
    claims an object hides only to within that many (§4.2.5); 0 adds none.
    """
    visible = frozenset(always_visible) | frozenset(NEVER_SELECTIVE)
    issuance = _Issuance(salt=salt, decoys=decoys)
    payload = issuance.conceal_object(claims, "", visible)
    payload["_sd_alg"] = SD_ALG
    jwt = jws.sign({"typ": typ, "kid": kid}, payload, key)
    return "~".join([jwt, *issuance.disclosures, ""])


def disclosures(sd_jwt: str) -> dict[str, Disclosure]:
    """Every disclosure of an issued SD-JWT by the path of its claim, for a holder choosing what to show.

    Checks the structure (§7.1 steps 3 to 5), not the issuer's signature: verify() does that.
    """
    jwt, encoded, kb_jwt = split(sd_jwt)
    if kb_jwt:
        raise CredentialProblem("malformed", "an SD-JWT+KB was given where an issued SD-JWT was expected")
    _, found = process(unverified(jwt)[1], encoded)
    by_path: dict[str, Disclosure] = {}
    for disclosure in found:
        if disclosure.path in by_path:
            raise CredentialProblem("disclosure", f"two disclosures have the path {disclosure.path!r}")
        by_path[disclosure.path] = disclosure
    return by_path


def present(
    sd_jwt: str,
    *,
    disclose: Collection[str],
    holder_key: Ed25519PrivateKey | None,
    audience: str,
    nonce: str,
    iat: int,
) -> str:
    """A presentation revealing the claims at the `disclose` paths and no other selectively disclosable claim.

    Each chosen disclosure travels with the disclosures enclosing it, without which it would not connect
    to the issuer-signed JWT (§7.2). With a `holder_key` the presentation ends in a KB-JWT for `audience`
    and `nonce`; without one it ends in "~" (an SD-JWT without key binding).
    """
    jwt = split(sd_jwt)[0]
    available = disclosures(sd_jwt)
    chosen: set[str] = set()
    for path in disclose:
        found = available.get(path)
        if found is None:
            raise CredentialProblem("disclosure", f"the credential has no selectively disclosable {path!r}")
        while found is not None and found.path not in chosen:
            chosen.add(found.path)
            found = available[found.parent] if found.parent is not None else None
    kept = [d.encoded for d in available.values() if d.path in chosen]
    presented = "~".join([jwt, *kept, ""])
    if holder_key is None:
        return presented
    kb = {"iat": iat, "aud": audience, "nonce": nonce, "sd_hash": digest(presented)}
    return presented + jws.sign({"typ": KB_TYP}, kb, holder_key)


def verify(
    presentation: str,
    *,
    keys: Mapping[str | None, PublicKey],
    now: int,
    audience: str | None,
    nonce: str | None,
    require_key_binding: bool = True,
    max_kb_age: int = 300,
    accept_typ: Collection[str] = ACCEPTED_TYP,
    leeway: int = 0,
) -> Verified:
    """The verified header and disclosed claims of a presentation, or CredentialProblem saying why not.

    `keys` maps the issuer's `kid` to its key (None for a JWT without kid). Whether key binding is required
    is the verifier's policy, never read from the presentation (§7.3): when it is, the KB-JWT must be signed
    by the credential's `cnf.jwk`, be at most `max_kb_age` seconds old, and name `audience`, `nonce` and this
    presentation's `sd_hash`; when it is not, a KB-JWT is refused rather than ignored.
    """
    if require_key_binding and (audience is None or nonce is None):
        raise ValueError("a verifier requiring key binding must say which audience and nonce it expects")
    jwt, encoded, kb_jwt = split(presentation)
    header, payload = verify_jwt(jwt, keys=keys, accept_typ=accept_typ)
    claims, found = process(payload, encoded)
    _check_validity(claims, now=now, leeway=leeway)
    key_binding = None
    if require_key_binding:
        assert audience is not None and nonce is not None  # checked above; says so to mypy
        presented = presentation[: len(presentation) - len(kb_jwt)]
        key_binding = _verify_key_binding(
            kb_jwt,
            claims,
            presented,
            audience=audience,
            nonce=nonce,
            now=now,
            max_age=max_kb_age,
            leeway=leeway,
        )
    elif kb_jwt:
        raise CredentialProblem("malformed", "the presentation has a KB-JWT; no key binding was asked for")
    return Verified(header, claims, tuple(d.path for d in found), key_binding)


def verify_jwt(
    jwt: str, *, keys: Mapping[str | None, PublicKey], accept_typ: Collection[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and payload of a JWT of an accepted `typ`, signed by the key its `kid` names in `keys`.

    The issuer-signed part of an SD-JWT, and a Status List Token, are checked this way.
    """
    header, _ = unverified(jwt)
    if header.get("typ") not in accept_typ:
        raise CredentialProblem("typ", f"typ {header.get('typ')!r} is not one of {sorted(accept_typ)}")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise CredentialProblem("malformed", f"kid {kid!r} is not a string (RFC 7515 §4.1.4)")
    key = keys.get(kid)
    if key is None:
        raise CredentialProblem("unknown-kid", f"no issuer key has kid {kid!r}")
    try:
        return jws.verify(jwt, key)
    except JWSProblem as exc:
        raise CredentialProblem("signature", f"the issuer's signature: {exc}") from exc


@dataclass
class _Issuance:
    """The disclosures made while concealing a credential's claims, in the order made."""

    salt: SaltSource
    decoys: int
    disclosures: list[str] = field(default_factory=list)
    paths: set[str] = field(default_factory=set)

    def conceal_object(self, obj: Mapping[str, Any], path: str, visible: Collection[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        digests: list[str] = []
        for name, value in obj.items():
            if name in RESERVED_NAMES:
                raise CredentialProblem("malformed", f"{join(path, name)!r}: {name!r} is reserved by SD-JWT")
            if name in visible:
                _refuse_reserved_names(value, join(path, name))
                out[name] = value
            else:
                concealed = self.conceal(value, join(path, name))
                digests.append(self.disclose(join(path, name), [self.salt(), name, concealed]))
        if self.decoys > 0:
            digests += [digest(self.salt()) for _ in range(-len(digests) % self.decoys)]
        if digests:
            out["_sd"] = sorted(digests)  # sorted: the order must not tell which digest is which (§4.2.4.1)
        return out

    def conceal(self, value: Any, path: str) -> Any:
        if isinstance(value, Mapping):
            return self.conceal_object(value, path, visible=())
        if isinstance(value, list | tuple):
            elements = []
            for i, element in enumerate(value):
                element_path = join(path, str(i))
                contents = [self.salt(), self.conceal(element, element_path)]
                elements.append({"...": self.disclose(element_path, contents)})
            return elements
        return value

    def disclose(self, path: str, contents: list[Any]) -> str:
        """Record a disclosure; its digest, to embed. Paths must stay unique for holders to name claims."""
        if path in self.paths:
            raise CredentialProblem("malformed", f"two claims would have the path {path!r}")
        self.paths.add(path)
        text = json.dumps(contents, separators=(",", ":"), ensure_ascii=False)
        encoded = b64url(text.encode("utf-8"))
        self.disclosures.append(encoded)
        return digest(encoded)


def _refuse_reserved_names(value: Any, path: str) -> None:
    if isinstance(value, Mapping):
        for name, member in value.items():
            if name in RESERVED_NAMES:
                raise CredentialProblem("malformed", f"{join(path, name)!r}: {name!r} is reserved by SD-JWT")
            _refuse_reserved_names(member, join(path, name))
    elif isinstance(value, list | tuple):
        for i, element in enumerate(value):
            _refuse_reserved_names(element, join(path, str(i)))


def _check_validity(claims: Mapping[str, Any], *, now: int, leeway: int) -> None:
    """exp and nbf, read after processing: a verifier must cope with them having been disclosable (§9.7)."""
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if exp is not None:
        if not _is_numeric_date(exp):
            raise CredentialProblem("malformed", "exp is not a NumericDate")
        if now >= exp + leeway:
            raise CredentialProblem("expired", f"the credential expired at {exp} (now {now})")
    if nbf is not None:
        if not _is_numeric_date(nbf):
            raise CredentialProblem("malformed", "nbf is not a NumericDate")
        if now < nbf - leeway:
            raise CredentialProblem("not-yet-valid", f"the credential is not valid before {nbf} (now {now})")


def _verify_key_binding(
    kb_jwt: str,
    claims: Mapping[str, Any],
    presented: str,
    *,
    audience: str,
    nonce: str,
    now: int,
    max_age: int,
    leeway: int,
) -> dict[str, Any]:
    """The KB-JWT's payload, checked as §7.3 says; `presented` is everything before it, last "~" included."""
    if not kb_jwt:
        raise CredentialProblem("key-binding-missing", "key binding is required; the presentation has none")
    try:
        header, _ = jws.unverified(kb_jwt)
    except JWSProblem as exc:
        raise CredentialProblem("key-binding", f"the KB-JWT: {exc}") from exc
    if header.get("typ") != KB_TYP:
        raise CredentialProblem("key-binding", f"the KB-JWT's typ is {header.get('typ')!r}, not {KB_TYP!r}")
    cnf = claims.get("cnf")
    holder_jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(holder_jwk, dict):
        raise CredentialProblem("key-binding", "the credential names no holder key (cnf.jwk)")
    try:
        _, payload = jws.verify(kb_jwt, jws.public_key_from_jwk(holder_jwk))
    except JWSProblem as exc:
        raise CredentialProblem("key-binding", f"the KB-JWT is not by the holder key in cnf: {exc}") from exc
    iat = payload.get("iat")
    if not _is_numeric_date(iat):
        raise CredentialProblem("key-binding", "the KB-JWT has no iat")
    if iat > now + leeway:
        raise CredentialProblem("key-binding", f"the KB-JWT was issued in the future ({iat}, now {now})")
    if now - iat > max_age + leeway:
        raise CredentialProblem("key-binding", f"the KB-JWT is {now - iat} s old, more than {max_age} s")
    if payload.get("nonce") != nonce:
        raise CredentialProblem("nonce", "the KB-JWT was made for another nonce")
    if payload.get("aud") != audience:
        raise CredentialProblem("audience", f"the KB-JWT is for {payload.get('aud')!r}, not {audience!r}")
    if payload.get("sd_hash") != digest(presented):
        raise CredentialProblem("sd-hash", "the KB-JWT's sd_hash does not match the presented SD-JWT")
    return payload


def _is_numeric_date(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
