"""The profiling API's refusals: bad questions, bad answers, foreign customers — nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harken.context.models import Fact
from harken.profiling.models import Question, QuestionAsk
from tests.factories import org_client

QUESTION = {
    "text": {"en": "Coffee or tea?"},
    "fills": "interest:coffee",
    "options": [
        {"id": "coffee", "label": {"en": "Coffee"}, "value": {"affinity": 0.9}},
        {"id": "tea", "label": {"en": "Tea"}, "value": {"affinity": -0.5}},
    ],
    "intrusiveness": 1,
}


def counts(session: Session) -> tuple[int, ...]:
    return tuple(
        session.execute(select(func.count()).select_from(m)).scalar_one()
        for m in (Question, QuestionAsk, Fact)
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"options": [{"id": "x", "label": {"en": "X"}, "value": {"affinity": 3}}]}, "options[0].value"),
        ({"options": [{"id": "x", "label": {"en": "X"}, "value": {}}]}, "options[0].value"),
        ({"fills": "shoe_size"}, "body.fills"),
        (
            {
                "fills": "time_zone",
                "options": [{"id": "x", "label": {"en": "X"}, "value": {"value": "Mars/Base"}}],
            },
            "options[0].value",
        ),
        ({"intrusiveness": 6}, "body.intrusiveness"),
        ({"text": {}}, "body.text"),
    ],
)
def test_a_question_that_could_not_be_answered_validly_is_refused(
    client: TestClient, session: Session, change: dict[str, Any], field: str
) -> None:
    org = org_client(client, session)
    before = counts(session)
    response = client.put("/v1/questions/q1", headers=org, json={**QUESTION, **change})
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert counts(session) == before


def test_answers_must_settle_an_asked_question_once(client: TestClient, session: Session) -> None:
    org = org_client(client, session)
    assert client.put("/v1/questions/q1", headers=org, json=QUESTION).status_code == 201
    client.put("/v1/subjects/c-1", headers=org).raise_for_status()
    not_asked = client.post(
        "/v1/subjects/c-1/answers", headers=org, json={"question_id": "q1", "option": "tea"}
    )
    assert not_asked.status_code == 422

    assert client.get("/v1/subjects/c-1/next-question", headers=org).json()["question_id"] == "q1"
    for body in (
        {"question_id": "q1", "option": "milk"},
        {"question_id": "q1", "option": "tea", "declined": True},
        {"question_id": "q1"},
    ):
        before = counts(session)
        assert client.post("/v1/subjects/c-1/answers", headers=org, json=body).status_code == 422
        assert counts(session) == before
    answered = client.post(
        "/v1/subjects/c-1/answers", headers=org, json={"question_id": "q1", "option": "tea"}
    )
    assert answered.status_code == 201 and answered.json() == {
        "question_id": "q1",
        "outcome": "answered",
        "declared": "interest:coffee",
    }
    again = client.post(
        "/v1/subjects/c-1/answers", headers=org, json={"question_id": "q1", "option": "coffee"}
    )
    assert again.status_code == 422


def test_another_orgs_customer_and_questions_are_not_found(client: TestClient, session: Session) -> None:
    hotel, airline = org_client(client, session, "Hotel"), org_client(client, session, "Airline")
    client.put("/v1/questions/q1", headers=hotel, json=QUESTION).raise_for_status()
    client.put("/v1/subjects/guest", headers=hotel).raise_for_status()
    assert client.get("/v1/subjects/guest/next-question", headers=airline).status_code == 404
    client.put("/v1/subjects/flyer", headers=airline).raise_for_status()
    assert (
        client.get("/v1/subjects/flyer/next-question", headers=airline).status_code == 204
    )  # the hotel's bank is not the airline's
