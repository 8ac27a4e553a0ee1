"""Issuing, presenting and verifying Harken's SD-JWT VCs; every presentation RFC 9901 says to reject is rejected."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import count
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harken import jws
from harken.credentials import sdjwt
from harken.jws import b64url, b64url_decode

T = 1_767_225_600  # 2026-01-01T00:00:00Z
HUB = Ed25519PrivateKey.generate()
HOLDER = Ed25519PrivateKey.generate()
KEYS: dict[str | None, Any] = {"hub-1": HUB.public_key()}
VERIFIER = "https://shop.example"
NONCE = "n-7f3a"
CLAIMS: dict[str, Any] = {
    "iss": "https://hub.example",
    "vct": "https://hub.example/vct/context/v1",
    "iat": T - 60,
    "exp": T + 3600,
    "cnf": {"jwk": jws.jwk_of(HOLDER.public_key())},
    "status": {"status_list": {"idx": 42, "uri": "https://hub.example/status/1"}},
    "name": "Lena",
    "trip": {"arrival": "2026-01-02T10:00", "departure": "2026-01-09T18:00", "seat": "12A"},
    "memories": ["likes tea", {"city": "Berlin"}],
}
PERMANENT = {k: CLAIMS[k] for k in ("iss", "vct", "iat", "exp", "cnf", "status")}
ALL_PATHS = {
    "name",
    "trip",
    "trip.arrival",
    "trip.departure",
    "trip.seat",
    "memories",
    "memories.0",
    "memories.1",
    "memories.1.city",
}


def issue(claims: dict[str, Any] = CLAIMS, **options: Any) -> str:
    return sdjwt.issue(claims, key=HUB, kid="hub-1", **options)


def present(credential: str, disclose: set[str], **options: Any) -> str:
    kb = {"holder_key": HOLDER, "audience": VERIFIER, "nonce": NONCE, "iat": T, **options}
    return sdjwt.present(credential, disclose=disclose, **kb)


def verify(presentation: str, **options: Any) -> sdjwt.Verified:
    expected = {"keys": KEYS, "now": T, "audience": VERIFIER, "nonce": NONCE, **options}
    return sdjwt.verify(presentation, **expected)


def problem(presentation: str, **options: Any) -> sdjwt.CredentialProblem:
    with pytest.raises(sdjwt.CredentialProblem) as caught:
        verify(presentation, **options)
    return caught.value


def payload_of(credential: str) -> dict[str, Any]:
    return jws.unverified(credential.split("~")[0])[1]


def disclosure(*contents: Any) -> str:
    return b64url(json.dumps(list(contents)).encode())


def with_key_binding(presented: str, **kb_payload: Any) -> str:
    """`presented` (ending in "~") with a KB-JWT the holder signed over exactly it, as an attacker holding
    the holder's key would: the checks below must not rely on the KB-JWT alone."""
    payload = {"iat": T, "aud": VERIFIER, "nonce": NONCE, "sd_hash": sdjwt.digest(presented), **kb_payload}
    return presented + jws.sign(
        {"typ": "kb+jwt"}, {k: v for k, v in payload.items() if v is not None}, HOLDER
    )


def crafted(payload: dict[str, Any], disclosures: list[str]) -> str:
    """An SD-JWT the hub signed over an arbitrary payload: what a faulty or hostile issuer could send."""
    jwt = jws.sign({"typ": "dc+sd-jwt", "kid": "hub-1"}, {"_sd_alg": "sha-256", **payload}, HUB)
    return "~".join([jwt, *disclosures, ""])


def deterministic_salts() -> Iterator[str]:
    return (f"salt-{n}" for n in count())


# Issuing


def test_every_claim_but_the_visible_ones_is_disclosable_each_member_and_element_on_its_own() -> None:
    assert set(sdjwt.disclosures(issue())) == ALL_PATHS


