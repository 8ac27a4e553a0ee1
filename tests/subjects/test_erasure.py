"""Sealing with each person's own key, and erasure through the org API."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from harken.context.models import Fact
from harken.ledger.models import LedgerEntry
from harken.subjects import vault
from tests.stories.conftest import Business, Customer, business, verified  # noqa: F401


def test_what_a_customer_tells_is_stored_sealed(
    business: Callable[[str], Business],  # noqa: F811
    session: Session,
) -> None:
    shop = business("Chapter & Verse")
    app = shop.customer("priya", grant={"marketing": ["email"]})
    app.call("PUT", "/v1/me/personas/parent", {"label": "Mum of twins", "interests": ["pregnancy"]})
    stored = session.execute(select(Fact.value)).scalars().all()
    assert stored and all(set(value) == {"sealed"} for value in stored)
    ledger = " ".join(str(body) for body in session.execute(select(LedgerEntry.body)).scalars())
    assert "twins" not in ledger and "pregnancy" not in ledger
    assert app.call("GET", "/v1/me")["data"][0]["value"] == {
        "label": "Mum of twins",
        "interests": ["pregnancy"],
    }


def test_a_sealed_value_opens_only_with_its_key_and_in_its_place() -> None:
    key, other = bytes(32), bytes([1]) * 32
    sealed = vault.seal(key, {"affinity": -1.0}, "fact:interest:pregnancy:declared:centre")
    assert vault.unseal(key, sealed, "fact:interest:pregnancy:declared:centre") == {"affinity": -1.0}
    with pytest.raises(InvalidTag):
        vault.unseal(other, sealed, "fact:interest:pregnancy:declared:centre")
    with pytest.raises(InvalidTag):  # moved to another row
        vault.unseal(key, sealed, "fact:interest:travel:declared:centre")


def test_without_the_hub_secret_nothing_opens(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, pytest.raises(RuntimeError, match="secret"):
        vault.data_key(session, uuid.uuid4())


def test_an_org_s_erasure_ends_its_relationship_and_only_the_person_erases_everywhere(
    business: Callable[[str], Business],  # noqa: F811
    verified: Callable[[str], Customer],  # noqa: F811
) -> None:
    shop, airline = business("Chapter & Verse"), business("Skyway Airlines")
    app = shop.customer("priya", email="priya@example.com", grant={"marketing": ["email"]})
    airline.customer("p-77", email="priya@example.com", grant={"marketing": ["email"]})
    priya = verified("priya@example.com")  # she linked both
    app.preferences(interests={"thrillers": 0.9})
    airline.call("DELETE", "/v1/subjects/nobody", status=404)
    ended = {"scope": "this-business", "businesses": ["Chapter & Verse"]}
    assert shop.call("DELETE", "/v1/subjects/priya") == ended
    assert shop.call("DELETE", "/v1/subjects/priya") == ended  # twice is once
    shop.call("GET", "/v1/subjects/priya", status=410)  # nothing of what they had is shown
    shop.call("PUT", "/v1/subjects/priya", {"email": "priya@example.com"}, status=410)
    airline.offer("fares", topics=["travel"])
    assert "subject.erased" not in [
        r["code"] for r in airline.decide("p-77", ["fares"], ["email"])["reasons"]
    ]
    # Only the person erases everywhere: every business they linked and still deal with.
    assert priya.call("DELETE", "/v1/me") == {"scope": "everywhere", "businesses": ["Skyway Airlines"]}
    assert [r["code"] for r in airline.decide("p-77", ["fares"], ["email"])["reasons"]] == ["subject.erased"]
    # A new registration with the same email is a new person, not the erased one.
    shop.call("PUT", "/v1/subjects/priya-2", {"email": "priya@example.com"})
    shop.offer("crime", topics=["thrillers"])
    assert shop.decide("priya-2", ["crime"], ["email"])["reasons"][0]["code"] == "consent.missing"
