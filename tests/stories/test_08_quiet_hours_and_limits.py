"""Story 8, "Quiet hours and channel limits" (seeds 000, 003).

Quiet hours 21:00 to 08:00 (customer's time zone) and at most 2 SMS a week: requests inside quiet hours
are denied with `context.quiet_hours` and a `retry_after`; the third SMS in a week is denied with
`frequency.cap`.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.factories import FixedClock
from tests.stories.conftest import Business, Customer, codes


def test_quiet_hours_in_the_customers_zone(business: Callable[[str], Business], clock: FixedClock) -> None:
    grocer = business("Corner Grocer")
    customer = grocer.customer("q-1", grant={"marketing": ["sms"]})
    customer.preferences(
        time_zone="America/Toronto", quiet_hours={"start": "21:00", "end": "08:00"}, interests={"baking": 0.8}
    )
    grocer.offer("flour-deal", topics=["baking"])

    night = grocer.decide("q-1", ["flour-deal"], ["sms"])  # 08:10 UTC = 03:10 in Toronto
    assert night["allowed"] is False
    assert codes(night) == ["context.quiet_hours"]
    assert night["retry_after"] == "2026-11-02T13:00:00Z"  # 08:00 in Toronto (UTC-5)

    late = grocer.decide("q-1", ["flour-deal"], ["sms"], at="2026-11-03T02:30:00Z")  # 21:30 in Toronto
    assert codes(late) == ["context.quiet_hours", "context.no_moment_today"]
    assert late["retry_after"] == "2026-11-03T13:00:00Z"

    clock.advance(hours=5)  # 08:10 in Toronto
    assert grocer.decide("q-1", ["flour-deal"], ["sms"])["allowed"] is True


def test_the_third_sms_in_a_week_is_refused(
    business: Callable[[str], Business], verified: Callable[[str], Customer], clock: FixedClock
) -> None:
    grocer, pharmacy = business("Corner Grocer"), business("High Street Pharmacy")
    customer = grocer.customer("q-2", email="q2@example.org", grant={"marketing": ["sms", "email"]})
    pharmacy.customer("ph-9", email="q2@example.org", grant={"marketing": ["sms"]})
    # The limit is the customer's own, set in their Preference Centre: it holds at every business they
    # linked, without sharing anything with them.
    verified("q2@example.org").preferences(channels={"sms": {"allowed": True, "max_per_week": 2}})
    customer.preferences(interests={"baking": 0.8})
    grocer.offer("flour-deal", topics=["baking"])

    first = grocer.decide("q-2", ["flour-deal"], ["sms"])
    clock.advance(days=2)
    second = grocer.decide("q-2", ["flour-deal"], ["sms"])
    clock.advance(days=1)
    third = grocer.decide("q-2", ["flour-deal"], ["sms"])

    assert first["allowed"] and second["allowed"]
    assert third["allowed"] is False
    assert codes(third) == ["frequency.cap", "context.no_moment_today"]
    assert third["retry_after"] == "2026-11-09T08:10:00Z"  # a week after the first SMS
    email = grocer.decide("q-2", ["flour-deal"], ["sms", "email"])
    assert email["allowed"] is True and email["channel"] == "email"  # another channel is still open

    # Another business's SMS count toward it too.
    pharmacy.offer("vitamins", topics=["wellbeing"])
    refused = pharmacy.decide("ph-9", ["vitamins"], ["sms"])
    assert "frequency.cap" in codes(refused)

    clock.advance(days=4, minutes=1)  # a week after the first SMS
    assert grocer.decide("q-2", ["flour-deal"], ["sms"])["allowed"] is True
