"""Progressive profiling for the org's own touchpoints: the question bank, the next question, answers."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from harken.context.schemas import Item
from harken.deps import Now
from harken.errors import PROBLEM_RESPONSES
from harken.orgs.api import Call
from harken.orgs.models import Org
from harken.profiling import service as profiling_service
from harken.profiling.models import Question
from harken.profiling.schemas import AnswerPost, AnswerRead, Locale, NextQuestion, QuestionPut, QuestionRead
from harken.subjects.schemas import Ref

router = APIRouter(tags=["profiling"], responses=PROBLEM_RESPONSES)


@router.put(
    "/v1/questions/{question_id}", response_model=QuestionRead, responses={201: {"model": QuestionRead}}
)
async def put_question(
    question_id: Item, body: QuestionPut, call: Call, now: Now, response: Response
) -> QuestionRead:
    """Create (201) or replace (200) a question in your bank; every option must declare a valid datum."""

    def work(session: Session, org: Org) -> tuple[QuestionRead, bool]:
        found, created = profiling_service.put_question(
            session, org=org, question_id=question_id, body=body, now=now
        )
        return _read(found), created

    question, created = await call(work)
    response.status_code = 201 if created else 200
    return question


def _read(question: Question) -> QuestionRead:
    return QuestionRead.model_validate(
        {**question.spec, "id": question.id, "updated_at": question.updated_at}
    )


@router.get(
    "/v1/subjects/{ref}/next-question",
    response_model=NextQuestion,
    responses={204: {"description": "Nothing to ask now: let the customer be."}},
)
async def get_next_question(
    ref: Ref, call: Call, now: Now, response: Response, locale: Annotated[Locale | None, Query()] = None
) -> NextQuestion | Response:
    """The one question to put to this customer now (recorded as asked; the same one again until it is
    answered or the cadence passes), or 204: an icebreaker first, more personal ones only after earlier
    answers, never what the customer already told, a declined one not for 180 days."""
    cadence = timedelta(days=call.hub.settings.profiling_cadence_days)
    found = await call(
        lambda session, org: profiling_service.next_question(
            session, org=org, ref=ref, locale=locale, cadence=cadence, now=now
        )
    )
    return found if found is not None else Response(status_code=204)


@router.post("/v1/subjects/{ref}/answers", response_model=AnswerRead, status_code=201)
async def post_answer(ref: Ref, body: AnswerPost, call: Call, now: Now) -> AnswerRead:
    """The customer's answer to an asked question — declared data — or that they declined it."""
    outcome, declared = await call(
        lambda session, org: profiling_service.answer(
            session,
            org=org,
            ref=ref,
            question_id=body.question_id,
            option=None if body.declined else body.option,
            notary=call.hub.notary,
            now=now,
        )
    )
    return AnswerRead(question_id=body.question_id, outcome=outcome, declared=declared)
