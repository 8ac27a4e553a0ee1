"""Story 4, "The pregnancy coupons" (seed 000).

Offers in a sensitive topic are never chosen unless the customer gave explicit consent for that
sensitive purpose, and never on the basis of inferred data: dropped with `sensitive.no_explicit_consent`.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.stories.conftest import Business, dropped_for


def test_sensitive_offers_need_explicit_consent_and_declared_data(
    business: Callable[[str], Business],
) -> None:
    store = business("Everyday Stores")
    shopper = store.customer("p-1", grant={"marketing": ["email"]})
    store.call(
        "PATCH", "/v1/subjects/p-1/preferences", {"provenance": "inferred", "interests": {"pregnancy": 1.0}}
    )
    store.offer("prenatal-vitamins", topics=["pregnancy"], sensitive=True, purpose="health-offers")
    store.offer("tea-sampler", topics=["tea"])
    shopper.preferences(interests={"tea": 0.5})

    inferred_only = store.decide("p-1", ["prenatal-vitamins", "tea-sampler"], ["email"])
    assert dropped_for(inferred_only, "prenatal-vitamins") == ["sensitive.no_explicit_consent"]
    assert inferred_only["offer"] == "tea-sampler"

    store.call("PUT", "/v1/subjects/p-1/consents/health-offers", {"status": "granted", "channels": ["email"]})
    consented = store.decide("p-1", ["prenatal-vitamins"], ["email"])
    assert consented["allowed"] is False  # explicit consent, but only inferred data says "pregnancy"
    assert dropped_for(consented, "prenatal-vitamins") == ["sensitive.declared_only", "relevance.below_floor"]

    shopper.preferences(interests={"pregnancy": 0.8})
    declared = store.decide("p-1", ["prenatal-vitamins"], ["email"])
    assert declared["allowed"] is True
    assert declared["offer"] == "prenatal-vitamins"


def test_an_offer_flagged_sensitive_without_a_sensitive_purpose_is_never_chosen(
    business: Callable[[str], Business],
) -> None:
    store = business("Everyday Stores")
    shopper = store.customer("p-2", grant={"marketing": ["email"]})
    shopper.preferences(interests={"pregnancy": 0.9})
    store.offer("baby-bundle", topics=["pregnancy"], sensitive=True)

    answer = store.decide("p-2", ["baby-bundle"], ["email"])

    assert answer["allowed"] is False
    assert dropped_for(answer, "baby-bundle") == ["sensitive.no_explicit_consent"]
