"""Story 13, the travel pass (seed 001): "my flight is delayed, I land at 21:40", told once to the airline,
the hotel, the taxi firm and the restaurant, each receiving only the fields its purpose needs; each is
notified; the traveller takes it back from one of them, which loses access at once. The traveller also
carries the trip as a verifiable credential (SD-JWT VC): a business not on the hub checks the part shown to
it with only the hub's public keys, an org on the hub asks the hub, and once revoked it holds for neither.
The last test runs the pass across real processes: the server, the webhook worker and the offline check."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.config import Settings
from harken.credentials import sdjwt, statuslist
from harken.credentials.sdjwt import CredentialProblem
from harken.jws import PublicKey, b64url, jwk_of, keys_from_jwks
from harken.ledger import keys
from harken.ledger import service as ledger_service
from harken.ledger.models import LedgerEntry
from harken.webhooks.models import OutboxEvent
from tests.factories import FixedClock
from tests.live import LiveHub
from tests.receiver import receiving
from tests.stories.conftest import Business, Customer

EMAIL = "sam.rivera@example.com"
TRIP = {
    "flight": "LH903",
    "origin": "LHR",
    "destination": "FRA",
    "status": "delayed",
    "delay_minutes": 120,
    "arrives_at": "2026-11-02T21:40:00+01:00",
    "party_size": 2,
}


def test_one_share_four_businesses_each_its_own_fields(
    business: Callable[[str], Business],
    verified: Callable[[str], Customer],
    clock: FixedClock,
    session: Session,
    settings: Settings,
) -> None:
    airline, hotel, taxi, restaurant = (
        business(name) for name in ("Skyway Airlines", "Hotel Main", "Frankfurt Taxi", "Zum Roemer")
    )
    stranger = business("Bean There")
    for org in (airline, hotel, taxi, restaurant, stranger):
        org.call(
            "POST", "/v1/webhooks", {"url": "https://hooks.example.com/harken", "events": ["share.updated"]}
        )
    in_app = airline.customer("sam", email=EMAIL)
    hotel.customer("guest-7", email=EMAIL)  # the hotel knows Sam; the taxi and the restaurant do not
    in_app.context(situation="travelling", intent="need-help")
    sam = verified(EMAIL)  # only the person shares: signed in, with a token of their own

    ids = {b["name"]: b["id"] for b in sam.call("GET", "/v1/me/directory")}
    share = sam.call(
        "POST",
        "/v1/me/shares",
        {
            "label": "Frankfurt, delayed",
            "trip": TRIP,
            "expires_at": "2026-11-03T12:00:00Z",
            "grants": [
                {
                    "org": ids["Skyway Airlines"],
                    "purpose": "service",
                    "fields": ["trip.flight", "trip.arrives_at", "trip.party_size"],
                },
                {
                    "org": ids["Hotel Main"],
                    "purpose": "service",
                    "fields": ["trip.arrives_at", "trip.party_size"],
                },
                {
                    "org": ids["Frankfurt Taxi"],
                    "purpose": "service",
                    "fields": ["trip.flight", "trip.arrives_at", "trip.destination"],
                },
                {
                    "org": ids["Zum Roemer"],
                    "purpose": "personalised-offers",
                    "fields": ["trip.arrives_at", "trip.party_size", "context"],
                },
            ],
        },
    )
    assert share["trip"] == TRIP and share["label"] == "Frankfurt, delayed"

    # Each is notified, by the share's id; only those that know Sam learn their own ref.
    queued = session.execute(
        select(OutboxEvent.org_id, OutboxEvent.payload).where(OutboxEvent.type == "share.updated")
    ).all()
    by_org = {str(org_id): payload["data"] for org_id, payload in queued}
    assert {by_org[ids[n]]["ref"] for n in ("Skyway Airlines", "Hotel Main")} == {"sam", "guest-7"}
    assert by_org[ids["Frankfurt Taxi"]]["ref"] is None and by_org[ids["Zum Roemer"]]["ref"] is None
    assert all(e["share"] == share["id"] and e["status"] == "active" for e in by_org.values())
    assert ids["Bean There"] not in by_org

    # Each reads exactly its own fields, for its own purpose.
    path = f"/v1/shares/{share['id']}"
    seen = {
        name: org.call("GET", path)
        for name, org in (
            ("Skyway Airlines", airline),
            ("Hotel Main", hotel),
            ("Frankfurt Taxi", taxi),
            ("Zum Roemer", restaurant),
        )
    }
    assert seen["Skyway Airlines"]["data"] == {
        "trip.flight": "LH903",
        "trip.arrives_at": "2026-11-02T21:40:00+01:00",
        "trip.party_size": 2,
    }
    assert seen["Hotel Main"]["data"] == {
        "trip.arrives_at": "2026-11-02T21:40:00+01:00",
        "trip.party_size": 2,
    }
    assert seen["Frankfurt Taxi"]["data"] == {
        "trip.flight": "LH903",
        "trip.arrives_at": "2026-11-02T21:40:00+01:00",
        "trip.destination": "FRA",
    }
    restaurant_view = seen["Zum Roemer"]
    assert restaurant_view["purpose"] == "personalised-offers" and restaurant_view["ref"] is None
    assert set(restaurant_view["data"]) == {"trip.arrives_at", "trip.party_size", "context"}
    assert restaurant_view["data"]["context"]["situation"] == "travelling"
    stranger.call("GET", path, status=404)

    # Sam takes it back from the taxi firm: from the very next read on, it sees nothing; the rest still do.
    sam.call("DELETE", f"/v1/me/shares/{share['id']}/orgs/{ids['Frankfurt Taxi']}")
    taxi.call("GET", path, status=404)
    assert hotel.call("GET", path)["data"]["trip.party_size"] == 2
    revoked = [
        p["data"]
        for org_id, p in session.execute(
            select(OutboxEvent.org_id, OutboxEvent.payload).where(OutboxEvent.type == "share.updated")
        ).all()
        if str(org_id) == ids["Frankfurt Taxi"] and p["data"]["status"] == "revoked"
    ]
    assert len(revoked) == 1

    # Sam sees who may still read it and how often each did.
    [mine] = sam.call("GET", "/v1/me/shares")
    reads = {g["org_name"]: (g["active"], g["reads"]) for g in mine["grants"]}
    assert reads == {
        "Skyway Airlines": (True, 1),
        "Hotel Main": (True, 2),
        "Frankfurt Taxi": (False, 1),
        "Zum Roemer": (True, 1),
    }

    # It ends by itself.
    clock.advance(days=2)
    for org in (airline, hotel, restaurant):
        org.call("GET", path, status=404)

    # Every grant, read and revocation is in the ledger, by field name only; the ledger verifies.
    types = session.execute(select(LedgerEntry.type).where(LedgerEntry.type.like("share.%"))).scalars().all()
    assert sorted(types).count("share.granted") == 4 and types.count("share.revoked") == 1
    assert types.count("share.used") == 5
    bodies = " ".join(session.execute(select(LedgerEntry.body)).scalars())
    assert "LH903" not in bodies and "21:40" not in bodies
    reports = list(ledger_service.verify(session, keys=keys.load(settings.keys_dir)))
    assert reports and all(r.ok for r in reports)


def test_the_trip_carried_as_a_credential_shows_each_business_only_its_part(
    business: Callable[[str], Business], verified: Callable[[str], Customer], clock: FixedClock
) -> None:
    airline, hotel = business("Skyway Airlines"), business("Hotel Main")
    airline.customer("sam", email=EMAIL)
    sam = verified(EMAIL)  # only the person has credentials issued
    wallet = Ed25519PrivateKey.generate()
    issued = sam.call(
        "POST",
        "/v1/me/credentials",
        {
            "trip": TRIP,
            "fields": ["trip.flight", "trip.arrives_at"],
            "expires_at": "2026-11-03T12:00:00Z",
            "holder_jwk": jwk_of(wallet.public_key()),
        },
    )
    now = int(clock.now.timestamp())

    # A bistro not on the hub asks for the arrival only; it has the hub's public keys and nothing else.
    jwks: dict[str | None, PublicKey] = dict(
        keys_from_jwks(hotel.call("GET", "/.well-known/jwks.json")).items()
    )
    bistro, bistro_nonce = "https://zum-roemer.example", "5b1f0e2a"
    shown = sdjwt.present(
        issued["credential"],
        disclose=["trip.arrives_at"],
        holder_key=wallet,
        audience=bistro,
        nonce=bistro_nonce,
        iat=now,
    )
    seen = sdjwt.verify(shown, keys=jwks, now=now, audience=bistro, nonce=bistro_nonce)
    assert seen.claims["trip"] == {"arrives_at": "2026-11-02T21:40:00+01:00"}
    assert "LH903" not in str(seen.claims)
    uri = seen.claims["status"]["status_list"]["uri"]
    status_path = uri.removeprefix("http://127.0.0.1:8000")

    def status_list() -> str:
        response = hotel.client.get(status_path)  # public: anyone may fetch it
        assert response.status_code == 200
        return response.text

    statuslist.check(seen.claims, status_token=status_list(), keys=jwks, now=now)

    # Sam says the flight lands at 18:00 instead: the bistro's check fails.
    arrival = sdjwt.disclosures(issued["credential"])["trip.arrives_at"].encoded
    earlier = b64url(json.dumps([sdjwt.new_salt(), "arrives_at", "2026-11-02T18:00:00+01:00"]).encode())
    with pytest.raises(CredentialProblem) as tampered:
        sdjwt.verify(shown.replace(arrival, earlier), keys=jwks, now=now, audience=bistro, nonce=bistro_nonce)
    assert tampered.value.code == "disclosure"

    # The hotel, on the hub, asks the hub to verify, with a nonce the hub gave it.
    def hotel_verifies(status: int) -> dict[str, Any]:
        nonce = hotel.call("POST", "/v1/credentials/nonces")
        presentation = sdjwt.present(
            issued["credential"],
            disclose=["trip.arrives_at"],
            holder_key=wallet,
            audience=nonce["audience"],
            nonce=nonce["nonce"],
            iat=now,
        )
        answer: dict[str, Any] = hotel.call(
            "POST",
            "/v1/credentials/verify",
            {"presentation": presentation, "nonce": nonce["nonce"]},
            status=status,
        )
        return answer

    assert hotel_verifies(200)["claims"]["trip"] == {"arrives_at": "2026-11-02T21:40:00+01:00"}

    # Sam revokes it: the hub refuses it at once, and the bistro once it reads the list again.
    sam.call("DELETE", f"/v1/me/credentials/{issued['id']}")
    assert hotel_verifies(422)["type"] == "/problems/credential-revoked"
    with pytest.raises(CredentialProblem) as revoked:
        statuslist.check(seen.claims, status_token=status_list(), keys=jwks, now=now)
    assert revoked.value.code == "revoked"


@pytest.mark.slow
def test_the_travel_pass_on_a_real_server_with_signed_webhooks_and_an_offline_check(
    hub: LiveHub, tmp_path: Path
) -> None:
    """The whole pass across real processes: `harken serve`, `harken worker` delivering signed
    `share.updated` to a real endpoint, and `harken credential verify` at a bistro that has only the
    hub's public keys and its published status list."""
    with receiving(lambda: datetime.now(UTC)) as receiver:
        airline, hotel = hub.create_org("Skyway Airlines"), hub.create_org("Hotel Main")
        subscribed = hotel.post("/v1/webhooks", json={"url": receiver.url, "events": ["share.updated"]})
        secret = subscribed.json()["secret"]
        airline.put("/v1/subjects/sam", json={"email": EMAIL}).raise_for_status()
        hotel.put("/v1/subjects/guest-7", json={"email": EMAIL}).raise_for_status()
        browser = hub.visitor()  # Sam signs in by the mailed link, and makes a token for the wallet
        browser.sign_in(EMAIL)
        token = browser.person_token()
        sam = httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        hub.clients.append(sam)
        ids = {b["name"]: b["id"] for b in sam.get("/v1/me/directory").json()}
        until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        grant = {
            "org": ids["Hotel Main"],
            "purpose": "service",
            "fields": ["trip.arrives_at", "trip.party_size"],
        }
        made = sam.post("/v1/me/shares", json={"trip": TRIP, "grants": [grant], "expires_at": until})
        share = made.json()

        # The hotel hears of it, signed, by the worker; reads exactly its two fields; loses it when taken back.
        hub.harken("worker", "--once")
        [(_, told)] = receiver.events(secret)
        assert (told["type"], told["data"]["share"], told["data"]["ref"]) == (
            "share.updated",
            share["id"],
            "guest-7",
        )
        path = f"/v1/shares/{share['id']}"
        assert hotel.get(path).json()["data"] == {"trip.arrives_at": TRIP["arrives_at"], "trip.party_size": 2}
        assert sam.delete(path.replace("/v1/", "/v1/me/")).status_code == 204
        assert hotel.get(path).status_code == 404
        hub.harken("worker", "--once")
        assert [e["data"]["status"] for _, e in receiver.events(secret)] == ["active", "revoked"]

    # The credential, shown to a bistro off the hub: only the arrival, checked offline.
    wallet = Ed25519PrivateKey.generate()
    issued = sam.post(
        "/v1/me/credentials",
        json={
            "trip": TRIP,
            "fields": ["trip.flight", "trip.arrives_at"],
            "expires_at": until,
            "holder_jwk": jwk_of(wallet.public_key()),
        },
    ).json()
    (tmp_path / "jwks.json").write_text(httpx.get(f"{hub.url}/.well-known/jwks.json").text)

    def bistro_checks() -> subprocess.CompletedProcess[str]:
        shown = sdjwt.present(
            issued["credential"],
            disclose=["trip.arrives_at"],
            holder_key=wallet,
            audience="https://bistro.example",
            nonce="table-for-two",
            iat=int(datetime.now(UTC).timestamp()),
        )
        (tmp_path / "shown.txt").write_text(shown)
        (tmp_path / "status.jwt").write_text(httpx.get(issued["status"]["uri"]).text)
        return hub.harken(
            "credential",
            "verify",
            str(tmp_path / "shown.txt"),
            "--jwks",
            str(tmp_path / "jwks.json"),
            "--audience",
            "https://bistro.example",
            "--nonce",
            "table-for-two",
            "--status-list",
            str(tmp_path / "status.jwt"),
            check=False,
        )

    accepted = bistro_checks()
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "trip.arrives_at" in accepted.stdout and "LH903" not in accepted.stdout
    assert sam.delete(f"/v1/me/credentials/{issued['id']}").status_code == 204
    refused = bistro_checks()
    assert refused.returncode == 1 and "revoked" in refused.stdout + refused.stderr
