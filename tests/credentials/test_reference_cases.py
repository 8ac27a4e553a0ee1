"""Interoperability with the reference implementation, `sd-jwt` 0.10.4, on its own 16 test cases.

Both ways: the reference issuer and holder with Harken's verifier, and Harken's issuer and holder with the
reference verifier. Each case (tests/vectors/sd-jwt/sd-jwt-python/testcases/*/specification.yml) gives
the claims (`!sd` marks what is selectively disclosable), what the holder shows, and the claims a verifier
must end up with, without `iss` and `cnf` (added here, as the upstream runner does).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwcrypto.jwk import JWK
from sd_jwt import holder as reference_holder
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.utils.yaml_specification import load_yaml_specification, remove_sdobj_wrappers
from sd_jwt.verifier import SDJWTVerifier

from harken import jws
from harken.credentials import sdjwt

CASES_DIR = Path(__file__).parent.parent / "vectors" / "sd-jwt" / "sd-jwt-python" / "testcases"
SETTINGS = yaml.safe_load((CASES_DIR / "settings.yml").read_text())
CASES = sorted(path.name for path in CASES_DIR.iterdir() if path.is_dir())
JSON_CASES = [name for name in CASES if name.startswith("json_serialization")]
COMPACT_CASES = [name for name in CASES if name not in JSON_CASES]
ISSUER_ID = SETTINGS["identifiers"]["issuer"]
VERIFIER_ID = SETTINGS["identifiers"]["verifier"]
NONCE = SETTINGS["key_binding_nonce"]
NOW = SETTINGS["iat"]
REFERENCE_TYP = "example+sd-jwt"  # what 0.10.4 puts in the header unless told otherwise


def load(name: str) -> dict[str, Any]:
    case: dict[str, Any] = load_yaml_specification(CASES_DIR / name / "specification.yml")
    return case


def reference_keys() -> tuple[JWK, JWK]:
    return JWK(**SETTINGS["key_settings"]["issuer_key"]), JWK(**SETTINGS["key_settings"]["holder_key"])


def expected_claims(case: dict[str, Any], holder_jwk: dict[str, Any] | None) -> dict[str, Any]:
    expected = {**case["expect_verified_user_claims"], "iss": ISSUER_ID}
    if holder_jwk is not None:
        expected["cnf"] = {"jwk": holder_jwk}
    return expected


def reference_presentation(
    case: dict[str, Any], monkeypatch: pytest.MonkeyPatch, *, serialization: str, header: dict[str, Any]
) -> str:
    """The case issued and presented by sd-jwt 0.10.4, its KB-JWT made at NOW."""
    issuer_key, holder_key = reference_keys()
    with_kb = case.get("key_binding", False)
    issued = SDJWTIssuer(
        {"iss": ISSUER_ID, **case["user_claims"]},
        issuer_key,
        holder_key if with_kb else None,
        serialization_format=serialization,
        extra_header_parameters=header,
    ).sd_jwt_issuance
    monkeypatch.setattr(reference_holder, "time", lambda: NOW)  # the holder reads the clock for the KB iat
    holder = SDJWTHolder(issued, serialization_format=serialization)
    if with_kb:
        holder.create_presentation(case["holder_disclosed_claims"], NONCE, VERIFIER_ID, holder_key)
    else:
        holder.create_presentation(case["holder_disclosed_claims"])
    presentation: str = holder.sd_jwt_presentation
    return presentation


def harken_verify(presentation: str, case: dict[str, Any], kid: str | None = None) -> sdjwt.Verified:
    issuer = jws.public_key_from_jwk(SETTINGS["key_settings"]["issuer_key"])
    return sdjwt.verify(
        presentation,
        keys={kid: issuer},
        now=NOW,
        audience=VERIFIER_ID,
        nonce=NONCE,
        require_key_binding=case.get("key_binding", False),
        accept_typ=(REFERENCE_TYP,),
    )


def public_jwk(key: JWK) -> dict[str, Any]:
    exported: dict[str, Any] = key.export_public(as_dict=True)
    return exported


# The reference issuer and holder, Harken's verifier


@pytest.mark.parametrize("name", COMPACT_CASES)
def test_a_reference_presentation_verifies_to_the_cases_claims(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = load(name)
    # header_mod's kid is the YAML number 42; RFC 7515 §4.1.4 makes kid a string (see the test below).
    header = {k: str(v) if k == "kid" else v for k, v in case.get("extra_header_parameters", {}).items()}
    presentation = reference_presentation(case, monkeypatch, serialization="compact", header=header)

    verified = harken_verify(presentation, case, kid=header.get("kid"))

    holder_jwk = public_jwk(reference_keys()[1]) if case.get("key_binding") else None
    assert verified.claims == expected_claims(case, holder_jwk)
    assert verified.header == {"alg": "ES256", "typ": REFERENCE_TYP, **header}
    assert (verified.key_binding is not None) == bool(case.get("key_binding"))


def test_header_mod_with_its_numeric_kid_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    case = load("header_mod")
    assert case["extra_header_parameters"] == {"kid": 42}
    presentation = reference_presentation(case, monkeypatch, serialization="compact", header={"kid": 42})

    with pytest.raises(sdjwt.CredentialProblem) as problem:
        harken_verify(presentation, case, kid="42")

    assert problem.value.code == "malformed"
    assert "kid 42 is not a string" in str(problem.value)


@pytest.mark.parametrize("name", JSON_CASES)
def test_a_reference_json_serialization_is_read_through_its_compact_form(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Harken speaks the compact serialization only (RFC 9901 §8 makes JSON optional).

    0.10.4's JSON output predates the RFC: `disclosures` and `kb_jwt` sit at the top level rather than in
    the unprotected header, and its KB-JWT's sd_hash covers the JSON text rather than the compact form
    RFC 9901 §8.1 prescribes. So the claims are checked through the compact form without the KB-JWT, and
    the KB-JWT is shown to fail on its sd_hash only.
    """
    case = load(name)
    assert case["serialization_format"] == "json" and case["key_binding"]
    parsed = json.loads(reference_presentation(case, monkeypatch, serialization="json", header={}))
    jwt = f"{parsed['protected']}.{parsed['payload']}.{parsed['signature']}"
    without_kb = "~".join([jwt, *parsed["disclosures"], ""])

    verified = harken_verify(without_kb, {**case, "key_binding": False})
    with pytest.raises(sdjwt.CredentialProblem) as problem:
        harken_verify(without_kb + parsed["kb_jwt"], case)

    assert verified.claims == expected_claims(case, public_jwk(reference_keys()[1]))
    assert problem.value.code == "sd-hash"


