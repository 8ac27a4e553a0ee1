"""Harken's JWS, JWK thumbprints and canonical JSON against the published vectors (tests/vectors/)."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from harken import jws
from harken.ledger.chain import canonical, checkpoint_problem, sign_checkpoint
from harken.ledger.receipts import RECEIPT_TYP

VECTORS = Path(__file__).parent.parent / "vectors"
RFC8037 = json.loads((VECTORS / "rfc8037.json").read_text())
RFC8785 = json.loads((VECTORS / "rfc8785.json").read_text())


def rfc8037_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(jws.b64url_decode(RFC8037["private_jwk"]["d"]))


def test_rfc8037_public_key_and_thumbprint() -> None:
    jwk = jws.public_jwk(rfc8037_key().public_key())
    assert jwk["x"] == RFC8037["public_jwk"]["x"]
    assert jwk["kid"] == RFC8037["thumbprint"]


def test_rfc8037_jws_verifies_and_signing_reproduces_it() -> None:
    key = rfc8037_key()
    # The RFC's header carries no kid (Harken's always do): check the signature over the signing input.
    protected, body, signature = RFC8037["jws"].split(".")
    key.public_key().verify(jws.b64url_decode(signature), f"{protected}.{body}".encode())
    assert jws.b64url(key.sign(f"{protected}.{body}".encode())) == signature
    assert jws.b64url_decode(body) == RFC8037["payload"].encode()


def test_a_changed_byte_of_the_rfc8037_payload_fails() -> None:
    key = rfc8037_key()
    ours = jws.sign({"kid": "k"}, RFC8037["payload"].encode(), key)
    protected, _, signature = ours.split(".")
    tampered = f"{protected}.{jws.b64url(b'Example of Ed25519 signinG')}.{signature}"
    with pytest.raises(jws.JWSProblem):
        jws.verify_by_kid(tampered, {"k": key.public_key()})
    assert jws.verify_by_kid(ours, {"k": key.public_key()})[1] == RFC8037["payload"].encode()


def test_rfc8785_sample_canonicalises_exactly() -> None:
    sample = RFC8785["sec_3_2_2"]
    assert canonical(json.loads(sample["input_json_text"])).decode() == sample["expected"]


def test_rfc8785_property_sorting() -> None:
    sample = RFC8785["sec_3_2_3_sorting"]
    ordered = json.loads(canonical(json.loads(sample["input_json_text"])))
    assert list(ordered.values()) == sample["expected_value_order"]


@pytest.mark.parametrize("case", RFC8785["appendix_b_numbers"], ids=lambda c: c["ieee754_hex"])
def test_rfc8785_number_serialisation(case: dict[str, str]) -> None:
    number = struct.unpack(">d", bytes.fromhex(case["ieee754_hex"]))[0]
    assert rfc8785.dumps(number).decode() == case["expected"]


def test_rfc8785_reference_structures() -> None:
    case = RFC8785["extra_structures"]
    assert canonical(json.loads(case["input"])).decode() == case["expected"]


JSON_TEXT = st.text(
    st.characters(codec="utf-8") | st.sampled_from("\x00\x1f\x7f\u2028\ud7ff\ue000\uffff\U0001f600")
)
PLAIN_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | JSON_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(JSON_TEXT, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(PLAIN_JSON)
def test_canonical_json_is_the_reference_librarys(value: Any) -> None:
    """The fast path (json.dumps) writes exactly what the RFC 8785 reference library writes: escapes,
    non-ASCII text, astral keys sorted by UTF-16 unit, the largest exact integers."""
    assert canonical(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    "value",
    [{"n": 1.0}, {"n": 1e21}, [0.1, -0.0], {"\U0001f600": 1, "\uffff": 2}, ("a", "b")],
)
def test_what_json_dumps_would_write_otherwise_takes_the_reference_library(value: Any) -> None:
    assert canonical(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("value", [{"text": "\ud800"}, {"n": 2**53}])
def test_what_rfc8785_cannot_write_is_refused(value: object) -> None:
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical(value)


# Made with the RFC 8037 key by the two JWS modules the hub had before harken.jws (ledger.signing and
# credentials.jws). Ed25519 is deterministic, so a changed header order or JSON spelling changes these.
EARLIER_CHECKPOINT = (
    "eyJhbGciOiJFZERTQSIsImtpZCI6ImtQcktfcW14VldhWVZBOXd3QkY2SXVvM3ZWeno3VHhIQ1R3WEJ5Z3JTNGsiLCJ0eXAiOiJoYXJrZW4tY2hl"
    "Y2twb2ludCtqd3MifQ.eyJhdCI6IjIwMjYtMDEtMDFUMDA6MDA6MDBaIiwiY2hhaW4iOiJvcmctMSIsImV2ZXJ5IjoxMDAsImhhc2giOiJhYmFiYW"
    "JhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiIiwic2VxIjo3fQ.73qiMm7vCtjB4823CpvH"
    "Ed5RdRrMp7ZhscfHdUCqnD1EHkkKsdHwXB467Prn5ShXpnb50fF6M_fmvHZIFUt3Dw"
)
EARLIER_RECEIPT = (
    "eyJhbGciOiJFZERTQSIsImtpZCI6ImtQcktfcW14VldhWVZBOXd3QkY2SXVvM3ZWeno3VHhIQ1R3WEJ5Z3JTNGsiLCJ0eXAiOiJoYXJrZW4tcmVj"
    "ZWlwdCtqd3MifQ.eyJraW5kIjoicmVjZWlwdCIsIndobyI6Ilpvw6sifQ.rYmvbfrNaIAgeQ9BPf0xOwMxwkcPDrjZhhHAYD4TyWMty17WqjIKjgt"
    "2JMkFkjoNnavVmjhaVi2NIGpsAXu4Cg"
)
EARLIER_CREDENTIAL = (
    "eyJhbGciOiJFZERTQSIsInR5cCI6ImRjK3NkLWp3dCIsImtpZCI6ImtQcktfcW14VldhWVZBOXd3QkY2SXVvM3ZWeno3VHhIQ1R3WEJ5Z3JTNGsi"
    "fQ.eyJzdWIiOiJsZW5hIiwibmFtZSI6Ilpvw6siLCJuIjoxfQ.AnMjLGCYuzfKGM8YwmE_7fhL1WxCDTGMEituIEuashws_S8TbObSHGr7t89qX57"
    "KFhEVFJLeHiPrzGFZZsZsDQ"
)


def test_signatures_come_out_byte_for_byte_as_before_the_two_jws_modules_became_one() -> None:
    key = rfc8037_key()
    kid = jws.public_jwk(key.public_key())["kid"]
    at = "2026-01-01T00:00:00Z"
    checkpoint = sign_checkpoint(chain="org-1", seq=7, hash="ab" * 32, at=at, every=100, key=key, kid=kid)
    receipt = jws.sign({"kid": kid, "typ": RECEIPT_TYP}, canonical({"kind": "receipt", "who": "Zoë"}), key)
    credential = jws.sign({"typ": "dc+sd-jwt", "kid": kid}, {"sub": "lena", "name": "Zoë", "n": 1}, key)

    assert (checkpoint.jws, receipt, credential) == (EARLIER_CHECKPOINT, EARLIER_RECEIPT, EARLIER_CREDENTIAL)
    assert checkpoint_problem(checkpoint, {kid: key.public_key()}) is None
    assert jws.verify(EARLIER_CREDENTIAL, key.public_key())[1] == {"sub": "lena", "name": "Zoë", "n": 1}
