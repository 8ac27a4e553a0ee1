"""Which channels suit which situation: the customer declares it (`/v1/me/preferences`), an org may
record what it observed or inferred (never declared), each read back with its provenance; refusals
name the exact entry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harken.context import service as context_service
from harken.context.models import Fact
from harken.decisions import readmodel
from harken.decisions.snapshot import resolve
from harken.subjects.models import SubjectRef
from tests.decisions.test_memory import counter
from tests.factories import auth, grant, org_client
from tests.subjects.test_isolation import World
from tests.subjects.test_isolation import world as world  # the fixture


def _customer(client: TestClient, session: Session) -> tuple[dict[str, str], dict[str, str]]:
    """An org with a customer who granted marketing, and that customer's token."""
    org = org_client(client, session)
    grant(client, org, "alice", channels=["email", "sms", "push"])
    token = client.post("/v1/subjects/alice/sessions", headers=org)
    assert token.status_code == 201, token.text
    return org, auth(token.json()["token"])


def _situations(data: list[dict[str, Any]]) -> dict[str, tuple[list[str], str]]:
    return {
        d["field"].partition(":")[2]: (d["value"]["channels"], d["provenance"])
        for d in data
        if d["field"].startswith("situation_channels:")
    }


def test_the_customer_declares_channels_per_situation_and_reads_them_back(
    client: TestClient, session: Session
) -> None:
    org, me = _customer(client, session)
    body = {"situation_channels": {"commuting": ["push", "push"], "work": ["email"], "out": []}}
    written = client.patch("/v1/me/preferences", headers=me, json=body)
    assert written.status_code == 200, written.text
    assert _situations(written.json()) == {
        "commuting": (["push"], "declared"),
        "work": (["email"], "declared"),
        "out": ([], "declared"),
    }
    mine = client.get("/v1/me", headers=me).json()["data"]
    assert _situations(mine) == _situations(written.json())
    # told to this business: it sees it (how to reach the customer is `service`, always readable)
    assert _situations(client.get("/v1/subjects/alice", headers=org).json()["data"])["work"] == (
        ["email"],
        "declared",
    )
    # null goes back to Harken's defaults for that situation; the others stay
    client.patch("/v1/me/preferences", headers=me, json={"situation_channels": {"work": None}})
    assert set(_situations(client.get("/v1/me", headers=me).json()["data"])) == {"commuting", "out"}


def test_an_org_records_what_it_observed_and_the_customer_s_word_stays(
    client: TestClient, session: Session
) -> None:
    org, me = _customer(client, session)
    client.patch("/v1/me/preferences", headers=me, json={"situation_channels": {"commuting": ["email"]}})
    observed = {"situation_channels": {"commuting": ["sms", "push"]}, "provenance": "observed"}
    answer = client.patch("/v1/subjects/alice/preferences", headers=org, json=observed)
    assert answer.status_code == 200, answer.text
    seen = [
        (d["value"]["channels"], d["provenance"])
        for d in client.get("/v1/subjects/alice", headers=org).json()["data"]
        if d["field"] == "situation_channels:commuting"
    ]
    assert sorted(seen) == [(["email"], "declared"), (["push", "sms"], "observed")]
    claimed = client.patch(
        "/v1/subjects/alice/preferences",
        headers=org,
        json={"situation_channels": {"work": ["sms"]}, "provenance": "declared"},
    )
    assert claimed.status_code == 422


@pytest.mark.parametrize(
    ("situation_channels", "field"),
    [
        ({"commuting": ["email", "pigeon"]}, "situation_channels.commuting[1]"),
        ({"moon": ["email"]}, "situation_channels.moon.[key]"),
        ({"work": "email"}, "situation_channels.work"),
    ],
)
def test_unknown_situations_and_channels_are_refused_by_name(
    client: TestClient, session: Session, situation_channels: dict[str, Any], field: str
) -> None:
    org, me = _customer(client, session)
    before = session.execute(select(func.count()).select_from(Fact)).scalar_one()
    for headers, extra in ((me, {}), (org, {"provenance": "observed"})):
        path = "/v1/me/preferences" if headers is me else "/v1/subjects/alice/preferences"
        refused = client.patch(
            path, headers=headers, json={"situation_channels": situation_channels, **extra}
        )
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert problem["type"] == "/problems/validation"
        assert [e["field"] for e in problem["errors"]] == [f"body.{field}"], problem
    assert session.execute(select(func.count()).select_from(Fact)).scalar_one() == before


def test_each_write_bumps_the_person_s_counter_so_no_decision_reads_a_stale_profile(
    client: TestClient, session: Session
) -> None:
    org, me = _customer(client, session)
    org_id = session.execute(select(SubjectRef.org_id).where(SubjectRef.ref == "alice")).scalar_one()
    for path, headers, body in (
        ("/v1/me/preferences", me, {"situation_channels": {"commuting": ["push"]}}),
        ("/v1/me/preferences", me, {"situation_channels": {"commuting": None}}),
        (
            "/v1/subjects/alice/preferences",
            org,
            {"situation_channels": {"work": ["email"]}, "provenance": "inferred"},
        ),
    ):
        before = counter(session, org_id, "alice")
        assert client.patch(path, headers=headers, json=body).status_code == 200
        assert counter(session, org_id, "alice") > before, body


def test_what_one_business_s_window_says_never_reaches_another_beyond_what_is_shared(
    world: World, session: Session
) -> None:
    """B's app (B merely claims alice's address) says which channels suit her: A never sees it. What
    she, verified, declares in her own centre reaches A only once she shares her profile with it."""
    before = world.seen_by_a()
    body = {"situation_channels": {"home": ["phone", "sms"], "commuting": ["push"]}}
    world.call(world.tok_b, "PATCH", "/v1/me/preferences", body)
    assert world.seen_by_a() == before
    person = auth(world.browser.person_token())
    world.call(person, "PATCH", "/v1/me/preferences", {"situation_channels": {"work": ["email", "phone"]}})
    fields = [d["field"] for d in world.call(world.a, "GET", "/v1/subjects/alice")["data"]]
    assert "situation_channels:work" not in fields
    # Unshared, her word still closes channels for A's decisions (work: email only), never opens one
    # (no calls at work by default: phone stays closed).
    assert _profile_for_a(world, session) == {"work": frozenset({"email"})}
    world.call(person, "PUT", f"/v1/me/sharing/{world.org_a}", {"profile": True})
    seen = world.call(world.a, "GET", "/v1/subjects/alice")["data"]
    assert [(d["value"], d["provenance"]) for d in seen if d["field"] == "situation_channels:work"] == [
        ({"channels": ["email", "phone"]}, "declared")
    ]
    assert not [d for d in seen if d["field"] in ("situation_channels:home", "situation_channels:commuting")]
    assert _profile_for_a(world, session) == {"work": frozenset({"email", "phone"})}  # shared: her own word


def _profile_for_a(world: World, session: Session) -> dict[str, frozenset[str]]:
    """Which channels suit which situation as A's decisions weigh them now."""
    org_a = uuid.UUID(world.org_a)
    subject = session.execute(
        select(SubjectRef.subject_id).where(SubjectRef.org_id == org_a, SubjectRef.ref == "alice")
    ).scalar_one()
    shared = context_service.sharing(session, subject_id=subject, org_id=org_a)
    rows = context_service.facts(session, subject_id=subject)
    facts = readmodel.engine_facts(rows, org_id=org_a, shared=bool(shared and shared.profile))
    session.rollback()
    return dict(resolve(facts, (), datetime.now(UTC)).situation_channels)
