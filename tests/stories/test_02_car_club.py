"""Story 2, "The car club" (seeds 000, 001).

The customer declared the life event "joined a car club". A dealer asks to email a car offer: the car
offer is dropped (`life_event.suppressed`); if it was the only candidate the decision is "don't send".
"""

from __future__ import annotations

from collections.abc import Callable

from tests.stories.conftest import Business, codes, dropped_for


def test_a_declared_life_event_drops_car_offers(business: Callable[[str], Business]) -> None:
    dealer = business("City Motors")
    member = dealer.customer("m-1", grant={"marketing": ["email"]})
    member.preferences(
        interests={"cars": 0.9, "cycling": 0.7},
        life_events={
            "car-club": {"label": "Joined a car club", "topics": ["cars"], "until": "2027-05-01T00:00:00Z"}
        },
    )
    dealer.offer("hatchback-lease", topics=["cars"])
    dealer.offer("bike-rack", topics=["cycling"])

    only_car = dealer.decide("m-1", ["hatchback-lease"], ["email"])
    assert only_car["allowed"] is False
    assert dropped_for(only_car, "hatchback-lease") == ["life_event.suppressed"]
    assert codes(only_car) == ["life_event.suppressed", "relevance.none"]
    assert "Joined a car club" not in only_car["explanation"]  # the label is the customer's, not the dealer's

    with_other = dealer.decide("m-1", ["hatchback-lease", "bike-rack"], ["email"])
    assert with_other["allowed"] is True
    assert with_other["offer"] == "bike-rack"
    assert dropped_for(with_other, "hatchback-lease") == ["life_event.suppressed"]


def test_the_pause_ends_when_the_customer_said_it_would(business: Callable[[str], Business]) -> None:
    dealer = business("City Motors")
    member = dealer.customer("m-2", grant={"marketing": ["email"]})
    member.preferences(
        interests={"cars": 0.9},
        life_events={
            "car-club": {"label": "Joined a car club", "topics": ["cars"], "until": "2026-11-05T00:00:00Z"}
        },
    )
    dealer.offer("hatchback-lease", topics=["cars"])

    assert dealer.decide("m-2", ["hatchback-lease"], ["email"])["allowed"] is False
    later = dealer.decide("m-2", ["hatchback-lease"], ["email"], at="2026-11-06T09:00:00Z")
    assert later["allowed"] is True
