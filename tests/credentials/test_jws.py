"""Compact JWS for credentials: EdDSA signing, EdDSA and ES256 verification, JWKs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harken import jws
from harken.jws import b64url, b64url_decode

VECTORS = Path(__file__).parent.parent / "vectors"
RFC9901 = json.loads((VECTORS / "sd-jwt" / "rfc9901-examples.json").read_text())
RFC8037 = json.loads((VECTORS / "rfc8037.json").read_text())
ISSUER_JWK = RFC9901["keys"]["issuer_public_jwk"]["jwk"]
ES256_JWT = RFC9901["examples"]["section_5"]["issuer_signed_jwt"]


def test_an_eddsa_token_carries_the_callers_headers_and_payload() -> None:
    key = Ed25519PrivateKey.generate()
    token = jws.sign({"typ": "dc+sd-jwt", "kid": "hub-1"}, {"sub": "lena", "n": 1}, key)

    header, payload = jws.verify(token, key.public_key())

    assert header == {"alg": "EdDSA", "typ": "dc+sd-jwt", "kid": "hub-1"}
    assert payload == {"sub": "lena", "n": 1}
    assert b64url_decode(token.split(".")[1]) == b'{"sub":"lena","n":1}'  # compact JSON


def test_signing_with_another_alg_is_refused() -> None:
    with pytest.raises(jws.JWSProblem):
        jws.sign({"alg": "ES256"}, {}, Ed25519PrivateKey.generate())


def test_the_rfc9901_es256_issuer_signature_verifies_with_the_published_key() -> None:
    header, payload = jws.verify(ES256_JWT, jws.public_key_from_jwk(ISSUER_JWK))

    assert header == RFC9901["examples"]["section_5"]["header_decoded"]
    assert payload == RFC9901["examples"]["section_5"]["payload_decoded"]


def test_a_changed_es256_signature_or_payload_fails() -> None:
    key = jws.public_key_from_jwk(ISSUER_JWK)
    protected, body, signature = ES256_JWT.split(".")
    flipped = bytearray(b64url_decode(signature))
    flipped[5] ^= 1
    other_body = b64url(json.dumps({"iss": "https://attacker.example"}).encode())

    for token in (f"{protected}.{body}.{b64url(bytes(flipped))}", f"{protected}.{other_body}.{signature}"):
        with pytest.raises(jws.JWSProblem, match="signature does not match"):
            jws.verify(token, key)


def test_alg_none_is_never_accepted() -> None:
    header = b64url(json.dumps({"alg": "none"}).encode())
    body = b64url(json.dumps({"sub": "lena"}).encode())

    with pytest.raises(jws.JWSProblem, match="not accepted"):
        jws.verify(f"{header}.{body}.", Ed25519PrivateKey.generate().public_key())


def test_the_alg_must_fit_the_key() -> None:
    ed25519 = Ed25519PrivateKey.generate()
    eddsa_token = jws.sign({}, {"sub": "lena"}, ed25519)
    p256 = ec.generate_private_key(ec.SECP256R1()).public_key()

    with pytest.raises(jws.JWSProblem, match="not accepted with a key of type Ed25519"):
        jws.verify(ES256_JWT, ed25519.public_key())
    with pytest.raises(jws.JWSProblem, match="not accepted with a key of type EC secp256r1"):
        jws.verify(eddsa_token, p256)


def test_es256_with_another_curve_is_refused() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()

    with pytest.raises(jws.JWSProblem, match="P-256"):
        jws.verify(ES256_JWT, p384)


@pytest.mark.parametrize("token", ["a.b", "a.b.c.d", "!!.e30.e30", "e30.bm90IGpzb24.e30", "W10.e30.e30"])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(jws.JWSProblem):
        jws.unverified(token)


def test_jwks_round_trip_for_ed25519_and_p256() -> None:
    rfc8037 = {k: RFC8037["public_jwk"][k] for k in ("kty", "crv", "x")}

    assert jws.jwk_of(jws.public_key_from_jwk(rfc8037)) == rfc8037
    assert jws.jwk_of(jws.public_key_from_jwk(ISSUER_JWK)) == ISSUER_JWK


@pytest.mark.parametrize(
    ("jwk", "message"),
    [
        ({"kty": "RSA", "n": "AQAB", "e": "AQAB"}, "unsupported JWK kty 'RSA'"),
        ({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}, "unsupported JWK kty 'EC' crv 'P-384'"),
        ({"kty": "OKP", "crv": "X25519", "x": RFC8037["public_jwk"]["x"]}, "crv 'X25519'"),
        ({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}, "not 32 bytes"),
        ({"kty": "EC", "crv": "P-256", "x": ISSUER_JWK["x"]}, "'y' is not 32 bytes"),
        ({**ISSUER_JWK, "y": ISSUER_JWK["x"]}, "not on the P-256 curve"),
    ],
)
def test_other_jwks_are_refused_with_a_clear_error(jwk: dict[str, str], message: str) -> None:
    with pytest.raises(jws.JWSProblem, match=message):
        jws.public_key_from_jwk(jwk)


def test_jwk_of_refuses_curves_other_than_p256() -> None:
    with pytest.raises(jws.JWSProblem, match="only P-256"):
        jws.jwk_of(ec.generate_private_key(ec.SECP384R1()).public_key())
