"""The Python client's MyTerms calls against the real app in-process, on both databases: the business
lists what its customers proffered, answers (the hub's refusals raised as HarkenError naming the field),
fetches the same signed record the customer gets and checks it offline with the hub's own verifier, and
publishes which agreements it accepts."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from harken.client import (
    Harken,
    HarkenError,
    OrgTerms,
    ProfferRead,
    RecordProblem,
    SignedRecord,
    verify_terms_record,
)
from tests.centre_client import Visitor
from tests.terms.test_flow import World
from tests.test_client import BASE, to_app


@pytest.fixture
def world(client: TestClient, session: Session, visitor: Callable[..., Visitor]) -> World:
    return World(client, session, visitor)


@pytest.fixture
def harken(client: TestClient, world: World) -> Iterator[Harken]:
    """The bookshop's client."""
    key = world.shop["Authorization"].removeprefix("Bearer ")
    with Harken(BASE, key, transport=httpx.MockTransport(to_app(client)), max_attempts=1) as connected:
        yield connected


def proffered(world: World, agreement: str = "SD-BASE") -> dict[uuid.UUID, uuid.UUID]:
    """The customer proffers `agreement` to every business they linked; the proffer id per business."""
    made = world.call(world.person, "POST", "/v1/me/terms", {"agreement": agreement})
    return {uuid.UUID(p["org"]): uuid.UUID(p["id"]) for p in made}


def test_the_business_lists_and_answers_what_it_was_proffered(harken: Harken, world: World) -> None:
    assert harken.terms_proffers().items == []
    to = proffered(world)
    mine = to[world.shop_id]
    [waiting] = harken.terms_proffers("proffered").items
    assert isinstance(waiting, ProfferRead)
    assert (waiting.id, waiting.ref, waiting.agreement, waiting.state) == (
        mine,
        "noor",
        "SD-BASE",
        "proffered",
    )
    assert harken.terms_proffers("accepted").items == []

    offered = harken.offer_terms_alternative(mine, "GS-ONLY")
    assert isinstance(offered, SignedRecord)
    assert offered.record["state"] == "alternative" and offered.record["alternative"]["id"] == "GS-ONLY"
    assert harken.decline_terms(mine).record["state"] == "declined"
    accepted = harken.accept_terms(str(mine))  # ids as strings too
    assert accepted.record["state"] == "accepted" and accepted.record["alternative"] is None
    assert [p.state for p in harken.terms_proffers().items] == ["accepted"]

    with pytest.raises(HarkenError) as settled:
        harken.decline_terms(mine)
    assert settled.value.status == 409 and settled.value.type.endswith("/terms-answered")


def test_refusals_are_raised_naming_their_field_and_another_business_s_proffer_is_not_found(
    harken: Harken, world: World
) -> None:
    to = proffered(world)
    mine, theirs = to[world.shop_id], to[world.cafe_id]
    for agreement in ("SD-BASE", "NOPE"):  # the one proffered, or none of the roster
        with pytest.raises(HarkenError) as invalid:
            harken.offer_terms_alternative(mine, agreement)
        assert invalid.value.status == 422 and set(invalid.value.fields) == {"agreement"}
    for call in (harken.terms_record, harken.accept_terms, harken.decline_terms):
        with pytest.raises(HarkenError) as missing:
            call(theirs)
        assert missing.value.status == 404
    with pytest.raises(HarkenError) as unknown:
        harken.terms_record(uuid.uuid4())
    assert unknown.value.status == 404 and unknown.value.title == missing.value.title
    assert harken.terms_record(mine).record["state"] == "proffered"  # nothing refused was written


def test_the_record_is_the_customer_s_and_verifies_offline(harken: Harken, world: World) -> None:
    mine = proffered(world)[world.shop_id]
    answered = harken.accept_terms(mine)
    fetched = harken.terms_record(mine)
    assert fetched == answered
    assert fetched.model_dump(mode="json") == world.call(world.person, "GET", f"/v1/me/terms/{mine}")

    jwks = harken.jwks()
    for saved in (fetched, fetched.model_dump(mode="json"), fetched.jws):
        document = verify_terms_record(saved, jwks)
        assert (document["id"], document["state"], document["person"]["ref"]) == (
            str(mine),
            "accepted",
            "noor",
        )
    assert Harken.verify_terms_record(fetched, jwks) == verify_terms_record(fetched, jwks)

    forged = fetched.model_copy(update={"record": {**fetched.record, "state": "declined"}})
    with pytest.raises(RecordProblem):
        verify_terms_record(forged, jwks)
    with pytest.raises(RecordProblem):
        verify_terms_record(fetched, {"keys": []})  # not the hub's keys


def test_the_business_publishes_what_it_accepts(harken: Harken, world: World) -> None:
    assert harken.accepted_terms().accepts == []
    published = harken.publish_terms(["SD-BASE", "NO-AI"])
    assert isinstance(published, OrgTerms) and published.org == world.shop_id
    assert [a.id for a in published.accepts] == ["NO-AI", "SD-BASE"]
    assert [a.id for a in harken.publish_terms(["NO-AI"]).accepts] == ["NO-AI"]  # the whole list
    public = world.client.get(f"/.well-known/myterms/{world.shop_id}").json()
    assert harken.accepted_terms() == OrgTerms.model_validate(public)
    with pytest.raises(HarkenError) as invalid:
        harken.publish_terms(["NO-AI", "NOPE"])
    assert invalid.value.status == 422 and set(invalid.value.fields) == {"agreements[1]"}
    assert [a.id for a in harken.accepted_terms().accepts] == ["NO-AI"]