@pytest.mark.parametrize("always_visible", [sdjwt.ALWAYS_VISIBLE, ()])
def test_issuing_never_makes_iss_exp_cnf_vct_status_disclosable(always_visible: tuple[str, ...]) -> None:
    claims = {**CLAIMS, "nbf": T - 60, "vct#integrity": "sha256-abc"}

    credential = issue(claims, always_visible=always_visible)

    payload = payload_of(credential)
    for name in sdjwt.NEVER_SELECTIVE:
        assert payload[name] == claims[name]
    assert not {d.path.split(".")[0] for d in sdjwt.disclosures(credential).values()} & set(
        sdjwt.NEVER_SELECTIVE
    )
    assert ("iat" in payload) == ("iat" in always_visible)


def test_the_header_names_the_type_and_the_hubs_key() -> None:
    header, _ = jws.unverified(issue().split("~")[0])

    assert header == {"alg": "EdDSA", "typ": "dc+sd-jwt", "kid": "hub-1"}


def test_digests_are_sorted_and_each_object_is_padded_with_decoys() -> None:
    credential = issue()
    payload = payload_of(credential)
    trip = json.loads(b64url_decode(sdjwt.disclosures(credential)["trip"].encoded))[2]

    assert payload["_sd_alg"] == "sha-256"
    assert payload["_sd"] == sorted(payload["_sd"])
    assert len(payload["_sd"]) == 4  # name, trip, memories and one decoy
    assert len(trip["_sd"]) == 4  # arrival, departure, seat and one decoy
    real = {d.digest for d in sdjwt.disclosures(credential).values()}
    assert len(set(payload["_sd"]) - real) == 1


def test_without_decoys_the_digests_are_the_claims_only() -> None:
    assert len(payload_of(issue(decoys=0))["_sd"]) == 3


def test_the_salt_source_is_the_only_randomness() -> None:
    first = issue(salt=deterministic_salts().__next__)
    again = issue(salt=deterministic_salts().__next__)

    assert first == again
    assert issue() != issue()


def test_a_default_salt_is_128_random_bits() -> None:
    salts = {sdjwt.new_salt() for _ in range(100)}

    assert len(salts) == 100
    assert all(len(b64url_decode(salt)) == 16 for salt in salts)


@pytest.mark.parametrize("claims", [{"_sd": ["x"]}, {"trip": {"...": "x"}}, {"memories": [{"_sd_alg": "x"}]}])
def test_names_sd_jwt_reserves_are_refused(claims: dict[str, Any]) -> None:
    with pytest.raises(sdjwt.CredentialProblem, match="reserved by SD-JWT"):
        issue({**CLAIMS, **claims})


def test_reserved_names_inside_a_visible_claim_are_refused() -> None:
    with pytest.raises(sdjwt.CredentialProblem, match=r"status\._sd"):
        issue({**CLAIMS, "status": {"_sd": []}})


def test_claims_whose_paths_would_be_the_same_are_refused() -> None:
    with pytest.raises(sdjwt.CredentialProblem, match=r"path 'trip\.arrival'"):
        issue({**CLAIMS, "trip.arrival": "elsewhere"})


# Presenting


def test_a_presentation_of_trip_arrival_reveals_nothing_else() -> None:
    presentation = present(issue(), {"trip.arrival"})

    verified = verify(presentation)

    assert verified.claims == {**PERMANENT, "trip": {"arrival": "2026-01-02T10:00"}}
    assert verified.disclosed == ("trip", "trip.arrival")
    sent = presentation.split("~")[1:-1]
    assert len(sent) == 2
    decoded = " ".join(b64url_decode(d).decode() for d in sent)
    for hidden in ("Lena", "departure", "12A", "likes tea", "Berlin", "memories"):
        assert hidden not in decoded


def test_an_array_element_is_named_by_its_index_in_the_issued_array() -> None:
    verified = verify(present(issue(), {"memories.1.city"}))

    assert verified.claims["memories"] == [{"city": "Berlin"}]
    assert verified.disclosed == ("memories", "memories.1", "memories.1.city")


def test_disclosing_everything_gives_back_the_issued_claims() -> None:
    presentation = present(issue(), ALL_PATHS)

    verified = verify(presentation)

    assert verified.claims == CLAIMS
    assert set(verified.disclosed) == ALL_PATHS
    presented = presentation[: presentation.rindex("~") + 1]
    assert verified.key_binding == {
        "iat": T,
        "aud": VERIFIER,
        "nonce": NONCE,
        "sd_hash": sdjwt.digest(presented),
    }


