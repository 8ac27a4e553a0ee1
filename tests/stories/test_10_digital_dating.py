"""Story 10, "Digital dating: ask, gradually" (seed 004).

A new customer is asked one easy question first (an icebreaker), never a string of questions; more
personal questions come only after earlier ones were answered; a declined question is not asked again
for months; an answered one never again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.factories import FixedClock
from tests.stories.conftest import Business

YES_NO = [
    {"id": "yes", "label": {"en": "Yes"}, "value": {"affinity": 0.8}},
    {"id": "no", "label": {"en": "Not really"}, "value": {"affinity": -0.6}},
]
BANK: dict[str, dict[str, Any]] = {
    "size-of-family": {
        "text": {"en": "Do you shop for children?"},
        "fills": "persona:parent",
        "options": [
            {"id": "yes", "label": {"en": "Yes"}, "value": {"label": "Parent", "interests": ["kids"]}}
        ],
        "intrusiveness": 3,
    },
    "walking": {
        "text": {"en": "Do you like walking holidays?"},
        "fills": "interest:walking",
        "options": YES_NO,
        "intrusiveness": 2,
    },
    "coffee-or-tea": {
        "text": {"en": "Coffee or tea?", "fr": "Café ou thé ?"},
        "fills": "interest:coffee",
        "options": [
            {"id": "coffee", "label": {"en": "Coffee", "fr": "Café"}, "value": {"affinity": 0.9}},
            {"id": "tea", "label": {"en": "Tea", "fr": "Thé"}, "value": {"affinity": -0.5}},
        ],
        "intrusiveness": 1,
    },
    "spas": {
        "text": {"en": "Do you like spa breaks?"},
        "fills": "interest:spa",
        "options": YES_NO,
        "intrusiveness": 1,
    },
}


def _next(shop: Business, ref: str) -> Any:
    response = shop.client.get(f"/v1/subjects/{ref}/next-question", headers=shop.headers)
    assert response.status_code in (200, 204), response.text
    return response.json() if response.status_code == 200 else None


def test_one_easy_question_at_a_time(business: Callable[[str], Business], clock: FixedClock) -> None:
    shop = business("Harbour Hotel")
    for question_id, spec in BANK.items():
        shop.call("PUT", f"/v1/questions/{question_id}", spec)
    shop.customer("new-guest")

    first = _next(shop, "new-guest")
    assert first["question_id"] == "coffee-or-tea" and first["intrusiveness"] == 1  # an icebreaker
    assert _next(shop, "new-guest")["question_id"] == "coffee-or-tea"  # the same one, not a string of them
    shop.call("POST", "/v1/subjects/new-guest/answers", {"question_id": "coffee-or-tea", "option": "coffee"})
    assert _next(shop, "new-guest") is None  # at most one question a week

    clock.advance(days=7)
    assert _next(shop, "new-guest")["question_id"] == "spas"  # the least personal first
    shop.call("POST", "/v1/subjects/new-guest/answers", {"question_id": "spas", "option": "yes"})

    clock.advance(days=7)
    assert _next(shop, "new-guest")["question_id"] == "walking"
    shop.call("POST", "/v1/subjects/new-guest/answers", {"question_id": "walking", "declined": True})

    clock.advance(days=7)
    assert _next(shop, "new-guest")["question_id"] == "size-of-family"  # two answered: now 3 may come
    shop.call("POST", "/v1/subjects/new-guest/answers", {"question_id": "size-of-family", "declined": True})

    clock.advance(days=30)
    assert _next(shop, "new-guest") is None  # nothing left: answered never again, declined resting

    clock.advance(days=180)
    assert _next(shop, "new-guest")["question_id"] == "walking"  # months later, the declined may return


def test_personal_questions_wait_for_answers(business: Callable[[str], Business], clock: FixedClock) -> None:
    shop = business("Harbour Hotel")
    for question_id, spec in BANK.items():
        shop.call("PUT", f"/v1/questions/{question_id}", spec)
    shop.customer("shy-guest")
    for icebreaker in ("coffee-or-tea", "spas"):
        assert _next(shop, "shy-guest")["question_id"] == icebreaker
        shop.call("POST", "/v1/subjects/shy-guest/answers", {"question_id": icebreaker, "declined": True})
        clock.advance(days=7)
    assert _next(shop, "shy-guest") is None  # nothing answered: nothing more personal is asked


def test_what_the_customer_already_told_is_never_asked(business: Callable[[str], Business]) -> None:
    shop = business("Harbour Hotel")
    for question_id, spec in BANK.items():
        shop.call("PUT", f"/v1/questions/{question_id}", spec)
    guest = shop.customer("regular")
    guest.preferences(interests={"coffee": 0.2}, locale="fr-CA")

    first = _next(shop, "regular")
    assert first["question_id"] == "spas"
    assert first["text"] == "Do you like spa breaks?"  # no French text: the first one given

    shop.call("POST", "/v1/subjects/regular/answers", {"question_id": "spas", "option": "yes"})
    assert shop.sees("regular") == {"locale": {"value": "fr-CA"}}  # service sees no interests…
    view = guest.call("GET", "/v1/me")["data"]
    spa = next(d for d in view if d["field"] == "interest:spa")
    assert (spa["value"], spa["provenance"]) == ({"affinity": 0.8}, "declared")  # …but the answer is declared
