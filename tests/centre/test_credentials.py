"""Credentials seen and revoked in the Preference Centre, checked where it matters: a business verifying
the credential, through the hub or from its public status list, is told it no longer holds."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.credentials import sdjwt, statuslist
from harken.jws import PublicKey, jwk_of, keys_from_jwks
from harken.ledger.models import LedgerEntry
from tests.centre_client import Visitor, csrf_of
from tests.factories import T0, FixedClock
from tests.stories.conftest import Business, Customer

EMAIL = "sam@example.com"
NOT_FOUND = "There is nothing here"
PAGE = "/centre/credentials"
REVOKE = re.compile(r'action="/centre/credentials/([0-9a-f-]{36})/revoke"')
TRIP = {"flight": "LH903", "origin": "LHR", "arrives_at": "2026-11-02T21:40:00+01:00", "party_size": 2}
ISSUER = "http://127.0.0.1:8000"  # the test settings' public URL


class Wallet:
    """Sam's wallet app, which holds the key the credentials are bound to; Sam is signed in to the centre."""

    def __init__(self, business: Callable[[str], Business], visitor: Callable[..., Visitor]) -> None:
        self.airline, self.hotel = business("Skyway Airlines"), business("Harbour Hotel")
        self.airline.customer("sam", email=EMAIL)
        self.key = Ed25519PrivateKey.generate()
        self.me = visitor()
        self.me.sign_in(EMAIL)
        # The wallet speaks for Sam with a token Sam made on the My data page: only the verified person
        # may have credentials issued.
        self.sam = Customer(self.airline.client, self.me.person_token())

    def issue(self, **changes: Any) -> dict[str, Any]:
        """A credential issued through the wallet's `POST /v1/me/credentials`."""
        body = {
            "trip": TRIP,
            "fields": ["trip.flight", "trip.arrives_at"],
            "expires_at": "2026-11-09T12:00:00Z",
            "holder_jwk": jwk_of(self.key.public_key()),
            **changes,
        }
        issued: dict[str, Any] = self.sam.call("POST", "/v1/me/credentials", body)
        return issued

    def present_to(self, org: Business, credential: str) -> Any:
        """Show `org` the arrival, bound to a fresh nonce of its own; its verification's answer."""
        nonce = org.call("POST", "/v1/credentials/nonces")
        presentation = sdjwt.present(
            credential,
            disclose=("trip.arrives_at",),
            holder_key=self.key,
            audience=nonce["audience"],
            nonce=nonce["nonce"],
            iat=int(T0.timestamp()),
        )
        return org.client.post(
            "/v1/credentials/verify",
            headers=org.headers,
            json={"presentation": presentation, "nonce": nonce["nonce"]},
        )

    def status(self, issued: dict[str, Any]) -> int:
        """The credential's status as a verifier off the hub reads it: the signed, public status list."""
        uri, idx = issued["status"]["uri"], issued["status"]["idx"]
        token = self.hotel.client.get(uri.removeprefix(ISSUER))
        assert token.status_code == 200, token.text
        keys: dict[str | None, PublicKey] = dict(
            keys_from_jwks(self.hotel.call("GET", "/.well-known/jwks.json")).items()
        )
        bits, lst = statuslist.read_token(token.text, keys=keys, uri=uri, now=int(T0.timestamp()))
        return statuslist.status_at(lst, bits, idx)


@pytest.fixture
def wallet(business: Callable[[str], Business], visitor: Callable[..., Visitor]) -> Wallet:
    return Wallet(business, visitor)


def test_each_credential_shows_what_it_carries_and_until_when_never_its_values(wallet: Wallet) -> None:
    empty = wallet.me.get(PAGE).text
    assert "You hold no credentials yet." in empty
    assert "issued by the app that holds your wallet (through Harken&#39;s API)" in empty
    assert '<a href="/centre/credentials" aria-current="page">Credentials</a>' in empty

    issued = wallet.issue()
    page = wallet.me.get(PAGE).text
    assert f'<h2 id="credential-{issued["id"]}">Issued on 2 Nov 2026, 08:10</h2>' in page
    assert "Valid until 9 Nov 2026, 12:00." in page
    assert "Carries: Arrival, Flight" in page
    assert REVOKE.findall(page) == [issued["id"]]
    # What it carries, by name only: not the values, nor the credential, nor its place in a status list.
    for secret in ("LH903", "21:40", issued["credential"][:40], issued["status"]["uri"], issued["vct"]):
        assert secret not in page


