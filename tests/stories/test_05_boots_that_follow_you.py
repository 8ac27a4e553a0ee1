"""Story 5, "The boots that follow you" (seed 003).

The customer bought item `boots-123`: offers for that item are suppressed (`purchase.already_bought`)
for the org's suppression window, on every channel, at every org the purchase was shared with.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.factories import FixedClock
from tests.stories.conftest import Business, Customer, dropped_for

EMAIL = "walker@example.org"


def test_bought_boots_are_not_offered_again_on_any_channel(
    business: Callable[[str], Business], clock: FixedClock
) -> None:
    shop = business("Trail Outfitters")
    walker = shop.customer("w-1", grant={"marketing": ["email", "sms", "push"]})
    walker.preferences(interests={"hiking": 0.9})
    shop.call(
        "POST", "/v1/subjects/w-1/events", {"type": "purchase", "item": "boots-123", "topics": ["footwear"]}
    )
    shop.offer("boots-123-promo", topics=["hiking"], item="boots-123", suppress_days=30)

    for channel in ("email", "sms", "push"):
        answer = shop.decide("w-1", ["boots-123-promo"], [channel], at="2026-11-03T10:00:00Z")
        assert answer["allowed"] is False
        assert dropped_for(answer, "boots-123-promo") == ["purchase.already_bought"]

    clock.advance(days=31)  # past the org's window
    assert shop.decide("w-1", ["boots-123-promo"], ["email"])["allowed"] is True


def test_another_org_holds_back_the_item_once_the_customer_shares_purchases(
    business: Callable[[str], Business], verified: Callable[[str], Customer]
) -> None:
    shop, marketplace = business("Trail Outfitters"), business("Big Marketplace")
    shop.customer("w-2", email=EMAIL)
    shop.call(
        "POST", "/v1/subjects/w-2/events", {"type": "purchase", "item": "boots-123", "topics": ["footwear"]}
    )
    shopper = marketplace.customer("mk-77", email=EMAIL.upper(), grant={"marketing": ["email"]})
    shopper.preferences(interests={"hiking": 0.9})
    marketplace.offer("boots-123-resale", topics=["hiking"], item="boots-123")
    tomorrow = "2026-11-03T10:00:00Z"

    person = verified(EMAIL)  # signed in, she confirmed both shops know her

    before = marketplace.decide("mk-77", ["boots-123-resale"], ["email"], at=tomorrow)
    assert before["allowed"] is True  # the marketplace cannot know about another shop's purchase

    ids = {b["name"]: b["id"] for b in person.call("GET", "/v1/me/directory")}
    person.call("PUT", f"/v1/me/sharing/{ids['Big Marketplace']}", {"profile": False, "purchases": True})
    after = marketplace.decide("mk-77", ["boots-123-resale"], ["email"], at=tomorrow)
    assert after["allowed"] is False
    assert dropped_for(after, "boots-123-resale") == ["purchase.already_bought"]
