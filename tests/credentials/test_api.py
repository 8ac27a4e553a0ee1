"""Credentials over HTTP: issued with only the chosen fields disclosable, listed, revoked through the hub's
status list, and verified for an org on the hub; each broken rule is refused with its own problem."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harken import jws
from harken.credentials import sdjwt, statuslist
from harken.credentials.models import Credential, PresentationNonce, StatusEntry
from harken.jws import PublicKey, b64url, jwk_of, keys_from_jwks
from harken.ledger.models import LedgerEntry
from tests.factories import T0, FixedClock
from tests.stories.conftest import Business, Customer

TRIP = {"flight": "LH903", "origin": "LHR", "arrives_at": "2026-11-02T21:40:00+01:00", "party_size": 2}


def body(holder: Ed25519PrivateKey | ec.EllipticCurvePrivateKey, **changes: Any) -> dict[str, Any]:
    return {
        "trip": TRIP,
        "fields": ["trip.flight", "trip.arrives_at"],
        "expires_at": "2026-11-09T12:00:00Z",
        "holder_jwk": jwk_of(holder.public_key()),
        **changes,
    }


def hub_keys(org: Business) -> dict[str | None, PublicKey]:
    return dict(keys_from_jwks(org.call("GET", "/.well-known/jwks.json")).items())


def now() -> int:
    return int(T0.timestamp())


def present(
    credential: str,
    wallet: Ed25519PrivateKey,
    nonce: dict[str, Any],
    disclose: tuple[str, ...] = ("trip.arrives_at",),
) -> str:
    return sdjwt.present(
        credential,
        disclose=disclose,
        holder_key=wallet,
        audience=nonce["audience"],
        nonce=nonce["nonce"],
        iat=now(),
    )


def refused(org: Business, presentation: str, nonce: str) -> str:
    response = org.client.post(
        "/v1/credentials/verify", headers=org.headers, json={"presentation": presentation, "nonce": nonce}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    return str(problem["type"]).removeprefix("/problems/")


@pytest.fixture
def airline(business: Callable[[str], Business]) -> Business:
    return business("Skyway Airlines")


@pytest.fixture
def sam(airline: Business, verified: Callable[[str], Customer]) -> Customer:
    """Sam, a customer of the airline, as the verified person: only they may have credentials issued."""
    airline.customer("sam", email="sam@example.com")
    return verified("sam@example.com")


def test_a_business_s_app_may_not_have_credentials_issued_nor_list_them(
    airline: Business, wallet: Ed25519PrivateKey, session: Session
) -> None:
    app = airline.customer("sam", email="sam@example.com")
    for method, path, sent in (
        ("POST", "/v1/me/credentials", body(wallet)),
        ("GET", "/v1/me/credentials", None),
        ("DELETE", "/v1/me/credentials/00000000-0000-0000-0000-000000000000", None),
    ):
        refused = app.client.request(method, path, headers=app.headers, json=sent)
        assert refused.status_code == 403, refused.text
        assert refused.json()["type"] == "/problems/insufficient-authority"
    assert session.execute(select(func.count()).select_from(Credential)).scalar_one() == 0


def test_issued_with_each_chosen_field_disclosable_and_the_rest_always_visible(
    airline: Business, sam: Customer, wallet: Ed25519PrivateKey, session: Session
) -> None:
    issued = sam.call("POST", "/v1/me/credentials", body(wallet))
    keys = hub_keys(airline)
    header, payload = sdjwt.verify_jwt(
        issued["credential"].split("~")[0], keys=keys, accept_typ=("dc+sd-jwt",)
    )
    assert header["typ"] == "dc+sd-jwt" and header["kid"] in keys and header["alg"] == "EdDSA"
    assert payload["iss"] == "http://127.0.0.1:8000" and payload["vct"] == issued["vct"]
    assert payload["iat"] == now() and payload["cnf"] == {"jwk": jwk_of(wallet.public_key())}
    assert payload["status"] == {"status_list": issued["status"]}
    assert issued["status"]["uri"].startswith("http://127.0.0.1:8000/v1/status-lists/")
    assert "trip" not in payload and "LH903" not in issued["credential"].split("~")[0]
    # Each chosen field is a disclosure of its own; the trip's other fields are not carried at all.
    assert set(sdjwt.disclosures(issued["credential"])) == {"trip", "trip.flight", "trip.arrives_at"}
    shown = sdjwt.verify(
        issued["credential"], keys=keys, now=now(), audience=None, nonce=None, require_key_binding=False
    )
    assert shown.claims["trip"] == {"flight": "LH903", "arrives_at": "2026-11-02T21:40:00+01:00"}

    [listed] = sam.call("GET", "/v1/me/credentials")
    assert (
        listed["id"] == issued["id"]
        and listed["active"]
        and listed["fields"] == ["trip.arrives_at", "trip.flight"]
    )
    assert "credential" not in listed
    [entry] = session.execute(
        select(LedgerEntry.body).where(LedgerEntry.type == "credential.issued")
    ).scalars()
    assert "trip.flight" in entry and "LH903" not in entry and "21:40" not in entry


def test_live_context_is_carried_as_declared(
    sam: Customer, wallet: Ed25519PrivateKey, airline: Business
) -> None:
    sam.context(situation="travelling", intent="need-help")
    issued = sam.call("POST", "/v1/me/credentials", body(wallet, fields=["context"], trip=None))
    shown = sdjwt.verify(
        issued["credential"],
        keys=hub_keys(airline),
        now=now(),
        audience=None,
        nonce=None,
        require_key_binding=False,
    )
    assert shown.claims["context"]["situation"] == "travelling"
    assert "context.situation" in sdjwt.disclosures(issued["credential"])


def test_a_p256_wallet_key_is_accepted(sam: Customer) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    issued = sam.call("POST", "/v1/me/credentials", body(holder))
    assert issued["active"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"expires_at": "2026-11-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "2026-12-31T00:00:00Z"}, "expires_at"),
        ({"fields": ["trip.destination"]}, "fields"),
        ({"fields": ["persona"]}, "fields"),
        ({"fields": ["trip.seat"]}, "body.fields"),
        ({"fields": []}, "body.fields"),
        ({"holder_jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}}, "holder_jwk"),
        ({"holder_jwk": {"kty": "OKP", "crv": "Ed25519", "x": "short"}}, "holder_jwk"),
    ],
)
def test_a_bad_request_is_refused_naming_the_field_and_nothing_is_issued(
    sam: Customer, wallet: Ed25519PrivateKey, session: Session, changes: dict[str, Any], field: str
) -> None:
    response = sam.client.post("/v1/me/credentials", headers=sam.headers, json=body(wallet, **changes))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    for model in (Credential, StatusEntry):
        assert session.execute(select(func.count()).select_from(model)).scalar_one() == 0


def test_the_status_list_is_a_signed_token_that_says_revoked_once_revoked(
    airline: Business, sam: Customer, wallet: Ed25519PrivateKey, session: Session
) -> None:
    issued = sam.call("POST", "/v1/me/credentials", body(wallet))
    uri, idx = issued["status"]["uri"], issued["status"]["idx"]
    path = uri.removeprefix("http://127.0.0.1:8000")

    def status() -> int:
        response = airline.client.get(path)  # public: no key
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/statuslist+jwt"
        assert response.headers["cache-control"] == "public, max-age=300"
        bits, lst = statuslist.read_token(response.text, keys=hub_keys(airline), uri=uri, now=now())
        return statuslist.status_at(lst, bits, idx)

    assert status() == statuslist.VALID
    sam.call("DELETE", f"/v1/me/credentials/{issued['id']}")
    assert status() == statuslist.INVALID
    sam.call("DELETE", f"/v1/me/credentials/{issued['id']}")  # twice is once
    [listed] = sam.call("GET", "/v1/me/credentials")
    assert not listed["active"] and listed["revoked_at"]
    types = session.execute(select(LedgerEntry.type).where(LedgerEntry.type.like("credential.%"))).scalars()
    assert sorted(types) == ["credential.issued", "credential.revoked"]
    assert airline.client.get("/v1/status-lists/00000000-0000-0000-0000-000000000000").status_code == 404


def test_a_credential_is_its_customer_s_alone_and_goes_with_their_erasure(
    airline: Business,
    sam: Customer,
    wallet: Ed25519PrivateKey,
    session: Session,
    verified: Callable[[str], Customer],
) -> None:
    airline.customer("priya", email="priya@example.com")
    priya = verified("priya@example.com")
    issued = sam.call("POST", "/v1/me/credentials", body(wallet))
    assert priya.call("GET", "/v1/me/credentials") == []
    taken = priya.client.delete(f"/v1/me/credentials/{issued['id']}", headers=priya.headers)
    assert taken.status_code == 404

    # The airline's erasure ends its relationship only: the credential is the person's.
    airline.call("DELETE", "/v1/subjects/sam")
    assert session.execute(select(func.count()).select_from(Credential)).scalar_one() == 1
    assert sam.call("DELETE", "/v1/me")["scope"] == "everywhere"
    assert session.execute(select(func.count()).select_from(Credential)).scalar_one() == 0
    [entry] = session.execute(select(StatusEntry)).scalars()
    assert (entry.idx, entry.status) == (issued["status"]["idx"], statuslist.INVALID)


def test_an_org_verifies_a_presentation_and_sees_only_what_was_disclosed(
    business: Callable[[str], Business], airline: Business, sam: Customer, wallet: Ed25519PrivateKey
) -> None:
    hotel = business("Hotel Main")
    issued = sam.call("POST", "/v1/me/credentials", body(wallet))
    nonce = hotel.call("POST", "/v1/credentials/nonces")
    assert nonce["audience"].startswith("http://127.0.0.1:8000/orgs/")
    verified = hotel.call(
        "POST",
        "/v1/credentials/verify",
        {"presentation": present(issued["credential"], wallet, nonce), "nonce": nonce["nonce"]},
    )
    assert verified["claims"]["trip"] == {"arrives_at": "2026-11-02T21:40:00+01:00"}
    assert verified["disclosed"] == ["trip", "trip.arrives_at"]
    assert {"iss", "iat", "exp", "vct", "cnf", "status"} <= set(verified["claims"])


def _issued(sam: Customer, wallet: Ed25519PrivateKey) -> str:
    credential: str = sam.call("POST", "/v1/me/credentials", body(wallet))["credential"]
    return credential


def test_a_replayed_presentation_or_key_binding_is_refused(
    airline: Business, sam: Customer, wallet: Ed25519PrivateKey
) -> None:
    credential = _issued(sam, wallet)
    nonce = airline.call("POST", "/v1/credentials/nonces")
    presentation = present(credential, wallet, nonce)
    airline.call("POST", "/v1/credentials/verify", {"presentation": presentation, "nonce": nonce["nonce"]})
    assert refused(airline, presentation, nonce["nonce"]) == "credential-replayed"
    # The same key binding under a fresh nonce: made for another request.
    fresh = airline.call("POST", "/v1/credentials/nonces")["nonce"]
    assert refused(airline, presentation, fresh) == "credential-replayed"


def test_a_nonce_is_the_org_s_own_and_short_lived(
    business: Callable[[str], Business],
    airline: Business,
    sam: Customer,
    wallet: Ed25519PrivateKey,
    clock: FixedClock,
    session: Session,
) -> None:
    credential = _issued(sam, wallet)
    hotel = business("Hotel Main")
    theirs = hotel.call("POST", "/v1/credentials/nonces")
    assert (
        refused(airline, present(credential, wallet, theirs), theirs["nonce"]) == "credential-nonce-unknown"
    )
    assert refused(airline, present(credential, wallet, theirs), "never-given") == "credential-nonce-unknown"
    mine = airline.call("POST", "/v1/credentials/nonces")
    clock.advance(minutes=6)
    assert refused(airline, present(credential, wallet, mine), mine["nonce"]) == "credential-nonce-unknown"
    airline.call("POST", "/v1/credentials/nonces")  # the expired ones go
    assert session.execute(select(func.count()).select_from(PresentationNonce)).scalar_one() == 2


def test_a_tampered_disclosure_is_refused(
    airline: Business, sam: Customer, wallet: Ed25519PrivateKey
) -> None:
    credential = _issued(sam, wallet)
    nonce = airline.call("POST", "/v1/credentials/nonces")
    presentation = present(credential, wallet, nonce)
    arrival = sdjwt.disclosures(credential)["trip.arrives_at"].encoded
    altered = _disclosure([sdjwt.new_salt(), "arrives_at", "2026-11-02T18:00:00+01:00"])
    # Altered after the holder bound it: the key binding no longer covers what is shown.
    assert refused(airline, presentation.replace(arrival, altered), nonce["nonce"]) == "credential-tampered"
    # Altered by the holder, who binds the altered one: no digest the hub signed matches it.
    shown = presentation[: presentation.rindex("~") + 1].replace(arrival, altered)
    kb = {"iat": now(), "aud": nonce["audience"], "nonce": nonce["nonce"], "sd_hash": sdjwt.digest(shown)}
    rebound = shown + jws.sign({"typ": "kb+jwt"}, kb, wallet)
    assert refused(airline, rebound, nonce["nonce"]) == "credential-tampered"


def test_a_tampered_signature_is_refused(airline: Business, sam: Customer, wallet: Ed25519PrivateKey) -> None:
    credential = _issued(sam, wallet)
    nonce = airline.call("POST", "/v1/credentials/nonces")
    jwt, rest = credential.split("~", 1)
    head, payload, signature = jwt.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    forged = f"{head}.{payload}.{flipped}~{rest}"
    assert refused(airline, present(forged, wallet, nonce), nonce["nonce"]) == "credential-tampered"


def test_an_expired_credential_is_refused(
    airline: Business, sam: Customer, wallet: Ed25519PrivateKey, clock: FixedClock
) -> None:
    credential = _issued(sam, wallet)
    clock.advance(days=8)
    nonce = airline.call("POST", "/v1/credentials/nonces")
    presentation = sdjwt.present(
        credential,
        disclose=["trip.arrives_at"],
        holder_key=wallet,
        audience=nonce["audience"],
        nonce=nonce["nonce"],
        iat=int(clock.now.timestamp()),
    )
    assert refused(airline, presentation, nonce["nonce"]) == "credential-expired"


def test_a_revoked_credential_is_refused_at_once(
    airline: Business, sam: Customer, wallet: Ed25519PrivateKey
) -> None:
    issued = sam.call("POST", "/v1/me/credentials", body(wallet))
    sam.call("DELETE", f"/v1/me/credentials/{issued['id']}")
    nonce = airline.call("POST", "/v1/credentials/nonces")
    assert (
        refused(airline, present(issued["credential"], wallet, nonce), nonce["nonce"]) == "credential-revoked"
    )


def test_a_credential_signed_by_a_key_the_hub_does_not_publish_is_refused(
    airline: Business, wallet: Ed25519PrivateKey
) -> None:
    nonce = airline.call("POST", "/v1/credentials/nonces")
    claims = {
        "iss": "http://127.0.0.1:8000",
        "exp": now() + 3600,
        "cnf": {"jwk": jwk_of(wallet.public_key())},
        "trip": {"flight": "LH903"},
    }
    foreign = sdjwt.issue(claims, key=Ed25519PrivateKey.generate(), kid="not-the-hub")
    presentation = present(foreign, wallet, nonce, disclose=("trip.flight",))
    assert refused(airline, presentation, nonce["nonce"]) == "credential-unknown-key"


def test_a_presentation_for_another_audience_is_refused(
    business: Callable[[str], Business], airline: Business, sam: Customer, wallet: Ed25519PrivateKey
) -> None:
    credential = _issued(sam, wallet)
    nonce = airline.call("POST", "/v1/credentials/nonces")
    hotel_audience = business("Hotel Main").call("POST", "/v1/credentials/nonces")["audience"]
    presentation = present(credential, wallet, {**nonce, "audience": hotel_audience})
    assert refused(airline, presentation, nonce["nonce"]) == "credential-wrong-audience"


def test_a_presentation_not_signed_by_the_holder_key_is_refused(
    airline: Business, sam: Customer, wallet: Ed25519PrivateKey
) -> None:
    credential = _issued(sam, wallet)
    nonce = airline.call("POST", "/v1/credentials/nonces")
    stolen = present(credential, Ed25519PrivateKey.generate(), nonce)
    assert refused(airline, stolen, nonce["nonce"]) == "credential-key-binding"
    without = sdjwt.present(
        credential, disclose=["trip.flight"], holder_key=None, audience="", nonce="", iat=0
    )
    assert refused(airline, without, nonce["nonce"]) == "credential-key-binding"


DEEP = b64url(b"[" * 30_000)  # JSON nested deeper than Python's parser goes


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "~",
        "not a token",
        "a.b.c~",
        "e30.e30.e30~WyJ4Il0~",
        "~~~~",
        "\u00e9t\u00e9~",
        "x" * 5000,
        f"{DEEP}.e30.e30~",
        f"e30.{DEEP}.e30~",
    ],
)
def test_garbage_is_refused_as_malformed_never_a_500(airline: Business, garbage: str) -> None:
    nonce = airline.call("POST", "/v1/credentials/nonces")
    assert refused(airline, garbage, nonce["nonce"]) in {"credential-malformed", "credential-tampered"}


def test_a_disclosure_nested_too_deep_is_refused_as_tampered(
    airline: Business, sam: Customer, wallet: Ed25519PrivateKey
) -> None:
    nonce = airline.call("POST", "/v1/credentials/nonces")
    presentation = f"{_issued(sam, wallet)}{DEEP}~"
    assert refused(airline, presentation, nonce["nonce"]) == "credential-tampered"


def _disclosure(contents: list[Any]) -> str:
    return b64url(json.dumps(contents).encode())
