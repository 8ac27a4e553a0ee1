"""Shares refuse bad input naming the field, change nothing when they do, and belong to their customer."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harken.ledger.service import Notary
from harken.orgs.models import Org
from harken.shares import service
from harken.shares.models import Share, ShareGrant, ShareUse
from harken.shares.schemas import GrantPost, SharePost, Trip
from harken.subjects.models import Subject, SubjectRef
from tests.factories import T0, FixedClock
from tests.stories.conftest import Business, Customer


def body(org: str, **changes: Any) -> dict[str, Any]:
    share = {
        "trip": {"flight": "LH903", "arrives_at": "2026-11-02T21:40:00+01:00"},
        "expires_at": "2026-11-03T12:00:00Z",
        "grants": [{"org": org, "purpose": "service", "fields": ["trip.arrives_at"]}],
    }
    return {**share, **changes}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"expires_at": "2026-11-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "2027-01-01T00:00:00Z"}, "expires_at"),
        ({"grants": []}, "body.grants"),
        (
            {
                "grants": [
                    {
                        "org": "00000000-0000-0000-0000-000000000000",
                        "purpose": "service",
                        "fields": ["context"],
                    }
                ]
            },
            "grants[0].org",
        ),
        ({"trip": {"flight": "LH903"}}, "grants[0].fields"),
        ({"trip": {"flight": "not a flight"}}, "body.trip.flight"),
        ({"trip": {"party_size": 0, "arrives_at": "2026-11-02T21:40:00Z"}}, "body.trip.party_size"),
    ],
)
def test_a_bad_share_is_refused_naming_the_field(
    business: Callable[[str], Business],
    verified: Callable[[str], Customer],
    session: Session,
    changes: dict[str, Any],
    field: str,
) -> None:
    business("Skyway Airlines").customer("sam", email="sam@example.com")
    sam = verified("sam@example.com")
    [me] = sam.call("GET", "/v1/me/directory")
    response = sam.client.post("/v1/me/shares", headers=sam.headers, json=body(me["id"], **changes))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert session.execute(select(func.count()).select_from(Share)).scalar_one() == 0


def test_grants_name_each_business_once_and_known_fields_only(
    business: Callable[[str], Business], verified: Callable[[str], Customer]
) -> None:
    business("Skyway Airlines").customer("sam", email="sam@example.com")
    sam = verified("sam@example.com")
    [me] = sam.call("GET", "/v1/me/directory")
    twice = body(me["id"])
    twice["grants"] = twice["grants"] * 2
    unknown = body(me["id"])
    unknown["grants"][0]["fields"] = ["email"]
    for bad in (twice, unknown):
        assert sam.client.post("/v1/me/shares", headers=sam.headers, json=bad).status_code == 422


def test_a_business_s_app_may_not_make_list_or_take_back_shares(
    business: Callable[[str], Business], session: Session
) -> None:
    """Shares carry the person's context to other businesses: a business's app never may."""
    sam = business("Skyway Airlines").customer("sam", email="sam@example.com")
    [me] = sam.call("GET", "/v1/me/directory")
    for method, path, json in (
        ("POST", "/v1/me/shares", body(me["id"])),
        ("GET", "/v1/me/shares", None),
        ("DELETE", f"/v1/me/shares/{uuid.uuid4()}", None),
        ("DELETE", f"/v1/me/shares/{uuid.uuid4()}/orgs/{me['id']}", None),
    ):
        refused = sam.client.request(method, path, headers=sam.headers, json=json)
        assert refused.status_code == 403, refused.text
        assert refused.json()["type"] == "/problems/insufficient-authority"
    assert session.execute(select(func.count()).select_from(Share)).scalar_one() == 0


def test_a_share_is_its_customer_s_alone_and_goes_with_their_erasure(
    business: Callable[[str], Business], verified: Callable[[str], Customer], session: Session
) -> None:
    airline = business("Skyway Airlines")
    airline.customer("sam", email="sam@example.com")
    airline.customer("priya", email="priya@example.com")
    sam, priya = verified("sam@example.com"), verified("priya@example.com")
    [me] = sam.call("GET", "/v1/me/directory")
    share = sam.call("POST", "/v1/me/shares", body(me["id"]))
    assert priya.call("GET", "/v1/me/shares") == []
    taken = priya.client.delete(f"/v1/me/shares/{share['id']}", headers=priya.headers)
    assert taken.status_code == 404
    airline.call("GET", f"/v1/shares/{share['id']}")

    assert sam.call("DELETE", "/v1/me") == {"scope": "everywhere", "businesses": ["Skyway Airlines"]}
    airline.call("GET", f"/v1/shares/{share['id']}", status=404)
    for model in (Share, ShareGrant, ShareUse):
        assert session.execute(select(func.count()).select_from(model)).scalar_one() == 0


def test_a_decision_weighs_what_a_share_lends_for_its_purpose_only(
    business: Callable[[str], Business], verified: Callable[[str], Customer], session: Session
) -> None:
    """Sam told the airline's app what they want tonight, and shares it with the restaurant for
    personalised offers. The restaurant's decisions for that purpose weigh it (and the read is in Sam's
    access log); its marketing decisions do not; once the share is taken back, neither does."""
    airline, restaurant = business("Skyway Airlines"), business("Zum Roemer")
    app = airline.customer("sam", email="sam@example.com")
    app.context(intent="researching", topics=["dinner"], situation="travelling")
    restaurant.customer(  # the same person, once they confirm it (signing in below)
        "table-4", email="sam@example.com", grant={"personalised-offers": ["email"], "marketing": ["email"]}
    )
    sam = verified("sam@example.com")
    restaurant.offer("late-dinner", topics=["dinner"], channels=["email"])
    restaurant.offer("brunch", topics=["brunch"], channels=["email"])

    def asks(purpose: str) -> dict[str, Any]:
        decision: dict[str, Any] = restaurant.decide(
            "table-4", ["late-dinner", "brunch"], ["email"], purpose=purpose
        )
        return decision

    before = asks("personalised-offers")
    assert not before["allowed"] and "context.topics" not in {d["field"] for d in before["data_used"]}

    ids = {b["name"]: b["id"] for b in sam.call("GET", "/v1/me/directory")}
    share = sam.call(
        "POST",
        "/v1/me/shares",
        {
            "expires_at": "2026-11-03T12:00:00Z",
            "grants": [{"org": ids["Zum Roemer"], "purpose": "personalised-offers", "fields": ["context"]}],
        },
    )
    lent = asks("personalised-offers")
    assert lent["allowed"] and lent["offer"] == "late-dinner", lent
    assert "context.topics" in {d["field"] for d in lent["data_used"]}
    not_for_marketing = asks("marketing")
    assert "context.topics" not in {d["field"] for d in not_for_marketing["data_used"]}

    # The decision's use of the share is a read of it: counted, in the access log and in the ledger.
    [mine] = sam.call("GET", "/v1/me/shares")
    assert mine["grants"][0]["reads"] == 1
    log = sam.call("GET", "/v1/me/access-log")
    reads = [e for e in log if e["kind"] == "share.read"]
    assert [(e["org"], e["share"], e["fields"], e["purpose"]) for e in reads] == [
        ("Zum Roemer", share["id"], ["context"], "personalised-offers")
    ]
    used = session.execute(select(ShareUse.fields)).scalars().all()
    assert used == [["context"]]

    sam.call("DELETE", f"/v1/me/shares/{share['id']}")
    after = asks("personalised-offers")
    assert not after["allowed"] and "context.topics" not in {d["field"] for d in after["data_used"]}
    assert session.execute(select(func.count()).select_from(ShareUse)).scalar_one() == 1


def test_a_business_s_reads_are_its_own_also_of_a_share_made_in_the_centre(
    business: Callable[[str], Business],
    verified: Callable[[str], Customer],
    session: Session,
    notary: Notary,
    clock: FixedClock,
) -> None:
    """What the centre lists as one business's reads: that business's only, wherever the share was made;
    through an app, that app's reads and the reads of the shares made there."""
    airline, hotel = business("Skyway Airlines"), business("Hotel Main")
    airline.customer("sam", email="sam@example.com")
    hotel.customer("guest-7", email="sam@example.com")
    sam = verified("sam@example.com")
    ids = {b["name"]: uuid.UUID(b["id"]) for b in sam.call("GET", "/v1/me/directory")}
    person = session.execute(
        select(Subject.person_id)
        .join(SubjectRef, SubjectRef.subject_id == Subject.id)
        .where(SubjectRef.ref == "sam")
    ).scalar_one()
    assert person is not None
    grants = [GrantPost(org=ids[name], purpose="service", fields=["trip.arrives_at"]) for name in ids]
    made_in_centre = service.create(
        session,
        subject_id=person,
        window_org_id=None,
        body=SharePost(
            trip=Trip(arrives_at=T0 + timedelta(hours=12)), grants=grants, expires_at=T0 + timedelta(days=1)
        ),
        notary=notary,
        now=clock(),
    )
    for name in ids:
        org = session.get_one(Org, ids[name])
        service.read(session, org=org, share_id=made_in_centre.id, notary=notary, now=clock())

    def readers(org: str, **window: uuid.UUID) -> list[str]:
        reads = service.list_uses(session, subject_ids=(person,), org_id=ids[org], limit=10, **window)
        return sorted(name for _, name, _ in reads)

    assert readers("Hotel Main") == ["Hotel Main"]
    assert readers("Skyway Airlines") == ["Skyway Airlines"]
    assert readers("Skyway Airlines", window_org_id=ids["Skyway Airlines"]) == ["Skyway Airlines"]
