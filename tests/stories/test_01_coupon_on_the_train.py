"""Story 1, "The coupon on the train" (seed 000).

A telecom partner asks, at 08:10 on a weekday, whether to SMS a coffee-shop coupon to a customer whose
declared context is `situation=commuting`. Not sent: the context does not fit (in transit), the
explanation says so, and the answer tells when it would fit. Variant: the customer just had coffee →
coffee offers are suppressed for the rest of the morning.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.factories import FixedClock
from tests.stories.conftest import Business, codes, dropped_for

LONDON = {"time_zone": "Europe/London", "interests": {"coffee": 0.8}}


def test_no_coupon_by_sms_while_commuting(business: Callable[[str], Business], clock: FixedClock) -> None:
    telecom = business("Telecom Partner")
    commuter = telecom.customer("c-1", grant={"marketing": ["sms"]})
    commuter.preferences(**LONDON)
    commuter.context(situation="commuting", valid_until="2026-11-02T09:30:00Z")
    telecom.offer("coffee-coupon", topics=["coffee"], channels=["sms"])

    answer = telecom.decide("c-1", ["coffee-coupon"], ["sms"])  # Monday 08:10

    assert answer["allowed"] is False
    assert codes(answer) == ["context.in_transit"]
    assert "commuting" in answer["explanation"]
    assert answer["retry_after"] == "2026-11-02T09:30:00Z"
    assert "09:30" in answer["explanation"]

    clock.advance(minutes=80)  # 09:30: the declared context has expired by itself
    assert telecom.decide("c-1", ["coffee-coupon"], ["sms"])["allowed"] is True


def test_a_context_lasting_past_today_says_no_moment_is_left_today(
    business: Callable[[str], Business],
) -> None:
    telecom = business("Telecom Partner")
    traveller = telecom.customer("c-2", grant={"marketing": ["sms"]})
    traveller.preferences(**LONDON)
    traveller.context(situation="travelling", valid_until="2026-11-03T07:00:00Z")
    telecom.offer("coffee-coupon", topics=["coffee"], channels=["sms"])

    answer = telecom.decide("c-2", ["coffee-coupon"], ["sms"])

    assert answer["allowed"] is False
    assert codes(answer) == ["context.in_transit", "context.no_moment_today"]
    assert "no suitable moment is left today" in answer["explanation"]
    assert answer["retry_after"] == "2026-11-03T07:00:00Z"


def test_just_had_coffee_suppresses_coffee_for_the_rest_of_the_morning(
    business: Callable[[str], Business], clock: FixedClock
) -> None:
    cafe = business("Bean There Coffee")
    regular = cafe.customer("r-1", grant={"marketing": ["email", "push"]})
    regular.preferences(time_zone="Europe/London", interests={"coffee": 0.8, "pastries": 0.6})
    cafe.call(
        "POST", "/v1/subjects/r-1/events", {"type": "purchase", "item": "flat-white", "topics": ["coffee"]}
    )
    cafe.offer("coffee-coupon", topics=["coffee"])
    cafe.offer("croissant-deal", topics=["pastries"])

    morning = cafe.decide("r-1", ["coffee-coupon", "croissant-deal"], ["push"])
    assert dropped_for(morning, "coffee-coupon") == ["purchase.recent_topic"]
    assert morning["offer"] == "croissant-deal"

    clock.advance(hours=4)  # 12:10: the afternoon
    assert cafe.decide("r-1", ["coffee-coupon"], ["push"])["offer"] == "coffee-coupon"
