"""An offer event may name the decision it answers: then its accepted or dismissed is that decision's
reward. Only an offer event of the same org, about the same customer, for the offer the decision chose
may; any other link is refused naming `decision_id`, writes nothing, and another org's decision is
refused exactly as one that does not exist."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harken.client import Harken
from harken.context.models import Event
from harken.learning.forgetting import rebuild_due
from harken.learning.rewards import BEGINNING, Progress, examples
from harken.ledger.models import LedgerEntry
from harken.orgs import service as org_service
from tests.factories import T0, FixedClock, org_client
from tests.test_client import BASE, to_app

LATER = T0 + timedelta(days=30)


def decided(client: TestClient, headers: dict[str, str], ref: str, offer: str = "tea") -> str:
    """The id of a decision about `ref` (registered, consenting to email) that chose `offer`."""
    client.put(f"/v1/subjects/{ref}", headers=headers).raise_for_status()
    consent = {"status": "granted", "channels": ["email"]}
    client.put(f"/v1/subjects/{ref}/consents/marketing", headers=headers, json=consent).raise_for_status()
    interests = {"provenance": "observed", "interests": {offer: 0.8}}
    client.patch(f"/v1/subjects/{ref}/preferences", headers=headers, json=interests).raise_for_status()
    payload = {
        "subject": ref,
        "purpose": "marketing",
        "channels": ["email"],
        "candidates": [{"id": offer, "title": "Sampler", "topics": [offer]}],
    }
    response = client.post("/v1/decisions", headers=headers, json=payload)
    assert response.status_code == 200, response.text
    assert response.json()["offer"] == offer
    decision_id: str = response.json()["decision_id"]
    return decision_id


def rewards(session: Session, org_name: str) -> list[float]:
    org = org_service.by_name(session, org_name)
    assert org is not None
    progress = Progress()
    found = examples(session, org, since=BEGINNING, until=LATER, progress=progress)
    return [example.reward for example in found]


def written(session: Session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(Event)) or 0,
        session.scalar(select(func.count()).select_from(LedgerEntry)) or 0,
    )


def test_an_accepted_event_naming_its_decision_is_the_decisions_reward(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    org = org_client(client, session)
    decision = decided(client, org, "c-1")
    assert rewards(session, "Skyway Airlines") == [0.0]  # no outcome yet
    clock.advance(minutes=5)
    event = {"type": "offer.accepted", "offer_id": "tea", "decision_id": decision}
    response = client.post("/v1/subjects/c-1/events", headers=org, json=event)
    assert response.status_code == 201, response.text
    assert response.json()["decision_id"] == decision
    stored = session.scalar(select(Event).where(Event.id == uuid.UUID(response.json()["id"])))
    assert stored is not None and stored.decision_id == uuid.UUID(decision)
    assert rewards(session, "Skyway Airlines") == [1.0]
    # Feedback given later counts instead; a dismissal that occurred later still, instead of that.
    clock.advance(minutes=5)
    assert client.post(
        f"/v1/decisions/{decision}/feedback", headers=org, json={"kind": "accepted"}
    ).is_success
    clock.advance(minutes=5)
    later = {"type": "offer.dismissed", "offer_id": "tea", "decision_id": decision}
    assert client.post("/v1/subjects/c-1/events", headers=org, json=later).status_code == 201
    assert rewards(session, "Skyway Airlines") == [0.0]


def test_an_offer_event_without_a_decision_or_only_shown_earns_nothing(
    client: TestClient, session: Session
) -> None:
    org = org_client(client, session)
    decision = decided(client, org, "c-1")
    unlinked = {"type": "offer.accepted", "offer_id": "tea"}  # the same offer, but no decision named
    shown = {"type": "offer.shown", "offer_id": "tea", "decision_id": decision}
    for event in (unlinked, shown):
        response = client.post("/v1/subjects/c-1/events", headers=org, json=event)
        assert response.status_code == 201, response.text
    assert rewards(session, "Skyway Airlines") == [0.0]


def test_the_python_client_links_an_event_to_its_decision(client: TestClient, session: Session) -> None:
    org = org_client(client, session)
    decision = decided(client, org, "c-1")
    key = org["Authorization"].removeprefix("Bearer ")
    with Harken(BASE, key, transport=httpx.MockTransport(to_app(client)), max_attempts=1) as harken:
        read = harken.event("c-1", "offer.accepted", offer_id="tea", decision_id=uuid.UUID(decision))
    assert read.decision_id == decision
    assert rewards(session, "Skyway Airlines") == [1.0]


def refusal(client: TestClient, headers: dict[str, str], ref: str, **event: Any) -> dict[str, Any]:
    response = client.post(f"/v1/subjects/{ref}/events", headers=headers, json=event)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["decision_id"]
    problem: dict[str, Any] = response.json()
    return problem


@pytest.mark.parametrize(
    "case", ["unknown", "another org's", "another customer's", "another offer", "purchase"]
)
def test_a_link_the_event_cannot_make_is_refused_naming_decision_id_and_writes_nothing(
    client: TestClient, session: Session, case: str
) -> None:
    org, other = org_client(client, session), org_client(client, session, "Hotel")
    mine, theirs = decided(client, org, "c-1"), decided(client, other, "c-1")
    someone_elses = decided(client, org, "c-2")
    coffee = decided(client, org, "c-1", offer="coffee")
    link = {
        "unknown": ("offer.accepted", "tea", str(uuid.uuid4())),
        "another org's": ("offer.accepted", "tea", theirs),
        "another customer's": ("offer.accepted", "tea", someone_elses),
        "another offer": ("offer.dismissed", "tea", coffee),
        "purchase": ("purchase", None, mine),
    }[case]
    kind, offer, decision = link
    event = {"type": kind, "decision_id": decision} | ({"offer_id": offer} if offer else {"item": "mug"})
    before = written(session)
    refusal(client, org, "c-1", **event)
    assert written(session) == before


def test_another_orgs_decision_is_refused_as_one_that_does_not_exist(
    client: TestClient, session: Session
) -> None:
    org, other = org_client(client, session), org_client(client, session, "Hotel")
    decided(client, org, "c-1")
    theirs, unknown = decided(client, other, "c-1"), str(uuid.uuid4())
    event = {"type": "offer.accepted", "offer_id": "tea"}
    answers = [
        str(refusal(client, org, "c-1", **event, decision_id=decision)).replace(decision, "ID")
        for decision in (theirs, unknown)
    ]
    assert answers[0] == answers[1]
    assert "no decision ID" in answers[0]


def test_erasing_the_customer_deletes_their_linked_events_and_marks_the_model_to_forget(
    client: TestClient, session: Session
) -> None:
    org = org_client(client, session)
    decision = decided(client, org, "c-1")
    kept = decided(client, org, "c-2")
    for ref, answered in (("c-1", decision), ("c-2", kept)):
        event = {"type": "offer.accepted", "offer_id": "tea", "decision_id": answered}
        assert client.post(f"/v1/subjects/{ref}/events", headers=org, json=event).status_code == 201
    assert client.delete("/v1/subjects/c-1", headers=org).status_code == 200
    linked = session.scalars(select(Event.decision_id).where(Event.decision_id.is_not(None))).all()
    assert linked == [uuid.UUID(kept)]
    skyway = org_service.by_name(session, "Skyway Airlines")
    assert skyway is not None and rebuild_due(session, skyway) is not None
    assert rewards(session, "Skyway Airlines") == [1.0]  # c-2's decision, answered; c-1's is gone
