"""Story 15, "Something new, please" (seed 003).

The customer sets "surprise me" high: rankings include offers outside known interests (never disliked
ones); with "surprise me" at zero they never do.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.stories.conftest import Business, candidate, dropped_for

OFFERS = ["cookbook", "pottery-class", "horror-anthology"]


def test_surprise_me_opens_the_ranking_to_new_topics_but_never_disliked_ones(
    business: Callable[[str], Business],
) -> None:
    shop = business("Chapter & Verse Books")
    shop.offer("cookbook", topics=["cooking"])
    shop.offer("pottery-class", topics=["pottery"])
    shop.offer("horror-anthology", topics=["horror"])
    customer = shop.customer("s-1", grant={"marketing": ["email"]})
    customer.preferences(interests={"cooking": 0.7, "horror": -1}, novelty=0.9)

    curious = shop.decide("s-1", OFFERS, ["email"])
    assert [r["offer_id"] for r in curious["ranking"] if r["eligible"]] == ["cookbook", "pottery-class"]
    assert [r["code"] for r in candidate(curious, "pottery-class")["reasons"]] == ["relevance.novelty"]
    assert dropped_for(curious, "horror-anthology") == ["topic.disliked"]

    customer.preferences(novelty=0)
    settled = shop.decide("s-1", OFFERS, ["email"])
    assert [r["offer_id"] for r in settled["ranking"] if r["eligible"]] == ["cookbook"]
    assert dropped_for(settled, "pottery-class") == ["relevance.below_floor"]

    alone = shop.decide("s-1", ["pottery-class"], ["email"])
    assert alone["allowed"] is False
