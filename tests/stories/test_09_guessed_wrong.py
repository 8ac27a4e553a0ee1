"""Story 9, "The customer who was guessed wrong" (seed 004).

Inferred data says "low income, retro fashion, young children"; the customer declared the intent
"travel book for a holiday in Borneo". A bookshop's decision ranks travel books first, the explanation
cites the declared intent, and declared data always outranks inferred data when they disagree.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.stories.conftest import Business, dropped_for

INFERRED = {
    "provenance": "inferred",
    "interests": {"budget": 0.9, "retro-fashion": 0.9, "young-children": 0.9},
}


def test_declared_intent_beats_the_guess(business: Callable[[str], Business]) -> None:
    shop = business("Chapter & Verse Books")
    reader = shop.customer("b-1", grant={"marketing": ["email"]})
    shop.call("PATCH", "/v1/subjects/b-1/preferences", INFERRED)
    reader.context(intent="researching", topics=["travel", "borneo"])
    shop.offer("bargain-bin", topics=["budget"])
    shop.offer("retro-style-annual", topics=["retro-fashion"])
    shop.offer("picture-book", topics=["young-children"])
    shop.offer("borneo-travel-guide", topics=["travel", "borneo"])

    answer = shop.decide(
        "b-1", ["bargain-bin", "retro-style-annual", "picture-book", "borneo-travel-guide"], ["email"]
    )

    assert answer["offer"] == "borneo-travel-guide"
    top, *rest = answer["ranking"]
    assert top["offer_id"] == "borneo-travel-guide"
    assert all(top["score"] > r["score"] for r in rest)
    assert "researching" in answer["explanation"] and "travel" in answer["explanation"]
    assert {"field": "context.topics", "provenance": "declared"} in answer["data_used"]


def test_when_they_disagree_declared_wins(business: Callable[[str], Business]) -> None:
    shop = business("Chapter & Verse Books")
    reader = shop.customer("b-2", grant={"marketing": ["email"]})
    shop.call("PATCH", "/v1/subjects/b-2/preferences", INFERRED)
    reader.preferences(interests={"retro-fashion": -0.8, "young-children": 0.2})
    shop.call("PATCH", "/v1/subjects/b-2/preferences", INFERRED)  # the guess, written again later
    shop.offer("retro-style-annual", topics=["retro-fashion"])
    shop.offer("picture-book", topics=["young-children"])

    answer = shop.decide("b-2", ["retro-style-annual", "picture-book"], ["email"])

    assert dropped_for(answer, "retro-style-annual") == ["topic.disliked"]
    assert dropped_for(answer, "picture-book") == ["relevance.interest", "relevance.below_floor"]
    assert answer["allowed"] is False  # 0.2 declared, not the 0.9 guessed
    seen = shop.call("GET", "/v1/subjects/b-2")["data"]
    assert {"field": "interest:retro-fashion", "provenance": "declared", "affinity": -0.8} in [
        {"field": d["field"], "provenance": d["provenance"], **d["value"]} for d in seen
    ]
