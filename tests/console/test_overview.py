"""The overview's numbers are the ones the API gave for the same data: consents, decisions and why not,
relevance of what was sent, feedback per offer, shares and credentials; one org's never in another's;
days with nothing are zeros, and a range holds its first midnight and not its last."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.console import overview
from harken.console.overview import Row, Table
from harken.credentials import sdjwt
from harken.errors import Invalid
from harken.jws import jwk_of
from harken.orgs.models import Org
from tests.centre_client import Visitor
from tests.factories import T0, FixedClock
from tests.stories.conftest import Business, Customer

DAY1 = T0.date()  # Monday 2 November 2026, 08:10 UTC
COFFEE = {"topics": ["coffee"], "channels": ["email", "sms"]}


def org_id_of(session: Session, name: str) -> uuid.UUID:
    """The id of the org of that name (one per test: each test's data is its own)."""
    return session.execute(select(Org.id).where(Org.name == name)).scalar_one()


@pytest.fixture
def business(client: TestClient, session: Session) -> Callable[[str], Business]:
    """Businesses on the test's hub, through the HTTP API (as the stories' own)."""
    return lambda name: Business(client, session, name)


@pytest.fixture
def person(client: TestClient, visitor: Callable[..., Visitor]) -> Callable[[str], Customer]:
    """The person behind an email address, signed in to the centre, with a token for their own app."""

    def open_as(email: str) -> Customer:
        browser = visitor()
        browser.sign_in(email)
        return Customer(client, browser.person_token())

    return open_as


class Counted:
    """What the API answered one org, tallied as the overview should count it."""

    def __init__(self, org: Business) -> None:
        self.org = org
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self.first_reasons: Counter[tuple[str, str]] = Counter()
        self.sent_scores: list[float] = []
        self.feedback: Counter[tuple[str, str]] = Counter()
        self.decision_ids: list[tuple[str, str]] = []  # (id, offer) of what was sent

    def decide(self, ref: str, offers: list[str], channels: list[str]) -> dict[str, Any]:
        answer: dict[str, Any] = self.org.decide(ref, offers, channels)
        day = answer["at"][:10]
        self.outcomes[(day, "sent" if answer["allowed"] else "not sent")] += 1
        if answer["allowed"]:
            [taken] = [r for r in answer["ranking"] if r["offer_id"] == answer["offer"]]
            self.sent_scores.append(taken["score"])
            self.decision_ids.append((answer["decision_id"], answer["offer"]))
        else:
            self.first_reasons[(day, answer["reasons"][0]["code"])] += 1
        return answer

    def tell(self, decision_id: str, offer: str, kind: str) -> None:
        self.org.call("POST", f"/v1/decisions/{decision_id}/feedback", {"kind": kind}, status=204)
        self.feedback[(offer, kind)] += 1

    def consents(self, refs: list[str], now: datetime) -> Counter[tuple[str, str, str, str]]:
        """(day, purpose, channel, status) → count, from each customer's history and current states."""
        found: Counter[tuple[str, str, str, str]] = Counter()
        for ref in refs:
            for record in self.org.call("GET", f"/v1/subjects/{ref}/consents/history")["items"]:
                for channel in record["channels"] or [overview.NO_CHANNEL]:
                    found[(record["captured_at"][:10], record["purpose"], channel, record["status"])] += 1
            for state in self.org.call("GET", f"/v1/subjects/{ref}/consents")["consents"]:
                if state["status"] == "expired":
                    lapsed = state["record"]["expires_at"][:10]
                    for channel in state["channels"] or [overview.NO_CHANNEL]:
                        found[(lapsed, state["purpose"], channel, "expired")] += 1
        return found


def as_counter(table: Table) -> Counter[tuple[str, str]]:
    return Counter(
        {(row.key, c): n for row in table.rows for c, n in zip(table.columns, row.counts, strict=True) if n}
    )


def story(org: Business, clock: FixedClock, *, grants: bool = True) -> Counted:
    """Three days of one org's traffic: sends, refusals for several reasons, feedback, consents that change
    and one that lapses."""
    counted = Counted(org)
    org.offer("coffee-beans", **COFFEE)
    org.offer("coffee-mug", **COFFEE)
    ana = org.customer("ana", grant={"marketing": ["email"]} if grants else None)
    ana.preferences(interests={"coffee": 0.8})
    ben = org.customer("ben", grant={"marketing": ["email", "sms"]})
    ben.preferences(interests={"coffee": 0.4})
    org.customer("cat")  # never decided on marketing
    org.customer("dan", grant={"marketing": ["sms"]})
    org.call(
        "PUT",
        "/v1/subjects/dan/consents/marketing",
        {"status": "granted", "channels": ["sms"], "expires_at": "2026-11-03T12:00:00Z"},
    )
    counted.decide("ana", ["coffee-beans", "coffee-mug"], ["email"])
    counted.decide("ben", ["coffee-mug"], ["email"])
    counted.decide("cat", ["coffee-beans"], ["email"])
    counted.decide("nobody", ["coffee-beans"], ["email"])

    clock.advance(days=1)  # Tuesday
    org.call("PUT", "/v1/subjects/ben/consents/marketing", {"status": "withdrawn", "channels": []})
    counted.decide("ana", ["coffee-mug"], ["email"])
    counted.decide("ben", ["coffee-beans"], ["email"])
    counted.decide("cat", ["coffee-mug"], ["email"])
    for (decision_id, offer), kind in zip(counted.decision_ids, ("accepted", "dismissed"), strict=False):
        counted.tell(decision_id, offer, kind)

    clock.advance(days=2)  # Thursday: after dan's consent lapsed on Tuesday, Wednesday quiet
    return counted


def test_the_overview_counts_what_the_api_answered_and_nothing_of_another_org(
    business: Callable[[str], Business], clock: FixedClock, session: Session
) -> None:
    airline, hotel = business("Skyway Airlines"), business("Harbour Hotel")
    ours = story(airline, clock)
    clock.now = T0
    theirs = story(hotel, clock, grants=False)
    ours_id, theirs_id = org_id_of(session, "Skyway Airlines"), org_id_of(session, "Harbour Hotel")
    assert ours_id != theirs_id
    since, until = DAY1, DAY1 + timedelta(days=4)

    for counted, org_id in ((ours, ours_id), (theirs, theirs_id)):
        seen = overview.overview(session, org_id=org_id, since=since, until=until, now=clock.now)

        assert [row.key for row in seen.decisions.rows] == overview.days(since, until)
        assert as_counter(seen.decisions) == counted.outcomes
        assert as_counter(seen.not_sent) == counted.first_reasons
        assert sum(seen.relevance.column("sent")) == len(counted.sent_scores)
        width, first, _ = overview.bins_for(min(counted.sent_scores), max(counted.sent_scores))
        expected = Counter(
            overview.bin_label(first + int((s - first) // width) * width, width) for s in counted.sent_scores
        )
        assert as_counter(seen.relevance) == Counter({(label, "sent"): n for label, n in expected.items()})
        assert as_counter(seen.feedback) == counted.feedback
        assert as_counter(seen.shares) == Counter()

        by_pair = {table.title: table for table in seen.consents}
        found = Counter(
            {
                (day, *title.split(" · "), status): n
                for title, table in by_pair.items()
                for (day, status), n in as_counter(table).items()
            }
        )
        assert found == counted.consents(["ana", "ben", "cat", "dan"], clock.now)

    # Days with nothing are there, as zeros: Wednesday and Thursday
    mine = overview.decisions(session, org_id=ours_id, since=since, until=until)
    assert mine.rows[2:] == (Row("2026-11-04", (0, 0)), Row("2026-11-05", (0, 0)))
    lapsed = {
        t.title: t
        for t in overview.consents(session, org_id=ours_id, since=since, until=until, now=clock.now)
    }
    assert lapsed["marketing · sms"].column("expired") == (0, 1, 0, 0)  # dan's grant, on Tuesday
    # The most frequent reasons, the rest as "other": the same decisions either way
    top = overview.not_sent(session, org_id=ours_id, since=since, until=until, top=1)
    assert top.columns == ("consent.missing", "other")
    assert [sum(r.counts) for r in top.rows] == list(mine.column("not sent"))


def test_the_expiry_of_a_grant_replaced_before_it_lapsed_is_not_counted(
    business: Callable[[str], Business], clock: FixedClock, session: Session
) -> None:
    shop = business("Corner Shop")
    shop.customer("eve")
    shop.call(
        "PUT",
        "/v1/subjects/eve/consents/marketing",
        {"status": "granted", "channels": ["email"], "expires_at": "2026-11-03T12:00:00Z"},
    )
    clock.advance(hours=20)  # Tuesday 04:10, before the expiry: a new grant without one replaces it
    shop.call("PUT", "/v1/subjects/eve/consents/marketing", {"status": "granted", "channels": ["email"]})
    clock.advance(days=3)
    org_id = org_id_of(session, "Corner Shop")
    [table] = overview.consents(
        session, org_id=org_id, since=DAY1, until=DAY1 + timedelta(days=4), now=clock.now
    )
    assert table.total("expired") == 0 and table.total("granted") == 2
    [state] = shop.call("GET", "/v1/subjects/eve/consents")["consents"]
    assert state["status"] == "granted"
    # Not yet lapsed at `now`: a future expiry is no expiry
    [before] = overview.consents(
        session, org_id=org_id, since=DAY1, until=DAY1 + timedelta(days=4), now=T0 + timedelta(hours=1)
    )
    assert before.total("expired") == 0


def test_a_range_holds_its_first_midnight_and_not_its_last(
    business: Callable[[str], Business], clock: FixedClock, session: Session
) -> None:
    shop = business("Corner Shop")
    shop.offer("coffee-beans", **COFFEE)
    shop.customer("eve", grant={"marketing": ["email"]}).preferences(interests={"coffee": 1.0})
    midnight = datetime.combine(date(2026, 11, 3), datetime.min.time(), T0.tzinfo)
    for at in (midnight - timedelta(microseconds=1), midnight, midnight + timedelta(days=1)):
        clock.now = at
        shop.decide("eve", ["coffee-beans"], ["email"])
    org_id = org_id_of(session, "Corner Shop")

    one_day = overview.decisions(session, org_id=org_id, since=date(2026, 11, 3), until=date(2026, 11, 4))
    assert one_day.rows == (Row("2026-11-03", (1, 0)),)
    two_days = overview.decisions(session, org_id=org_id, since=date(2026, 11, 2), until=date(2026, 11, 4))
    assert two_days.rows == (Row("2026-11-02", (1, 0)), Row("2026-11-03", (1, 0)))


@pytest.mark.parametrize(
    ("since", "until"),
    [
        (date(2026, 11, 3), date(2026, 11, 3)),
        (date(2026, 11, 3), date(2026, 11, 2)),
        (date(2025, 1, 1), date(2026, 1, 3)),
    ],
)
def test_an_empty_or_too_long_range_is_refused_naming_until(
    since: date, until: date, session: Session
) -> None:
    with pytest.raises(Invalid) as refused:
        overview.overview(session, org_id=uuid.uuid4(), since=since, until=until, now=T0)
    assert [e.field for e in refused.value.errors or []] == ["until"]


def test_shares_and_credentials_count_what_the_api_did(
    business: Callable[[str], Business],
    person: Callable[[str], Customer],
    clock: FixedClock,
    session: Session,
) -> None:
    airline, hotel = business("Skyway Airlines"), business("Harbour Hotel")
    airline.customer("sam", email="sam@example.com")
    hotel.customer("sam", email="sam@example.com")
    sam = person("sam@example.com")
    directory = {b["name"]: b["id"] for b in sam.call("GET", "/v1/me/directory")}
    share: dict[str, Any] = {
        "trip": {"flight": "LH903", "arrives_at": "2026-11-02T21:40:00+01:00"},
        "expires_at": "2026-11-03T12:00:00Z",
        "grants": [
            {"org": directory["Skyway Airlines"], "purpose": "service", "fields": ["trip.arrives_at"]}
        ],
    }
    made = sam.call("POST", "/v1/me/shares", share)
    both = {**share, "grants": [*share["grants"], {**share["grants"][0], "org": directory["Harbour Hotel"]}]}
    sam.call("POST", "/v1/me/shares", both)
    airline.call("GET", f"/v1/shares/{made['id']}")
    airline.call("GET", f"/v1/shares/{made['id']}")

    wallet = Ed25519PrivateKey.generate()
    issued = sam.call(
        "POST",
        "/v1/me/credentials",
        {
            "trip": share["trip"],
            "fields": ["trip.arrives_at"],
            "expires_at": "2026-11-09T12:00:00Z",
            "holder_jwk": jwk_of(wallet.public_key()),
        },
    )
    clock.advance(days=1)
    for org in (airline, hotel, hotel):
        nonce = org.call("POST", "/v1/credentials/nonces")
        presentation = sdjwt.present(
            issued["credential"],
            disclose=("trip.arrives_at",),
            holder_key=wallet,
            audience=nonce["audience"],
            nonce=nonce["nonce"],
            iat=int(clock.now.timestamp()),
        )
        org.call("POST", "/v1/credentials/verify", {"presentation": presentation, "nonce": nonce["nonce"]})
    hotel.call("POST", "/v1/credentials/nonces")  # never presented: nothing verified

    since, until = DAY1, DAY1 + timedelta(days=3)
    mine = overview.shares(session, org_id=org_id_of(session, "Skyway Airlines"), since=since, until=until)
    theirs = overview.shares(session, org_id=org_id_of(session, "Harbour Hotel"), since=since, until=until)
    assert mine.rows == (
        Row("2026-11-02", (2, 2, 0)),
        Row("2026-11-03", (0, 0, 1)),
        Row("2026-11-04", (0, 0, 0)),
    )
    assert theirs.rows == (
        Row("2026-11-02", (1, 0, 0)),
        Row("2026-11-03", (0, 0, 2)),
        Row("2026-11-04", (0, 0, 0)),
    )


def test_a_service_message_owed_by_contract_is_sent_but_scores_no_relevance(
    business: Callable[[str], Business], session: Session
) -> None:
    airline = business("Skyway Airlines")
    airline.offer("gate-change", topics=["travel"], channels=["sms"], purpose="service")
    airline.offer("coffee-beans", **COFFEE)
    airline.customer("ana", grant={"marketing": ["email"]}).preferences(interests={"coffee": 1.0})
    owed = airline.decide("ana", ["gate-change"], ["sms"], purpose="service")
    chosen = airline.decide("ana", ["coffee-beans"], ["email"])
    assert owed["allowed"] is True and chosen["allowed"] is True
    org_id = org_id_of(session, "Skyway Airlines")
    until = DAY1 + timedelta(days=1)

    assert overview.decisions(session, org_id=org_id, since=DAY1, until=until).total("sent") == 2
    relevance = overview.relevance(session, org_id=org_id, since=DAY1, until=until)
    [score] = [r["score"] for r in chosen["ranking"] if r["offer_id"] == "coffee-beans"]
    assert [(row.key, row.counts) for row in relevance.rows if any(row.counts)] == [
        (overview.bin_label(score // overview.BIN_WIDTH * overview.BIN_WIDTH, overview.BIN_WIDTH), (1,))
    ]
