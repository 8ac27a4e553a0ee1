"""Story 14, "Name-in-the-card is not personalisation" (seed 002).

A greeting chosen for a Canadian customer is for Canadian Thanksgiving, not the US one: the customer's
declared country and locale drive it.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.stories.conftest import Business, codes, dropped_for

GREETINGS = ["thanksgiving-us", "thanksgiving-ca", "action-de-graces"]


def _greetings(shop: Business) -> None:
    shop.offer("thanksgiving-us", topics=["holidays"], countries=["US"], locales=["en"])
    shop.offer("thanksgiving-ca", topics=["holidays"], countries=["CA"], locales=["en"])
    shop.offer("action-de-graces", topics=["holidays"], countries=["CA"], locales=["fr"])


def test_the_canadian_gets_canadian_thanksgiving_in_their_language(
    business: Callable[[str], Business],
) -> None:
    shop = business("Maple Gifts")
    _greetings(shop)
    for ref, locale, expected in (
        ("ca-en", "en-CA", "thanksgiving-ca"),
        ("ca-fr", "fr-CA", "action-de-graces"),
    ):
        customer = shop.customer(ref, grant={"marketing": ["email"]})
        customer.preferences(country="CA", locale=locale, interests={"holidays": 0.6})

        answer = shop.decide(ref, GREETINGS, ["email"])

        assert answer["offer"] == expected
        assert dropped_for(answer, "thanksgiving-us") == ["country.mismatch"]
        assert {"field": "preferences.country", "provenance": "declared"} in answer["data_used"]


def test_without_a_declared_country_no_greeting_is_guessed(business: Callable[[str], Business]) -> None:
    shop = business("Maple Gifts")
    _greetings(shop)
    customer = shop.customer("unknown-country", grant={"marketing": ["email"]})
    customer.preferences(locale="en-US", interests={"holidays": 0.6})

    answer = shop.decide("unknown-country", GREETINGS, ["email"])

    assert answer["allowed"] is False
    assert codes(answer)[-1] == "relevance.none"
    assert {dropped_for(answer, g)[0] for g in GREETINGS} == {"country.unknown"}
