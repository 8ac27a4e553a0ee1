"""Story 3, "The book that was a gift" (seeds 000, 001).

The customer bought a thriller and marked it as a gift, and declared they dislike thrillers. The gift
never raises the thriller interest, thrillers are never recommended, and the explanation never cites
the gift.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.stories.conftest import Business, dropped_for

TOMORROW = "2026-11-03T10:00:00Z"  # past the part of the day a purchase pauses its topics


def test_a_gift_is_not_the_buyers_interest(business: Callable[[str], Business]) -> None:
    shop = business("Chapter & Verse Books")
    shop.customer("g-1", grant={"marketing": ["email"]})
    shop.call(
        "POST",
        "/v1/subjects/g-1/events",
        {"type": "purchase", "item": "nordic-noir-1", "topics": ["thriller"], "gift": True},
    )
    shop.offer("nordic-noir-2", topics=["thriller"])

    answer = shop.decide("g-1", ["nordic-noir-2"], ["email"], at=TOMORROW)

    assert answer["allowed"] is False
    assert dropped_for(answer, "nordic-noir-2") == ["relevance.below_floor"]
    assert "thriller" not in str(shop.sees("g-1"))


def test_buying_for_oneself_does_count_as_observed_interest(business: Callable[[str], Business]) -> None:
    shop = business("Chapter & Verse Books")
    shop.customer("g-2", grant={"marketing": ["email"]})
    shop.call(
        "POST",
        "/v1/subjects/g-2/events",
        {"type": "purchase", "item": "nordic-noir-1", "topics": ["thriller"]},
    )
    shop.offer("nordic-noir-2", topics=["thriller"])

    answer = shop.decide("g-2", ["nordic-noir-2"], ["email"], at=TOMORROW)

    assert answer["allowed"] is True
    assert [r["code"] for r in answer["ranking"][0]["reasons"]] == ["relevance.inferred"]


def test_a_declared_dislike_beats_every_purchase_and_the_gift_is_never_cited(
    business: Callable[[str], Business],
) -> None:
    shop = business("Chapter & Verse Books")
    reader = shop.customer("g-3", grant={"marketing": ["email"]})
    for gift in (True, False):
        shop.call(
            "POST",
            "/v1/subjects/g-3/events",
            {"type": "purchase", "item": f"noir-{gift}", "topics": ["thriller"], "gift": gift},
        )
    reader.preferences(interests={"thriller": -1, "travel": 0.7})
    shop.offer("nordic-noir-2", topics=["thriller"])
    shop.offer("borneo-guide", topics=["travel"])

    answer = shop.decide("g-3", ["nordic-noir-2", "borneo-guide"], ["email"], at=TOMORROW)

    assert answer["offer"] == "borneo-guide"
    assert dropped_for(answer, "nordic-noir-2") == ["topic.disliked"]
    assert "gift" not in str(answer).lower()
    alone = shop.decide("g-3", ["nordic-noir-2"], ["email"], at=TOMORROW)
    assert alone["allowed"] is False
    assert "gift" not in alone["explanation"].lower()
