"""`terms.updated`: each change of a proffer (made, answered, withdrawn) queues one event for the
business it was made to, in the same transaction, with its own ref for the person and nothing of any
other business; a business not subscribed gets nothing, and a refused answer queues nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harken.terms import roster
from harken.webhooks.models import OutboxEvent
from tests.centre_client import Visitor
from tests.terms.test_flow import World

TERMS = "terms.updated"


@pytest.fixture
def world(client: TestClient, session: Session, visitor: Callable[..., Visitor]) -> World:
    return World(client, session, visitor)


def subscribe(world: World, headers: dict[str, str], events: list[str]) -> None:
    body = {"url": "https://hooks.example.com/harken", "events": events}
    world.call(headers, "POST", "/v1/webhooks", body, status=201)


def queued(world: World, org_id: uuid.UUID) -> list[dict[str, Any]]:
    """The `terms.updated` events queued for the org, as their webhooks carry them."""
    rows = world.session.execute(
        select(OutboxEvent.payload)
        .where(OutboxEvent.org_id == org_id, OutboxEvent.type == TERMS)
        .order_by(OutboxEvent.seq)
    ).scalars()
    return list(rows)


def every_terms_event(world: World) -> int:
    count = select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == TERMS)
    return world.session.execute(count).scalar_one()


def proffer(world: World, agreement: str, *orgs: uuid.UUID) -> dict[uuid.UUID, str]:
    """Proffer `agreement` to `orgs` (none: to all); the proffer id per org."""
    body: dict[str, Any] = {"agreement": agreement}
    if orgs:
        body["orgs"] = [str(o) for o in orgs]
    made = world.call(world.person, "POST", "/v1/me/terms", body)
    return {uuid.UUID(p["org"]): p["id"] for p in made}


def test_each_change_reaches_the_business_it_was_proffered_to_and_no_other(world: World) -> None:
    subscribe(world, world.shop, [TERMS])
    subscribe(world, world.cafe, [TERMS])
    proffer_id = proffer(world, "SD-BASE", world.shop_id)[world.shop_id]
    alternative = {"agreement": "GS-ONLY"}
    world.call(world.shop, "POST", f"/v1/terms/proffers/{proffer_id}/alternative", alternative)
    world.call(world.shop, "POST", f"/v1/terms/proffers/{proffer_id}/decline")
    world.call(world.shop, "POST", f"/v1/terms/proffers/{proffer_id}/accept")
    world.call(world.person, "DELETE", f"/v1/me/terms/{proffer_id}")
    world.call(world.person, "DELETE", f"/v1/me/terms/{proffer_id}")  # withdrawing twice is once: no news

    events = queued(world, world.shop_id)
    assert [(e["type"], e["data"]["status"]) for e in events] == [
        (TERMS, "proffered"),
        (TERMS, "alternative"),
        (TERMS, "declined"),
        (TERMS, "accepted"),
        (TERMS, "withdrawn"),
    ]
    assert [(e["data"]["alternative"], e["data"]["alternative_version"]) for e in events] == [
        (None, None),
        ("GS-ONLY", roster.AGREEMENTS["GS-ONLY"].version),
        (None, None),
        (None, None),
        (None, None),
    ]
    for event in events:
        data = event["data"]
        assert (data["proffer"], data["ref"], data["agreement"], data["version"]) == (
            proffer_id,
            "noor",
            "SD-BASE",
            roster.AGREEMENTS["SD-BASE"].version,
        )
        assert data["at"] == event["timestamp"]
    assert queued(world, world.cafe_id) == []  # proffered to the bookshop only

    # Proffered to both: each business hears of its own proffer, under its own ref, and of nothing else.
    to = proffer(world, "NO-AI")
    [cafe] = queued(world, world.cafe_id)
    assert cafe["data"]["proffer"] == to[world.cafe_id] and cafe["data"]["ref"] == "n-7"
    assert set(cafe["data"]) == {
        "proffer",
        "ref",
        "agreement",
        "version",
        "status",
        "alternative",
        "alternative_version",
        "at",
    }
    shop = queued(world, world.shop_id)[-1]
    assert shop["data"]["proffer"] == to[world.shop_id] and shop["data"]["ref"] == "noor"
    told = str(cafe)
    assert to[world.shop_id] not in told and str(world.shop_id) not in told and "noor" not in told


def test_a_business_not_subscribed_to_terms_gets_nothing(world: World) -> None:
    subscribe(world, world.shop, ["consent.updated", "share.updated"])
    made = proffer(world, "SD-BASE")
    world.call(world.shop, "POST", f"/v1/terms/proffers/{made[world.shop_id]}/accept")
    world.call(world.cafe, "POST", f"/v1/terms/proffers/{made[world.cafe_id]}/decline")
    assert every_terms_event(world) == 0


def test_taking_up_an_offered_alternative_is_one_event_agreed(world: World) -> None:
    subscribe(world, world.shop, [TERMS])
    first = proffer(world, "SD-BASE", world.shop_id)[world.shop_id]
    world.call(world.shop, "POST", f"/v1/terms/proffers/{first}/alternative", {"agreement": "GS-ONLY"})
    taken = proffer(world, "GS-ONLY", world.shop_id)[world.shop_id]
    last = queued(world, world.shop_id)[-1]["data"]
    assert len(queued(world, world.shop_id)) == 3
    assert (last["proffer"], last["agreement"], last["status"]) == (taken, "GS-ONLY", "accepted")
    proffer(world, "GS-ONLY", world.shop_id)  # proffering twice is once: no news
    assert len(queued(world, world.shop_id)) == 3


def test_a_refused_answer_queues_nothing(world: World) -> None:
    subscribe(world, world.shop, [TERMS])
    subscribe(world, world.cafe, [TERMS])
    made = proffer(world, "SD-BASE")
    shop_id, cafe_id = made[world.shop_id], made[world.cafe_id]
    before = every_terms_event(world)
    assert before == 2
    refusals: list[tuple[dict[str, str], str, dict[str, str] | None, int]] = [
        (world.shop, f"{shop_id}/alternative", {"agreement": "SD-BASE"}, 422),  # the one proffered
        (world.shop, f"{shop_id}/alternative", {"agreement": "NOPE"}, 422),  # none of the roster
        (world.shop, f"{cafe_id}/accept", None, 404),  # another business's proffer
        (world.shop, f"{cafe_id}/decline", None, 404),
        (world.cafe, f"{shop_id}/alternative", {"agreement": "NO-AI"}, 404),
        (world.shop, f"{uuid.uuid4()}/accept", None, 404),
    ]
    for headers, path, body, status in refusals:
        world.call(headers, "POST", f"/v1/terms/proffers/{path}", body, status=status)
    assert every_terms_event(world) == before
    world.call(world.shop, "POST", f"/v1/terms/proffers/{shop_id}/accept")
    world.call(world.shop, "POST", f"/v1/terms/proffers/{shop_id}/decline", status=409)  # settled
    assert every_terms_event(world) == before + 1


def test_a_customer_s_erasure_takes_their_terms_events_with_them(world: World) -> None:
    subscribe(world, world.shop, [TERMS])
    subscribe(world, world.cafe, [TERMS])
    proffer(world, "SD-BASE")
    world.call(world.shop, "DELETE", "/v1/subjects/noor")
    assert queued(world, world.shop_id) == []
    assert [e["data"]["ref"] for e in queued(world, world.cafe_id)] == ["n-7"]  # the café's stays
