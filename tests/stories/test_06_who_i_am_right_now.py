"""Story 6, "Who I am right now" (seeds 000, 001).

The customer has personas `parent` and `employee`, the active one is `employee` (at work): a family
day-out offer targeted at `parent` is held back or ranked below work-relevant ones; when the customer
switches to `parent`, the same request ranks it first.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.stories.conftest import Business, candidate


def test_the_active_persona_decides_what_comes_first(business: Callable[[str], Business]) -> None:
    store = business("Department Store")
    customer = store.customer("d-1", grant={"marketing": ["email"]})
    customer.call("PUT", "/v1/me/personas/parent", {"label": "Parent", "interests": ["family", "days-out"]})
    customer.call(
        "PUT", "/v1/me/personas/employee", {"label": "Employee", "interests": ["office", "commute"]}
    )
    store.offer("zoo-family-day", topics=["family", "days-out"], personas=["parent"])
    store.offer("laptop-bag", topics=["office"], personas=["employee"])
    store.offer("umbrella", topics=["commute"])
    offers = ["zoo-family-day", "laptop-bag", "umbrella"]

    customer.context(persona="employee", situation="work")
    at_work = store.decide("d-1", offers, ["email"])
    order = [r["offer_id"] for r in at_work["ranking"]]
    assert at_work["offer"] == "laptop-bag"
    assert order.index("zoo-family-day") > order.index("laptop-bag")
    assert not candidate(at_work, "zoo-family-day")["eligible"] or order[-1] == "zoo-family-day"
    assert "Employee" in at_work["explanation"]

    customer.context(persona="parent", situation="home")
    at_home = store.decide("d-1", offers, ["email"])
    assert at_home["offer"] == "zoo-family-day"
    assert at_home["ranking"][0]["offer_id"] == "zoo-family-day"
    assert "Parent" in at_home["explanation"]
