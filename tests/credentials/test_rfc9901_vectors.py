"""Harken's SD-JWT verifier against RFC 9901's examples (tests/vectors/sd-jwt/rfc9901-examples.json).

The RFC's issuer and holder sign with ES256 and its SD-JWTs are typed `example+sd-jwt` (A.3: `dc+sd-jwt`)
and carry no kid, so these tests pass the A.5 key for a kid of None and accept both types.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harken import jws
from harken.credentials import sdjwt
from harken.jws import b64url_decode

RFC = json.loads((Path(__file__).parent.parent / "vectors" / "sd-jwt" / "rfc9901-examples.json").read_text())
EXAMPLES: dict[str, dict[str, Any]] = RFC["examples"]
ISSUER = jws.public_key_from_jwk(RFC["keys"]["issuer_public_jwk"]["jwk"])
HOLDER_JWK = RFC["keys"]["holder_public_jwk"]["jwk"]
TYPES = ("example+sd-jwt", "dc+sd-jwt")
KB_IAT = EXAMPLES["section_5"]["presentation"]["kb_jwt_payload"]["iat"]  # every example KB-JWT's iat
AUDIENCE = EXAMPLES["section_5"]["presentation"]["expected_aud"]
NONCE = EXAMPLES["section_5"]["presentation"]["expected_nonce"]

SIGNED = [name for name, example in EXAMPLES.items() if "issuer_signed_jwt" in example]
PRESENTED = [name for name, example in EXAMPLES.items() if "presentation" in example]
WITH_KB = [name for name in PRESENTED if "sd_jwt_kb" in EXAMPLES[name]["presentation"]]


def verify_without_kb(text: str, *, now: int = KB_IAT) -> sdjwt.Verified:
    return sdjwt.verify(
        text,
        keys={None: ISSUER},
        now=now,
        audience=None,
        nonce=None,
        require_key_binding=False,
        accept_typ=TYPES,
    )


def verify_with_kb(text: str, *, now: int = KB_IAT) -> sdjwt.Verified:
    return sdjwt.verify(text, keys={None: ISSUER}, now=now, audience=AUDIENCE, nonce=NONCE, accept_typ=TYPES)


def issuance(example: dict[str, Any]) -> str:
    """The example's SD-JWT with every disclosure (§4: <JWT>~<D1>~...~<Dn>~)."""
    return "~".join([example["issuer_signed_jwt"], *(d["disclosure"] for d in example["disclosures"]), ""])


def signed_by_test_key(payload: dict[str, Any], disclosures: list[str]) -> tuple[str, dict[str | None, Any]]:
    """An SD-JWT over an RFC payload the RFC itself does not sign (§4.2, §6), signed here by a test key."""
    key = Ed25519PrivateKey.generate()
    jwt = jws.sign({"typ": "dc+sd-jwt"}, payload, key)
    return "~".join([jwt, *disclosures, ""]), {None: key.public_key()}


# §4.2: disclosures and their digests


def test_the_object_property_and_array_element_digests_of_section_4_2() -> None:
    for example in ("section_4_2_1_object_property", "section_4_2_2_array_element"):
        vector = RFC["disclosure_examples"][example]
        assert sdjwt.digest(vector["disclosure"]) == vector["sha256_digest"]
        assert json.loads(b64url_decode(vector["disclosure"])) == vector["array"]


def test_the_recursive_example_digests_of_section_4_2_6() -> None:
    for item in RFC["disclosure_examples"]["section_4_2_6_recursive"]["items"]:
        assert sdjwt.digest(item["disclosure_derived"]) == item["sha256_digest"]


def test_each_equivalent_encoding_of_a_disclosure_has_its_own_digest_and_the_same_claim() -> None:
    for item in RFC["disclosure_examples"]["section_4_2_1_equivalent_encodings"]["items"]:
        assert sdjwt.digest(item["disclosure"]) == item["sha256_digest_derived"]
        text, keys = signed_by_test_key({"_sd": [item["sha256_digest_derived"]]}, [item["disclosure"]])

        claims = sdjwt.verify(
            text, keys=keys, now=0, audience=None, nonce=None, require_key_binding=False
        ).claims

        assert claims == {"family_name": "Möbius"}


@pytest.mark.parametrize("disclosed", [True, False])
def test_an_array_element_is_revealed_in_place_or_removed_section_4_2_2(disclosed: bool) -> None:
    vector = RFC["disclosure_examples"]["section_4_2_2_array_element"]
    text, keys = signed_by_test_key(vector["payload_example"], [vector["disclosure"]] if disclosed else [])

    claims = sdjwt.verify(text, keys=keys, now=0, audience=None, nonce=None, require_key_binding=False).claims

    expected = vector["expected_if_disclosed"] if disclosed else vector["expected_if_not_disclosed"]
    assert claims == {"nationalities": expected}