def test_the_kb_jwt_covers_the_presentation_up_to_its_last_tilde() -> None:
    presentation = present(issue(), {"name"})
    presented, kb_jwt = presentation.rsplit("~", 1)
    header, payload = jws.verify(kb_jwt, HOLDER.public_key())

    assert header == {"alg": "EdDSA", "typ": "kb+jwt"}
    assert payload == {"iat": T, "aud": VERIFIER, "nonce": NONCE, "sd_hash": sdjwt.digest(presented + "~")}


def test_without_a_holder_key_the_presentation_ends_in_a_tilde() -> None:
    presentation = present(issue(), {"name"}, holder_key=None)

    assert presentation.endswith("~")
    assert verify(presentation, require_key_binding=False).claims["name"] == "Lena"


def test_a_path_the_credential_does_not_disclose_cannot_be_presented() -> None:
    with pytest.raises(sdjwt.CredentialProblem, match="no selectively disclosable 'iss'"):
        present(issue(), {"iss"})


def test_a_presentation_with_key_binding_cannot_be_presented_again() -> None:
    with pytest.raises(sdjwt.CredentialProblem) as caught:
        present(present(issue(), {"name"}), {"name"})

    assert caught.value.code == "malformed"


# Verifying: what must be rejected, and why


def test_a_tampered_disclosure_value_is_rejected() -> None:
    credential = issue()
    original = sdjwt.disclosures(credential)["trip.arrival"]
    salt, name, _ = json.loads(b64url_decode(original.encoded))
    tampered = present(credential, {"trip.arrival"}, holder_key=None).replace(
        original.encoded, disclosure(salt, name, "2026-01-03T10:00")
    )

    found = problem(with_key_binding(tampered))

    assert found.code == "disclosure"
    assert "referenced by no digest" in str(found)


def test_a_tampered_disclosure_salt_is_rejected() -> None:
    credential = issue()
    original = sdjwt.disclosures(credential)["trip.arrival"]
    _, name, value = json.loads(b64url_decode(original.encoded))
    tampered = present(credential, {"trip.arrival"}, holder_key=None).replace(
        original.encoded, disclosure("another-salt", name, value)
    )

    assert problem(with_key_binding(tampered)).code == "disclosure"


def test_a_disclosure_of_another_credential_is_rejected_as_unreferenced() -> None:
    other = sdjwt.disclosures(issue({**CLAIMS, "name": "Max"}))["name"].encoded
    spliced = present(issue(), {"trip.arrival"}, holder_key=None) + other + "~"

    found = problem(with_key_binding(spliced))

    assert found.code == "disclosure"
    assert "referenced by no digest" in str(found)


def test_a_disclosure_sent_twice_is_rejected() -> None:
    presented = present(issue(), {"name"}, holder_key=None)
    twice = presented + presented.split("~")[1] + "~"

    found = problem(with_key_binding(twice))

    assert found.code == "disclosure"
    assert "sent twice" in str(found)


def test_a_kb_jwt_replayed_against_another_nonce_is_rejected() -> None:
    presentation = present(issue(), {"name"})

    assert verify(presentation).key_binding is not None
    assert problem(presentation, nonce="n-next-request").code == "nonce"


def test_a_presentation_for_another_verifier_is_rejected() -> None:
    presentation = present(issue(), {"name"}, audience="https://other.example")

    assert problem(presentation).code == "audience"


def test_an_expired_credential_is_rejected_from_its_exp_on() -> None:
    presentation = present(issue(), {"name"}, iat=CLAIMS["exp"])

    assert problem(presentation, now=CLAIMS["exp"]).code == "expired"
    assert verify(presentation, now=CLAIMS["exp"], leeway=1).claims["exp"] == CLAIMS["exp"]
    assert verify(present(issue(), {"name"}, iat=CLAIMS["exp"] - 1), now=CLAIMS["exp"] - 1)


def test_a_credential_before_its_nbf_is_rejected() -> None:
    presentation = present(issue({**CLAIMS, "nbf": T + 10}), {"name"})

    assert problem(presentation).code == "not-yet-valid"
    assert verify(presentation, leeway=10).claims["nbf"] == T + 10


