"""Token Status Lists against draft-ietf-oauth-status-list-18's vectors (tests/vectors/token-status-list/)."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harken import jws
from harken.credentials import sdjwt, statuslist
from harken.jws import b64url, b64url_decode

SPEC = json.loads(
    (Path(__file__).parent.parent / "vectors" / "token-status-list" / "status-list-vectors.json").read_text()
)
APPENDIX_C = SPEC["appendix_C_test_vectors"]
TOKEN = SPEC["status_list_token_jwt"]
TOKEN_KEYS: dict[str | None, Any] = {"12": jws.public_key_from_jwk(TOKEN["verification_key"]["jwk"])}
TOKEN_URI = TOKEN["compact_8_2_payload_decoded"]["sub"]
TOKEN_IAT = TOKEN["compact_8_2_payload_decoded"]["iat"]
HUB = Ed25519PrivateKey.generate()
T = 1_767_225_600


def appendix_c_statuses(name: str) -> list[int]:
    statuses = [0] * APPENDIX_C["entries_total"]
    for idx, status in APPENDIX_C[name]["set_statuses"]:
        statuses[idx] = status
    return statuses


@pytest.mark.parametrize("example", SPEC["section_4_examples"], ids=lambda e: f"{e['bits']}-bit")
def test_the_section_4_examples_encode_to_the_spec_bytes_exactly(example: dict[str, Any]) -> None:
    lst = statuslist.encode(example["statuses"], example["bits"])

    assert lst == example["json"]["lst"]
    assert b64url_decode(lst).hex() == example["compressed_hex"]
    assert zlib.decompress(b64url_decode(lst)).hex() == example["byte_array_hex"]


@pytest.mark.parametrize("example", SPEC["section_4_examples"], ids=lambda e: f"{e['bits']}-bit")
def test_the_section_4_examples_decode_to_their_statuses(example: dict[str, Any]) -> None:
    lst, bits, statuses = example["json"]["lst"], example["bits"], example["statuses"]

    assert statuslist.decode(lst, bits)[: len(statuses)] == statuses
    assert [statuslist.status_at(lst, bits, idx) for idx in range(len(statuses))] == statuses


@pytest.mark.parametrize("name", ["C.1", "C.2", "C.3", "C.4"])
def test_the_appendix_c_lists_encode_to_the_spec_lst_exactly(name: str) -> None:
    vector = APPENDIX_C[name]

    assert statuslist.encode(appendix_c_statuses(name), vector["bits"]) == vector["json"]["lst"]


@pytest.mark.parametrize("name", ["C.1", "C.2", "C.3", "C.4"])
def test_the_appendix_c_lists_decode_and_read_at_every_set_index(name: str) -> None:
    vector = APPENDIX_C[name]
    lst, bits = vector["json"]["lst"], vector["bits"]

    assert statuslist.decode(lst, bits) == appendix_c_statuses(name)
    for idx, status in vector["set_statuses"]:
        assert statuslist.status_at(lst, bits, idx) == status
    assert statuslist.status_at(lst, bits, 1) == 0


@pytest.mark.parametrize("idx", [-1, 16, 10**9])
def test_an_index_outside_the_list_is_a_problem_never_valid(idx: int) -> None:
    lst = SPEC["section_4_examples"][0]["json"]["lst"]  # 2 bytes: 16 one-bit entries

    with pytest.raises(sdjwt.CredentialProblem) as caught:
        statuslist.status_at(lst, 1, idx)

    assert caught.value.code == "status-list"


def test_the_last_index_of_the_list_is_read() -> None:
    assert statuslist.status_at(SPEC["section_4_examples"][0]["json"]["lst"], 1, 15) == 1


def test_a_status_that_does_not_fit_its_bits_is_refused() -> None:
    with pytest.raises(ValueError, match="does not fit in 1 bit"):
        statuslist.encode([statuslist.VALID, statuslist.SUSPENDED], 1)
    with pytest.raises(ValueError, match="bits is one of"):
        statuslist.encode([0], 3)


def test_valid_invalid_and_suspended_round_trip_at_two_bits() -> None:
    statuses = [
        statuslist.VALID,
        statuslist.INVALID,
        statuslist.SUSPENDED,
        statuslist.VALID,
        statuslist.INVALID,
    ]

    lst = statuslist.encode(statuses, 2)

    assert [statuslist.status_at(lst, 2, idx) for idx in range(5)] == statuses
    assert statuslist.decode(lst, 2) == [*statuses, 0, 0, 0]  # the last byte's padding


def test_a_decompression_bomb_is_refused() -> None:
    bomb = b64url(zlib.compress(bytes(statuslist.MAX_LIST_BYTES + 1), 9))

    with pytest.raises(sdjwt.CredentialProblem) as caught:
        statuslist.status_at(bomb, 8, 0)

    assert caught.value.code == "status-list"


@pytest.mark.parametrize("lst", ["eNrbuRgAAhc", "not base64!", "AAAA"])
def test_a_truncated_or_garbled_list_is_malformed(lst: str) -> None:
    with pytest.raises(sdjwt.CredentialProblem) as caught:
        statuslist.decode(lst, 1)

    assert caught.value.code == "malformed"


# Status List Tokens


def test_the_section_8_2_token_verifies_and_reads() -> None:
    bits, lst = statuslist.read_token(TOKEN["compact_8_2"], keys=TOKEN_KEYS, uri=TOKEN_URI, now=TOKEN_IAT)

    assert (bits, lst) == (1, TOKEN["payload_5_1"]["status_list"]["lst"])
    assert jws.unverified(TOKEN["compact_8_2"])[0] == TOKEN["header_5_1"]


def test_a_token_for_another_list_is_refused() -> None:
    with pytest.raises(sdjwt.CredentialProblem) as caught:
        statuslist.read_token(TOKEN["compact_8_2"], keys=TOKEN_KEYS, uri=TOKEN_URI + "2", now=TOKEN_IAT)

    assert caught.value.code == "status-list"


def test_an_expired_token_is_refused() -> None:
    exp = TOKEN["compact_8_2_payload_decoded"]["exp"]

    with pytest.raises(sdjwt.CredentialProblem) as caught:
        statuslist.read_token(TOKEN["compact_8_2"], keys=TOKEN_KEYS, uri=TOKEN_URI, now=exp)

    assert caught.value.code == "expired"
    assert statuslist.read_token(TOKEN["compact_8_2"], keys=TOKEN_KEYS, uri=TOKEN_URI, now=exp - 1)[0] == 1


def test_a_token_by_an_unknown_key_or_of_another_type_is_refused() -> None:
    other: dict[str | None, jws.PublicKey] = {"12": Ed25519PrivateKey.generate().public_key()}
    credential = sdjwt.issue({"vct": "v"}, key=HUB, kid="hub-1").split("~")[0]
    codes = []
    unknown: dict[str | None, jws.PublicKey] = {"13": TOKEN_KEYS["12"]}
    for token, keys in ((TOKEN["compact_8_2"], unknown), (TOKEN["compact_8_2"], other)):
        with pytest.raises(sdjwt.CredentialProblem) as caught:
            statuslist.read_token(token, keys=keys, uri=TOKEN_URI, now=TOKEN_IAT)
        codes.append(caught.value.code)
    with pytest.raises(sdjwt.CredentialProblem) as typ:
        statuslist.read_token(credential, keys={"hub-1": HUB.public_key()}, uri=TOKEN_URI, now=TOKEN_IAT)

    assert codes == ["unknown-kid", "signature"]
    assert typ.value.code == "typ"


def test_the_hubs_token_round_trips() -> None:
    uri = "https://hub.example/status/1"
    statuses = [statuslist.VALID] * 100
    statuses[42] = statuslist.INVALID
    statuses[7] = statuslist.SUSPENDED

    issued = statuslist.token(
        uri=uri, statuses=statuses, bits=2, iat=T, exp=T + 86400, ttl=3600, key=HUB, kid="hub-1"
    )
    header, payload = jws.verify(issued, HUB.public_key())
    bits, lst = statuslist.read_token(issued, keys={"hub-1": HUB.public_key()}, uri=uri, now=T)

    assert header == {"alg": "EdDSA", "typ": "statuslist+jwt", "kid": "hub-1"}
    assert payload == {
        "sub": uri,
        "iat": T,
        "exp": T + 86400,
        "ttl": 3600,
        "status_list": {"bits": 2, "lst": lst},
    }
    assert [statuslist.status_at(lst, bits, idx) for idx in (0, 7, 42)] == [0, 2, 1]


def test_the_section_6_2_referenced_token_keeps_its_status_claim_in_the_clear() -> None:
    referenced = SPEC["referenced_token_sd_jwt"]
    rfc9901 = json.loads(
        (Path(__file__).parent.parent / "vectors" / "sd-jwt" / "rfc9901-examples.json").read_text()
    )
    issuer = jws.public_key_from_jwk(rfc9901["keys"]["issuer_public_jwk"]["jwk"])

    verified = sdjwt.verify(
        referenced["sd_jwt"],
        keys={None: issuer},
        now=referenced["payload_decoded"]["iat"],
        audience=None,
        nonce=None,
        require_key_binding=False,
        accept_typ=("example+sd-jwt",),
    )

    assert verified.claims["status"] == referenced["status_claim"]["status"]
    assert "status" not in {d.path for d in sdjwt.disclosures(referenced["sd_jwt"]).values()}


def _hub_token(statuses: list[int]) -> str:
    return statuslist.token(
        uri="https://hub.example/v1/status-lists/1",
        statuses=statuses,
        bits=2,
        iat=T,
        exp=T + 3600,
        ttl=300,
        key=HUB,
        kid="hub",
    )


def _referring(idx: Any) -> dict[str, Any]:
    return {"status": {"status_list": {"idx": idx, "uri": "https://hub.example/v1/status-lists/1"}}}


def test_check_passes_a_valid_credential_and_refuses_a_revoked_or_suspended_one() -> None:
    hub_token = _hub_token([statuslist.VALID, statuslist.INVALID, statuslist.SUSPENDED, statuslist.VALID])
    keys: dict[str | None, Any] = {"hub": HUB.public_key()}
    statuslist.check(_referring(3), status_token=hub_token, keys=keys, now=T)
    for idx in (1, 2):
        with pytest.raises(sdjwt.CredentialProblem) as refused:
            statuslist.check(_referring(idx), status_token=hub_token, keys=keys, now=T)
        assert refused.value.code == "revoked"


@pytest.mark.parametrize(
    "claims",
    [{}, {"status": "x"}, {"status": {"status_list": {"uri": "u"}}}, _referring(-1), _referring(True)],
    ids=["none", "not-an-object", "no-idx", "negative", "bool"],
)
def test_a_credential_without_a_usable_status_reference_is_a_problem(claims: dict[str, Any]) -> None:
    with pytest.raises(sdjwt.CredentialProblem) as refused:
        statuslist.reference(claims)
    assert refused.value.code == "status-list"
