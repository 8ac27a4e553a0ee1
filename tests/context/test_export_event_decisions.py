"""The customer's export links each event to the decision it answers: an event naming a decision shows
its `decision_id`, and that decision is in the same document under the same id, so the customer can
follow the link; an event naming none shows `decision_id: null`. Another customer's decisions and links
stay out, and a business's window holds only its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.centre_client import Visitor
from tests.context.test_event_decisions import decided
from tests.stories.conftest import Business, business  # noqa: F401

EMAIL = "priya@example.com"


def answered(shop: Business, ref: str, offer: str = "tea") -> str:
    """A decision about `ref` that chose `offer`, accepted by an event naming it; its id."""
    decision = decided(shop.client, shop.headers, ref, offer)
    shop.call(
        "POST",
        f"/v1/subjects/{ref}/events",
        {"type": "offer.accepted", "offer_id": offer, "decision_id": decision},
    )
    return decision


def followed(document: dict[str, Any]) -> list[tuple[str, str, str | None, str | None]]:
    """Each event as (business, type, offer of the decision it links to, that decision's business):
    the link followed through the document itself."""
    decisions = {d["id"]: d for d in document["decisions"]}
    assert len(decisions) == len(document["decisions"])  # every decision listed once, by its own id
    links = []
    for event in document["events"]:
        assert "decision_id" in event, event
        target = decisions[event["decision_id"]] if event["decision_id"] is not None else None
        links.append(
            (
                event["business"],
                event["type"],
                target["offer"] if target else None,
                target["business"] if target else None,
            )
        )
    return links


def test_an_event_answering_a_decision_links_to_it_in_both_windows_export(
    business: Callable[[str], Business],  # noqa: F811
) -> None:
    shop = business("Chapter & Verse")
    app = shop.customer("priya", email=EMAIL)
    decision = answered(shop, "priya")
    shop.call("POST", "/v1/subjects/priya/events", {"type": "purchase", "item": "isbn-1"})
    someone_elses = answered(shop, "c-2", offer="coffee")

    by_org = shop.call("GET", "/v1/subjects/priya/export")
    assert app.call("GET", "/v1/me/export") == by_org
    linked, unlinked = by_org["events"]
    assert (linked["type"], linked["decision_id"]) == ("offer.accepted", decision)
    assert (unlinked["type"], unlinked["decision_id"]) == ("purchase", None)
    assert [d["id"] for d in by_org["decisions"]] == [decision]
    assert followed(by_org) == [
        ("Chapter & Verse", "offer.accepted", "tea", "Chapter & Verse"),
        ("Chapter & Verse", "purchase", None, None),
    ]
    assert someone_elses not in str(by_org)


def test_the_whole_persons_export_links_each_business_event_to_that_business_decision(
    business: Callable[[str], Business],  # noqa: F811
    visitor: Callable[..., Visitor],
) -> None:
    shop, airline = business("Chapter & Verse"), business("Skyway Airlines")
    shop.customer("priya", email=EMAIL)
    airline.customer("p-77", email=EMAIL)
    mine = {answered(shop, "priya"), answered(airline, "p-77", offer="lounge")}
    airline.call("POST", "/v1/subjects/p-77/events", {"type": "offer.shown", "offer_id": "lounge"})
    me = visitor()
    me.sign_in(EMAIL)

    document: dict[str, Any] = me.get("/centre/data/export").json()
    assert {e["decision_id"] for e in document["events"]} == mine | {None}
    assert sorted(followed(document), key=str) == sorted(
        [
            ("Chapter & Verse", "offer.accepted", "tea", "Chapter & Verse"),
            ("Skyway Airlines", "offer.accepted", "lounge", "Skyway Airlines"),
            ("Skyway Airlines", "offer.shown", None, None),
        ],
        key=str,
    )
    # The shop's window shows its own link only, not the airline's.
    shops = shop.call("GET", "/v1/subjects/priya/export")
    assert [e["decision_id"] for e in shops["events"]] == [d["id"] for d in shops["decisions"]]
    assert {d["id"] for d in shops["decisions"]} < mine