def test_a_kb_jwt_older_than_max_kb_age_is_rejected() -> None:
    presentation = present(issue(), {"name"}, iat=T - 301)

    found = problem(presentation)

    assert found.code == "key-binding"
    assert "301 s old" in str(found)
    assert verify(presentation, max_kb_age=301).key_binding is not None


def test_a_kb_jwt_from_the_future_is_rejected() -> None:
    presentation = present(issue(), {"name"}, iat=T + 5)

    assert problem(presentation).code == "key-binding"
    assert verify(presentation, leeway=5).key_binding is not None


def test_an_unknown_kid_is_rejected() -> None:
    presentation = present(issue(), {"name"})

    assert problem(presentation, keys={"hub-2": HUB.public_key()}).code == "unknown-kid"
    assert problem(presentation, keys={None: HUB.public_key()}).code == "unknown-kid"


def test_another_issuers_signature_is_rejected() -> None:
    presentation = present(issue(), {"name"})

    assert (
        problem(presentation, keys={"hub-1": Ed25519PrivateKey.generate().public_key()}).code == "signature"
    )


def test_a_changed_issuer_signed_payload_is_rejected() -> None:
    presentation = present(issue(), {"name"})
    body = presentation.split("~")[0].split(".")[1]
    later_exp = b64url(json.dumps({**json.loads(b64url_decode(body)), "exp": T + 10**9}).encode())

    assert problem(presentation.replace(body, later_exp)).code == "signature"


def test_missing_key_binding_is_rejected_when_required() -> None:
    found = problem(present(issue(), {"name"}, holder_key=None))

    assert found.code == "key-binding-missing"


def test_a_kb_jwt_is_refused_when_key_binding_was_not_asked_for() -> None:
    found = problem(present(issue(), {"name"}), require_key_binding=False)

    assert found.code == "malformed"


def test_a_kb_jwt_signed_by_another_key_is_rejected() -> None:
    presentation = present(issue(), {"name"}, holder_key=Ed25519PrivateKey.generate())

    found = problem(presentation)

    assert found.code == "key-binding"
    assert "not by the holder key in cnf" in str(found)


def test_a_kb_jwt_of_another_type_is_rejected() -> None:
    presented = present(issue(), {"name"}, holder_key=None)
    kb = {"iat": T, "aud": VERIFIER, "nonce": NONCE, "sd_hash": sdjwt.digest(presented)}

    found = problem(presented + jws.sign({"typ": "JWT"}, kb, HOLDER))

    assert found.code == "key-binding"
    assert "typ" in str(found)


def test_key_binding_needs_a_holder_key_in_the_credential() -> None:
    claims = {k: v for k, v in CLAIMS.items() if k != "cnf"}
    presentation = present(issue(claims), {"name"})

    found = problem(presentation)

    assert found.code == "key-binding"
    assert "cnf.jwk" in str(found)


def test_a_stripped_sd_hash_is_rejected() -> None:
    presented = present(issue(), {"name"}, holder_key=None)

    assert problem(with_key_binding(presented, sd_hash=None)).code == "sd-hash"


def test_an_altered_sd_hash_is_rejected() -> None:
    credential = issue()
    other = present(credential, {"name", "trip.seat"}, holder_key=None)
    presented = present(credential, {"name"}, holder_key=None)

    assert problem(with_key_binding(presented, sd_hash=sdjwt.digest(other))).code == "sd-hash"


def test_a_disclosure_removed_after_the_kb_jwt_was_made_is_rejected() -> None:
    credential = issue()
    presentation = present(credential, {"name", "trip.seat"})
    seat = sdjwt.disclosures(credential)["trip.seat"].encoded

    fewer = presentation.replace(seat + "~", "")

    assert fewer != presentation
    assert problem(fewer).code == "sd-hash"


def test_a_verifier_requiring_key_binding_must_name_audience_and_nonce() -> None:
    with pytest.raises(ValueError, match="audience and nonce") as caught:
        verify(present(issue(), {"name"}), nonce=None)

    assert not isinstance(caught.value, sdjwt.CredentialProblem)