# Harken's issuer and holder, the reference verifier


class EdDSAKeyBindingVerifier(SDJWTVerifier):
    """sd-jwt 0.10.4 checks every KB-JWT as ES256; Harken's holders sign theirs with EdDSA."""

    def _verify_key_binding_jwt(
        self, expected_aud: str | None = None, expected_nonce: str | None = None, sign_alg: str | None = None
    ) -> None:
        super()._verify_key_binding_jwt(expected_aud, expected_nonce, sign_alg="EdDSA")


def visible_paths(claims: Any, chosen: Any, prefix: str = "") -> list[str]:
    """The paths the reference holder would show for this case, in Harken's path notation.

    Harken's issuer makes every claim disclosable, so a claim the case leaves plain must be disclosed to
    stay visible; an `!sd` claim is shown when the case's holder shows it (0.10.4's rules: a member when
    its entry is truthy, an array element unless its entry is false or null).
    """
    paths: list[str] = []
    if isinstance(claims, dict):
        for key, value in claims.items():
            name = key.value if isinstance(key, SDObj) else key
            sub = chosen.get(name) if isinstance(chosen, dict) else None
            if isinstance(key, SDObj) and not sub:
                continue
            path = f"{prefix}.{name}" if prefix else name
            paths += [path, *visible_paths(value, sub, path)]
    elif isinstance(claims, list):
        for i, element in enumerate(claims):
            sub = chosen[i] if isinstance(chosen, list) and i < len(chosen) else None
            if isinstance(element, SDObj) and sub in (None, False):
                continue
            value = element.value if isinstance(element, SDObj) else element
            path = f"{prefix}.{i}"
            paths += [path, *visible_paths(value, sub, path)]
    return paths


# Compact cases only: Harken issues the compact serialization alone (RFC 9901 §8 makes JSON optional), so
# the JSON cases have nothing of Harken's to show the reference verifier; their claims are key_binding's,
# which runs here.
@pytest.mark.parametrize("name", COMPACT_CASES)
def test_a_harken_presentation_verifies_with_the_reference_verifier(name: str) -> None:
    case = load(name)
    hub, holder = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    with_kb = bool(case.get("key_binding"))
    claims = {"iss": ISSUER_ID, **remove_sdobj_wrappers(case["user_claims"])}
    if with_kb:
        claims["cnf"] = {"jwk": jws.jwk_of(holder.public_key())}
    issued = sdjwt.issue(claims, key=hub, kid="hub-1", typ=REFERENCE_TYP)
    disclose = visible_paths(case["user_claims"], case["holder_disclosed_claims"])
    presentation = sdjwt.present(
        issued,
        disclose=disclose,
        holder_key=holder if with_kb else None,
        audience=VERIFIER_ID,
        nonce=NONCE,
        iat=NOW,
    )
    hub_jwk = JWK(**jws.jwk_of(hub.public_key()))

    if with_kb:
        verifier = EdDSAKeyBindingVerifier(presentation, lambda iss, header: hub_jwk, VERIFIER_ID, NONCE)
    else:
        verifier = SDJWTVerifier(presentation, lambda iss, header: hub_jwk)

    holder_jwk = jws.jwk_of(holder.public_key()) if with_kb else None
    assert verifier.get_verified_payload() == expected_claims(case, holder_jwk)
    assert harken_verify_own(presentation, hub, with_kb).claims == expected_claims(case, holder_jwk)


def harken_verify_own(presentation: str, hub: Ed25519PrivateKey, with_kb: bool) -> sdjwt.Verified:
    return sdjwt.verify(
        presentation,
        keys={"hub-1": hub.public_key()},
        now=NOW,
        audience=VERIFIER_ID,
        nonce=NONCE,
        require_key_binding=with_kb,
        accept_typ=(REFERENCE_TYP,),
    )
