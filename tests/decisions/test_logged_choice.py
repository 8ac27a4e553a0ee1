"""The decision log keeps each choice (decisions.choice): the actions scored, their features, the one
taken and its propensity; the service asks the org's scorer, draws at random and bounds exploration."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.decisions import service
from harken.decisions.models import DecisionLog
from harken.decisions.schemas import DecisionPost
from harken.decisions.scoring import DONT_SEND, Action, Choice, Features
from harken.ledger.service import Notary
from harken.orgs.models import Org
from harken.subjects.models import SubjectRef
from tests.factories import grant, org_client

TEA = {"id": "tea", "title": "Tea sampler", "topics": ["tea"]}
COFFEE = {"id": "coffee", "title": "Coffee beans", "topics": ["coffee"]}


class Prefers:
    """A scorer that prefers one offer, whatever the rules would say."""

    def __init__(self, offer: str) -> None:
        self.offer = offer

    @property
    def name(self) -> str:
        return f"prefers-{self.offer}"

    def score(self, shared: Features, actions: Sequence[Action]) -> list[float]:
        return [1.0 if a.offer_id == self.offer else 0.5 if a.offer_id == DONT_SEND else 0.0 for a in actions]


def test_every_decision_logs_its_choice_with_the_rules(client: TestClient, session: Session) -> None:
    headers = org_client(client, session)
    grant(client, headers, "ana")
    body = {"subject": "ana", "purpose": "marketing", "channels": ["email"], "candidates": [TEA, COFFEE]}
    answer = client.post("/v1/decisions", headers=headers, json=body).json()
    log = session.execute(select(DecisionLog).where(DecisionLog.ref == "ana")).scalar_one()
    assert log.choice is not None
    choice = Choice.from_record(log.choice)
    assert choice.scorer == "rules" and choice.propensity == 1.0
    assert [(a.offer_id, a.channel) for a in choice.actions] == [
        ("tea", "email"),
        ("coffee", "email"),
        ("-", None),
    ]
    assert (choice.actions[choice.chosen].offer_id == "-") == (not answer["allowed"])


def test_the_service_asks_the_orgs_scorer(client: TestClient, session: Session, notary: Notary) -> None:
    headers = org_client(client, session)
    grant(client, headers, "ben")
    org_id = session.execute(select(SubjectRef.org_id).where(SubjectRef.ref == "ben")).scalar_one()
    org = session.get(Org, org_id)
    assert org is not None
    body = DecisionPost.model_validate(
        {"subject": "ben", "purpose": "marketing", "channels": ["email"], "candidates": [TEA, COFFEE]}
    )
    asked: list[Org] = []

    def scorer_for(who: Org) -> Prefers:
        asked.append(who)
        return Prefers("coffee")

    now = datetime.now(UTC)
    decided = service.decide(
        session, org=org, body=body, notary=notary, now=now, scorer_for=scorer_for, draw=lambda: 0.99
    )
    assert asked == [org]
    assert decided.decision.offer == "coffee" and decided.decision.choice is not None
    log = session.get(DecisionLog, decided.id)
    assert log is not None and log.choice is not None
    assert (
        log.choice["scorer"] == "prefers-coffee" and log.choice["probabilities"][log.choice["chosen"]] == 1.0
    )
    assert isinstance(log.codes, dict) and log.codes["explanation"]["because"]["code"] == "relevance.learned"