@pytest.mark.parametrize("typ", ["dc+sd-jwt", "vc+sd-jwt"])
def test_both_sd_jwt_vc_media_types_are_accepted(typ: str) -> None:
    assert verify(present(issue(typ=typ), {"name"})).header["typ"] == typ


@pytest.mark.parametrize("typ", ["JWT", "example+sd-jwt", "statuslist+jwt"])
def test_other_types_are_rejected(typ: str) -> None:
    assert problem(present(issue(typ=typ), {"name"})).code == "typ"


@pytest.mark.parametrize("text", ["", "~", "no-tilde-at-all", "a.b.c~~", "not-a-jwt~"])
def test_a_malformed_presentation_is_rejected(text: str) -> None:
    assert problem(text, require_key_binding=False).code == "malformed"


# Verifying: what RFC 9901 §7.1 says about the payload and the disclosures


def test_an_unsupported_sd_alg_is_rejected() -> None:
    d = disclosure("s1", "name", "Lena")

    found = problem(crafted({"_sd_alg": "sha-512", "_sd": [sdjwt.digest(d)]}, [d]), require_key_binding=False)

    assert found.code == "sd-alg"


@pytest.mark.parametrize("name", ["_sd", "..."])
def test_a_disclosure_named_sd_or_ellipsis_is_rejected(name: str) -> None:
    d = disclosure("s1", name, ["x"])

    found = problem(crafted({"_sd": [sdjwt.digest(d)]}, [d]), require_key_binding=False)

    assert found.code == "disclosure"
    assert "may not be named" in str(found)


def test_a_disclosure_repeating_a_visible_claim_is_rejected() -> None:
    d = disclosure("s1", "iss", "https://attacker.example")

    found = problem(
        crafted({"iss": "https://hub.example", "_sd": [sdjwt.digest(d)]}, [d]), require_key_binding=False
    )

    assert found.code == "disclosure"
    assert "repeats 'iss'" in str(found)


def test_a_digest_that_appears_twice_is_rejected() -> None:
    d = disclosure("s1", "likes tea")
    element = {"...": sdjwt.digest(d)}

    found = problem(crafted({"memories": [element, element]}, [d]), require_key_binding=False)

    assert found.code == "disclosure"
    assert "more than once" in str(found)


def test_an_array_element_disclosure_in_sd_is_rejected() -> None:
    d = disclosure("s1", "likes tea")

    assert problem(crafted({"_sd": [sdjwt.digest(d)]}, [d]), require_key_binding=False).code == "disclosure"


def test_an_object_member_disclosure_in_an_array_is_rejected() -> None:
    d = disclosure("s1", "name", "Lena")

    found = problem(crafted({"memories": [{"...": sdjwt.digest(d)}]}, [d]), require_key_binding=False)

    assert found.code == "disclosure"


@pytest.mark.parametrize(
    "contents", [["only-salt"], ["s", "n", "v", "extra"], [1, "n", "v"], ["s", 2, "v"], {}]
)
def test_a_disclosure_of_the_wrong_shape_is_rejected(contents: Any) -> None:
    d = b64url(json.dumps(contents).encode())

    assert problem(crafted({"_sd": [sdjwt.digest(d)]}, [d]), require_key_binding=False).code == "disclosure"


def test_an_sd_that_is_not_a_list_of_digests_is_rejected() -> None:
    assert problem(crafted({"_sd": "digest"}, []), require_key_binding=False).code == "malformed"


def test_an_object_whose_members_all_stay_hidden_is_shown_empty() -> None:
    verified = verify(present(issue(), {"trip"}))

    assert verified.claims["trip"] == {}  # its digests and its decoy matched nothing, and _sd is gone
    assert verified.disclosed == ("trip",)


def test_a_holder_sees_each_disclosure_with_its_parent() -> None:
    found = sdjwt.disclosures(issue())

    assert found["trip.arrival"].parent == "trip"
    assert found["trip"].parent is None
    assert found["memories.1.city"].parent == "memories.1"
    assert (found["trip.arrival"].name, found["trip.arrival"].value) == ("arrival", "2026-01-02T10:00")
    assert found["memories.0"].name is None
    assert found["trip.arrival"].digest == sdjwt.digest(found["trip.arrival"].encoded)