def test_revoked_in_the_centre_a_verifier_on_the_hub_and_one_off_it_both_refuse_it(
    wallet: Wallet, session: Session
) -> None:
    issued = wallet.issue()
    accepted = wallet.present_to(wallet.hotel, issued["credential"])
    assert accepted.status_code == 200 and accepted.json()["claims"]["trip"] == {
        "arrives_at": TRIP["arrives_at"]
    }
    assert wallet.status(issued) == statuslist.VALID

    done = wallet.me.submit(PAGE, f"/centre/credentials/{issued['id']}/revoke")
    assert done.headers["location"] == "/centre/credentials?done=revoked"

    refused = wallet.present_to(wallet.hotel, issued["credential"])
    assert refused.status_code == 422 and refused.json()["type"] == "/problems/credential-revoked"
    assert wallet.status(issued) == statuslist.INVALID
    page = wallet.me.get("/centre/credentials?done=revoked").text
    assert "Revoked. From now on it no longer holds" in page
    assert "You revoked it on 2 Nov 2026, 08:10." in page and "Valid until" not in page
    assert REVOKE.findall(page) == []
    [listed] = wallet.sam.call("GET", "/v1/me/credentials")
    assert not listed["active"] and listed["revoked_at"]

    # A second press (an old tab, a double click) is harmless: the same answer, one revocation.
    again = wallet.me.http.post(f"/centre/credentials/{issued['id']}/revoke", data={"csrf": csrf_of(page)})
    assert again.status_code == 303 and again.headers["location"] == "/centre/credentials?done=revoked"
    revocations = session.execute(
        select(LedgerEntry.body).where(LedgerEntry.type == "credential.revoked")
    ).scalars()
    assert [issued["id"] in body for body in revocations] == [True]


def test_an_expired_credential_says_so_and_offers_nothing_to_revoke(
    wallet: Wallet, clock: FixedClock
) -> None:
    wallet.issue(expires_at="2026-11-02T09:00:00Z")
    clock.now = T0 + timedelta(hours=1)
    page = wallet.me.get(PAGE).text
    assert "Expired on 2 Nov 2026, 09:00." in page and "Valid until" not in page
    assert REVOKE.findall(page) == []


def test_newest_first_each_with_its_own_fields(wallet: Wallet, clock: FixedClock) -> None:
    first = wallet.issue()
    clock.now = T0 + timedelta(minutes=5)
    second = wallet.issue(fields=["trip.party_size"])
    page = wallet.me.get(PAGE).text
    assert REVOKE.findall(page) == [second["id"], first["id"]]
    assert "Carries: How many of you" in page and "Issued on 2 Nov 2026, 08:15" in page


def test_another_customers_credential_is_the_same_404_as_a_made_up_one(
    wallet: Wallet, visitor: Callable[..., Visitor]
) -> None:
    issued = wallet.issue()
    wallet.airline.customer("priya", email="priya@example.com")
    priya = visitor()
    priya.sign_in("priya@example.com")
    assert issued["id"] not in priya.get(PAGE).text
    csrf = csrf_of(priya.get(PAGE).text)
    made_up = str(uuid.uuid4())
    hers = priya.http.post(f"/centre/credentials/{issued['id']}/revoke", data={"csrf": csrf})
    nobodys = priya.http.post(f"/centre/credentials/{made_up}/revoke", data={"csrf": csrf})
    assert hers.status_code == nobodys.status_code == 404
    assert NOT_FOUND in hers.text and hers.text.replace(issued["id"], "ID") == nobodys.text.replace(
        made_up, "ID"
    )
    not_an_id = priya.http.post("/centre/credentials/not-an-id/revoke", data={"csrf": csrf})
    assert not_an_id.status_code == 404 and NOT_FOUND in not_an_id.text
    assert wallet.status(issued) == statuslist.VALID
    assert wallet.present_to(wallet.hotel, issued["credential"]).status_code == 200


def test_a_session_from_an_app_may_neither_have_credentials_issued_nor_revoke_them(
    wallet: Wallet, visitor: Callable[..., Visitor]
) -> None:
    """A business's app acts inside its window only: a credential is carried off the hub, so only the
    verified person may have one issued, and revoke it."""
    issued = wallet.issue()
    app = wallet.hotel.customer("sam", email=EMAIL)
    refused = app.client.post("/v1/me/credentials", headers=app.headers, json={})
    assert refused.status_code == 403 and refused.json()["type"] == "/problems/insufficient-authority"
    token = wallet.hotel.call("POST", "/v1/subjects/sam/sessions")["token"]
    in_app = visitor()
    in_app.open_from_app(token)

    page = in_app.get(PAGE).text
    assert "You opened this from Harbour Hotel" in page
    assert REVOKE.findall(page) == []
    taken = in_app.http.post(f"/centre/credentials/{issued['id']}/revoke", data={"csrf": csrf_of(page)})
    assert taken.status_code == 403 and "Only you can do this, signed in with your email" in taken.text
    assert wallet.status(issued) == statuslist.VALID
    # Signed in with the email, Sam still holds it, and may revoke it.
    assert REVOKE.findall(wallet.me.get(PAGE).text) == [issued["id"]]
