"""The MyTerms flow over HTTP, its refusals and what it records: bad input names its field and writes
nothing, another business's proffer is a 404, a customer token reads its window's terms and proffers
nothing, every change is a ledger entry, a settled proffer takes no more answers, and a proffer's change
bumps the person's change counter so a remembered decision basis is never stale."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harken.ledger.models import LedgerEntry
from harken.terms.models import TermsProffer, TermsPublished
from tests.centre_client import Visitor
from tests.decisions.test_memory import counter
from tests.factories import auth, make_org

EMAIL = "noor@example.com"


class World:
    def __init__(self, client: TestClient, session: Session, visitor: Callable[..., Visitor]) -> None:
        self.client, self.session = client, session
        shop, shop_key = make_org(session, "Chapter One Books")
        cafe, cafe_key = make_org(session, "Bean There")
        self.shop, self.cafe = auth(shop_key), auth(cafe_key)
        self.shop_id, self.cafe_id = shop.id, cafe.id
        for org, ref in ((self.shop, "noor"), (self.cafe, "n-7")):
            self.call(org, "PUT", f"/v1/subjects/{ref}", {"email": EMAIL})
            self.call(
                org,
                "PUT",
                f"/v1/subjects/{ref}/consents/marketing",
                {"status": "granted", "channels": ["email"]},
            )
        self.app = auth(self.call(self.shop, "POST", "/v1/subjects/noor/sessions")["token"])
        self.call(self.app, "PATCH", "/v1/me/preferences", {"interests": {"books": 1}})
        browser = visitor()
        browser.sign_in(EMAIL)
        self.person = auth(browser.person_token())

    def call(
        self, headers: dict[str, str], method: str, path: str, body: Any = None, status: int | None = None
    ) -> Any:
        response = self.client.request(method, path, headers=headers, json=body)
        assert (response.status_code < 400) if status is None else response.status_code == status, (
            response.text
        )
        return response.json() if response.content else None

    def decide(self) -> Any:
        body = {
            "subject": "noor",
            "purpose": "marketing",
            "channels": ["email"],
            "candidates": [{"id": "thrillers", "title": "New thrillers", "topics": ["books"]}],
        }
        return self.call(self.shop, "POST", "/v1/decisions", body)

    def written(self) -> tuple[int, int, int]:
        count = self.session.execute
        return (
            count(select(func.count()).select_from(TermsProffer)).scalar_one(),
            count(select(func.count()).select_from(TermsPublished)).scalar_one(),
            count(select(func.count()).select_from(LedgerEntry)).scalar_one(),
        )


@pytest.fixture
def world(client: TestClient, session: Session, visitor: Callable[..., Visitor]) -> World:
    return World(client, session, visitor)


def test_a_proffer_to_some_businesses_reaches_only_those(world: World) -> None:
    made = world.call(
        world.person, "POST", "/v1/me/terms", {"agreement": "NO-AI", "orgs": [str(world.cafe_id)]}
    )
    assert [(p["org_name"], p["ref"], p["state"]) for p in made] == [("Bean There", "n-7", "proffered")]
    assert world.call(world.shop, "GET", "/v1/terms/proffers")["items"] == []
    again = world.call(world.person, "POST", "/v1/me/terms", {"agreement": "NO-AI"})  # now to all
    assert {p["org_name"] for p in again} == {"Bean There", "Chapter One Books"}
    assert next(p["id"] for p in again if p["org_name"] == "Bean There") == made[0]["id"]  # twice is once


def test_bad_input_names_its_field_and_writes_nothing(world: World) -> None:
    before = world.written()
    cases = [
        (world.person, "POST", "/v1/me/terms", {"agreement": "NO-SUCH"}, "agreement"),
        (
            world.person,
            "POST",
            "/v1/me/terms",
            {"agreement": "SD-BASE", "orgs": [str(uuid.uuid4())]},
            "orgs[0]",
        ),
        (world.person, "POST", "/v1/me/terms", {"agreement": "SD-BASE", "orgs": []}, "orgs"),
        (world.shop, "PUT", "/v1/terms/accepted", {"agreements": ["SD-BASE", "NOPE"]}, "agreements[1]"),
    ]
    for headers, method, path, body, field in cases:
        problem = world.call(headers, method, path, body, status=422)
        assert problem["errors"][0]["field"] == field, problem
    proffer = world.call(world.person, "POST", "/v1/me/terms", {"agreement": "SD-BASE"})
    shop_id = next(p["id"] for p in proffer if p["org_name"] == "Chapter One Books")
    mid = world.written()
    for body in ({"agreement": "SD-BASE"}, {"agreement": "NOPE"}):  # the same one, or none of the roster
        problem = world.call(
            world.shop, "POST", f"/v1/terms/proffers/{shop_id}/alternative", body, status=422
        )
        assert problem["errors"][0]["field"] == "agreement"
    assert world.written() == mid and mid[0] == before[0] + 2


def test_another_business_s_proffer_is_not_found_and_a_customer_token_proffers_nothing(world: World) -> None:
    made = world.call(world.person, "POST", "/v1/me/terms", {"agreement": "SD-BASE"})
    cafe_id = next(p["id"] for p in made if p["org_name"] == "Bean There")
    shop_id = next(p["id"] for p in made if p["org_name"] == "Chapter One Books")
    for action in ("accept", "decline"):
        world.call(world.shop, "POST", f"/v1/terms/proffers/{cafe_id}/{action}", status=404)
    world.call(world.shop, "GET", f"/v1/terms/proffers/{cafe_id}", status=404)
    # The bookshop's app shows its own window's terms only, and may not proffer or withdraw.
    window = world.call(world.app, "GET", "/v1/me/terms")
    assert [p["id"] for p in window["proffers"]] == [shop_id] and len(window["roster"]) == 5
    world.call(world.app, "GET", f"/v1/me/terms/{cafe_id}", status=404)
    world.call(world.app, "GET", f"/v1/me/terms/{shop_id}")
    refused = world.call(world.app, "POST", "/v1/me/terms", {"agreement": "NO-AI"}, status=403)
    assert refused["type"] == "/problems/insufficient-authority"
    world.call(world.app, "DELETE", f"/v1/me/terms/{shop_id}", status=403)


def test_every_change_is_a_ledger_entry_and_a_settled_proffer_takes_no_more_answers(world: World) -> None:
    made = world.call(
        world.person, "POST", "/v1/me/terms", {"agreement": "SD-BASE", "orgs": [str(world.shop_id)]}
    )
    proffer_id = made[0]["id"]
    world.call(world.shop, "POST", f"/v1/terms/proffers/{proffer_id}/alternative", {"agreement": "GS-ONLY"})
    world.call(world.shop, "POST", f"/v1/terms/proffers/{proffer_id}/decline")
    world.call(world.shop, "POST", f"/v1/terms/proffers/{proffer_id}/accept")  # it may change its mind
    settled = world.call(world.shop, "POST", f"/v1/terms/proffers/{proffer_id}/decline", status=409)
    assert settled["type"] == "/problems/terms-answered"
    world.call(world.person, "DELETE", f"/v1/me/terms/{proffer_id}")
    world.call(world.person, "DELETE", f"/v1/me/terms/{proffer_id}")  # withdrawing twice is once
    world.call(world.shop, "POST", f"/v1/terms/proffers/{proffer_id}/accept", status=409)
    types = world.session.execute(
        select(LedgerEntry.type)
        .where(LedgerEntry.chain == f"org:{world.shop_id}", LedgerEntry.type.like("terms.%"))
        .order_by(LedgerEntry.seq)
    ).scalars()
    assert list(types) == [
        "terms.proffered",
        "terms.alternative",
        "terms.declined",
        "terms.accepted",
        "terms.withdrawn",
    ]
    record = world.call(world.shop, "GET", f"/v1/terms/proffers/{proffer_id}")["record"]
    assert record["state"] == "withdrawn" and record["withdrawn_at"] is not None


def test_terms_bump_the_counter_and_a_remembered_basis_is_never_stale(world: World) -> None:
    assert world.decide()["allowed"] is True
    assert world.decide()["allowed"] is True  # the second from memory
    before = counter(world.session, world.shop_id, "noor")
    made = world.call(
        world.person, "POST", "/v1/me/terms", {"agreement": "SD-BASE", "orgs": [str(world.shop_id)]}
    )
    assert counter(world.session, world.shop_id, "noor") > before
    assert world.decide()["allowed"] is True  # proffered, not yet accepted: not binding
    before = counter(world.session, world.shop_id, "noor")
    world.call(world.shop, "POST", f"/v1/terms/proffers/{made[0]['id']}/accept")
    assert counter(world.session, world.shop_id, "noor") > before
    refused = world.decide()
    assert [r["code"] for r in refused["reasons"]] == ["terms.purpose_excluded"]
    before = counter(world.session, world.shop_id, "noor")
    world.call(world.person, "DELETE", f"/v1/me/terms/{made[0]['id']}")
    assert counter(world.session, world.shop_id, "noor") > before
    assert world.decide()["allowed"] is True


def test_a_business_publishes_what_it_accepts(world: World) -> None:
    assert world.call(world.shop, "PUT", "/v1/terms/accepted", {"agreements": ["SD-BASE", "NO-AI"]})
    world.call(world.shop, "PUT", "/v1/terms/accepted", {"agreements": ["NO-AI"]})
    public = world.client.get(f"/.well-known/myterms/{world.shop_id}").json()
    assert public["name"] == "Chapter One Books" and [a["id"] for a in public["accepts"]] == ["NO-AI"]
    assert world.call(world.cafe, "GET", "/v1/terms/accepted")["accepts"] == []
    assert world.client.get(f"/.well-known/myterms/{uuid.uuid4()}").status_code == 404


def test_taking_up_the_alternative_a_business_offered_agrees_it_at_once(world: World) -> None:
    made = world.call(
        world.person, "POST", "/v1/me/terms", {"agreement": "SD-BASE", "orgs": [str(world.shop_id)]}
    )
    world.call(
        world.shop, "POST", f"/v1/terms/proffers/{made[0]['id']}/alternative", {"agreement": "GS-ONLY"}
    )
    assert world.decide()["allowed"] is True  # an offer, not yet agreed: nothing binds
    [taken] = world.call(
        world.person, "POST", "/v1/me/terms", {"agreement": "GS-ONLY", "orgs": [str(world.shop_id)]}
    )
    assert taken["state"] == "accepted" and taken["agreement"] == "GS-ONLY"
    record = world.call(world.shop, "GET", f"/v1/terms/proffers/{taken['id']}")["record"]
    offered = world.call(world.shop, "GET", f"/v1/terms/proffers/{made[0]['id']}")["record"]
    assert record["business"]["answered_by_key"] == offered["business"]["answered_by_key"] is not None
    assert world.decide()["allowed"] is True  # its own goods, told to everyone alike
    body = {
        "subject": "noor",
        "purpose": "personalised-offers",
        "channels": ["email"],
        "candidates": [{"id": "picked", "title": "Picked for you", "topics": ["books"]}],
    }
    refused = world.call(world.shop, "POST", "/v1/decisions", body)
    assert [r["code"] for r in refused["reasons"]] == ["terms.purpose_excluded"]