@pytest.mark.parametrize("name", [name for name in EXAMPLES if "disclosures" in EXAMPLES[name]])
def test_every_example_disclosure_hashes_to_its_printed_digest(name: str) -> None:
    for vector in EXAMPLES[name]["disclosures"]:
        assert sdjwt.digest(vector["disclosure"]) == vector["sha256_digest"]
        assert json.loads(b64url_decode(vector["disclosure"])) == vector["contents"]


# §5 and Appendix A: signed examples


@pytest.mark.parametrize("name", SIGNED)
def test_the_issuer_signed_jwt_verifies_with_the_published_key(name: str) -> None:
    example = EXAMPLES[name]

    header, payload = jws.verify(example["issuer_signed_jwt"], ISSUER)

    assert payload == example["payload_decoded"]
    assert header == example.get("header_decoded", header)
    assert header["alg"] == "ES256"


@pytest.mark.parametrize("name", SIGNED)
def test_the_whole_issuance_yields_the_input_claims(name: str) -> None:
    """Every disclosure presented: the processed payload is the RFC's input claims plus the plain claims."""
    example = EXAMPLES[name]
    if "sd_jwt" in example:
        assert issuance(example) == example["sd_jwt"]
    plain = {k: v for k, v in example["payload_decoded"].items() if k not in ("_sd", "_sd_alg")}

    verified = verify_without_kb(issuance(example))

    assert verified.claims == {**plain, **example["input_claims"]}
    assert len(verified.disclosed) == len(example["disclosures"])


@pytest.mark.parametrize("name", SIGNED)
def test_a_holder_sees_each_disclosure_by_its_name_and_digest(name: str) -> None:
    example = EXAMPLES[name]

    found = sdjwt.disclosures(issuance(example))

    by_digest = {d.digest: d for d in found.values()}
    assert set(by_digest) == {v["sha256_digest"] for v in example["disclosures"]}
    for vector in example["disclosures"]:
        disclosure = by_digest[vector["sha256_digest"]]
        assert disclosure.encoded == vector["disclosure"]
        assert disclosure.value == vector["contents"][-1]
        if vector["claim"] != "[array entry]":
            assert disclosure.name == vector["claim"] == disclosure.path.rsplit(".", 1)[-1]


def test_the_section_5_paths_name_the_claims_and_the_array_elements_by_index() -> None:
    assert set(sdjwt.disclosures(EXAMPLES["section_5"]["sd_jwt"])) == {
        "given_name",
        "family_name",
        "email",
        "phone_number",
        "phone_number_verified",
        "address",
        "birthdate",
        "updated_at",
        "nationalities.0",
        "nationalities.1",
    }


def test_appendix_a1_decoy_digests_have_no_disclosure_and_are_ignored() -> None:
    example = EXAMPLES["appendix_A_1"]
    payload = example["payload_decoded"]
    embedded = payload["_sd"] + payload["address"]["_sd"]

    verified = verify_without_kb(issuance(example))

    assert set(example["decoy_digests"]) <= set(embedded)
    assert not set(example["decoy_digests"]) & {
        d.digest for d in sdjwt.disclosures(issuance(example)).values()
    }
    assert "_sd" not in verified.claims["address"]


@pytest.mark.parametrize("name", PRESENTED)
def test_the_presentation_verifies_to_the_rfcs_processed_payload(name: str) -> None:
    presentation = EXAMPLES[name]["presentation"]

    if "sd_jwt_kb" in presentation:
        verified = verify_with_kb(presentation["sd_jwt_kb"])
        kb_payload = presentation.get("kb_jwt_payload") or presentation["kb_jwt_payload_decoded"]
        assert verified.key_binding == kb_payload
        assert verified.claims["cnf"] == {"jwk": HOLDER_JWK}
    else:
        verified = verify_without_kb(presentation["sd_jwt"])
        assert verified.key_binding is None

    assert verified.claims == presentation["expected_processed_payload"]


def test_the_section_5_sd_hash_is_over_the_presentation_up_to_the_last_tilde() -> None:
    presentation = EXAMPLES["section_5"]["presentation"]

    assert presentation["sd_jwt_kb"].startswith(presentation["sd_hash_input_derived"])
    assert sdjwt.digest(presentation["sd_hash_input_derived"]) == presentation["kb_jwt_payload"]["sd_hash"]


@pytest.mark.parametrize("name", WITH_KB)
def test_the_example_key_binding_is_refused_once_too_old_or_for_another_verifier(name: str) -> None:
    text = EXAMPLES[name]["presentation"]["sd_jwt_kb"]

    with pytest.raises(sdjwt.CredentialProblem) as too_old:
        verify_with_kb(text, now=KB_IAT + 301)
    with pytest.raises(sdjwt.CredentialProblem) as other_nonce:
        sdjwt.verify(
            text, keys={None: ISSUER}, now=KB_IAT, audience=AUDIENCE, nonce="other", accept_typ=TYPES
        )

    assert (too_old.value.code, other_nonce.value.code) == ("key-binding", "nonce")
    assert verify_with_kb(text, now=KB_IAT + 300).key_binding is not None


