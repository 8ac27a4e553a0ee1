"""Shares refuse bad input naming the field, change nothing when they do, and belong to their customer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harken.shares.models import Share, ShareGrant, ShareUse
from tests.stories.conftest import Business


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
    business: Callable[[str], Business], session: Session, changes: dict[str, Any], field: str
) -> None:
    airline = business("Skyway Airlines")
    sam = airline.customer("sam")
    [me] = sam.call("GET", "/v1/me/directory")
    response = sam.client.post("/v1/me/shares", headers=sam.headers, json=body(me["id"], **changes))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert session.execute(select(func.count()).select_from(Share)).scalar_one() == 0


def test_grants_name_each_business_once_and_known_fields_only(
    business: Callable[[str], Business],
) -> None:
    sam = business("Skyway Airlines").customer("sam")
    [me] = sam.call("GET", "/v1/me/directory")
    twice = body(me["id"])
    twice["grants"] = twice["grants"] * 2
    unknown = body(me["id"])
    unknown["grants"][0]["fields"] = ["email"]
    for bad in (twice, unknown):
        assert sam.client.post("/v1/me/shares", headers=sam.headers, json=bad).status_code == 422


def test_a_share_is_its_customer_s_alone_and_goes_with_their_erasure(
    business: Callable[[str], Business], session: Session
) -> None:
    airline = business("Skyway Airlines")
    sam, priya = airline.customer("sam"), airline.customer("priya")
    [me] = sam.call("GET", "/v1/me/directory")
    share = sam.call("POST", "/v1/me/shares", body(me["id"]))
    assert priya.call("GET", "/v1/me/shares") == []
    taken = priya.client.delete(f"/v1/me/shares/{share['id']}", headers=priya.headers)
    assert taken.status_code == 404
    airline.call("GET", f"/v1/shares/{share['id']}")

    airline.call("DELETE", "/v1/subjects/sam", status=204)
    airline.call("GET", f"/v1/shares/{share['id']}", status=404)
    for model in (Share, ShareGrant, ShareUse):
        assert session.execute(select(func.count()).select_from(model)).scalar_one() == 0