def test_the_example_credentials_expire_at_their_exp() -> None:
    text = EXAMPLES["appendix_A_1"]["presentation"]["sd_jwt"]
    exp = EXAMPLES["appendix_A_1"]["payload_decoded"]["exp"]

    assert verify_without_kb(text, now=exp - 1).claims["exp"] == exp
    with pytest.raises(sdjwt.CredentialProblem) as expired:
        verify_without_kb(text, now=exp)
    assert expired.value.code == "expired"


# §6: nested data (payloads and disclosures the RFC prints but does not sign)


def contents_of(example: dict[str, Any]) -> dict[str, Any]:
    return {d["contents"][1]: d["contents"][2] for d in example["disclosures"]}


def test_section_6_1_flat_the_address_is_one_disclosure() -> None:
    example = EXAMPLES["section_6_1"]
    text, keys = signed_by_test_key(example["payload"], [d["disclosure"] for d in example["disclosures"]])

    verified = sdjwt.verify(text, keys=keys, now=0, audience=None, nonce=None, require_key_binding=False)

    assert verified.claims["address"] == contents_of(example)["address"]
    assert verified.disclosed == ("address",)


def test_section_6_2_structured_each_address_member_is_a_disclosure() -> None:
    example = EXAMPLES["section_6_2"]
    text, keys = signed_by_test_key(example["payload"], [d["disclosure"] for d in example["disclosures"]])

    verified = sdjwt.verify(text, keys=keys, now=0, audience=None, nonce=None, require_key_binding=False)

    assert verified.claims["address"] == contents_of(example)
    assert sorted(verified.disclosed) == sorted(f"address.{name}" for name in contents_of(example))


def test_section_6_2_variant_a_permanently_disclosed_member_stays_beside_the_disclosed_ones() -> None:
    example = EXAMPLES["section_6_2"]
    payload = example["variant_country_permanently_disclosed_payload"]
    disclosures = [d["disclosure"] for d in example["disclosures"] if d["claim"] != "country"]
    text, keys = signed_by_test_key(payload, disclosures)

    verified = sdjwt.verify(text, keys=keys, now=0, audience=None, nonce=None, require_key_binding=False)

    assert verified.claims["address"] == contents_of(example)
    assert "address.country" not in verified.disclosed


def test_section_6_3_recursive_the_members_come_with_their_parent_only() -> None:
    example = EXAMPLES["section_6_3"]
    by_claim = {d["claim"]: d["disclosure"] for d in example["disclosures"]}
    text, keys = signed_by_test_key(example["payload"], list(by_claim.values()))
    members = {k: v for k, v in contents_of(example).items() if k != "address"}

    verified = sdjwt.verify(text, keys=keys, now=0, audience=None, nonce=None, require_key_binding=False)
    assert verified.claims["address"] == members

    shown = sdjwt.present(text, disclose={"address.region"}, holder_key=None, audience="", nonce="", iat=0)
    partial = sdjwt.verify(shown, keys=keys, now=0, audience=None, nonce=None, require_key_binding=False)
    assert partial.claims["address"] == {"region": members["region"]}

    orphan = "~".join([text.split("~")[0], by_claim["region"], ""])  # §7.1 step 5: it must connect
    with pytest.raises(sdjwt.CredentialProblem) as unreferenced:
        sdjwt.verify(orphan, keys=keys, now=0, audience=None, nonce=None, require_key_binding=False)
    assert unreferenced.value.code == "disclosure"


# §8: the JWS JSON serialization, verified through the compact form its sd_hash is defined over


def compact(jws_json: dict[str, Any], signature: dict[str, Any]) -> str:
    header = signature.get("header", jws_json.get("header", {}))
    jwt = f"{signature['protected']}.{jws_json['payload']}.{signature['signature']}"
    return "~".join([jwt, *header.get("disclosures", []), header.get("kb_jwt", "")])


def test_section_8_flattened_without_key_binding() -> None:
    example = EXAMPLES["section_8"]["flattened_sd_jwt"]

    verified = verify_without_kb(compact(example, example))

    assert {k: verified.claims[k] for k in ("sub", "given_name", "family_name", "birthdate")} == {
        "sub": "john_doe_42",
        "given_name": "John",
        "family_name": "Doe",
        "birthdate": "1940-01-01",
    }


def test_section_8_flattened_with_key_binding() -> None:
    example = EXAMPLES["section_8"]["flattened_sd_jwt_kb"]

    verified = verify_with_kb(compact(example, example))

    assert verified.disclosed == ("family_name", "given_name")
    assert verified.claims["given_name"] == "John"


def test_section_8_general_the_first_signature_carries_the_presentation_and_the_second_verifies() -> None:
    example = EXAMPLES["section_8"]["general_sd_jwt_kb"]
    first, second = example["signatures"]

    verified = verify_with_kb(compact(example, first))
    second_jwt = f"{second['protected']}.{example['payload']}.{second['signature']}"

    assert verified.disclosed == ("family_name", "given_name")
    assert jws.verify(second_jwt, jws.public_key_from_jwk(RFC["keys"]["issuer_key_2_public_jwk"]["jwk"]))
