from __future__ import annotations

from fastapi import APIRouter, Body, Response
from sqlalchemy.orm import Session

from harken.deps import Now
from harken.errors import PROBLEM_RESPONSES
from harken.orgs.api import Call
from harken.orgs.models import Org
from harken.subjects import service as subject_service
from harken.subjects.schemas import Ref, SubjectPut, SubjectRead

router = APIRouter(tags=["subjects"], responses=PROBLEM_RESPONSES)


@router.put(
    "/v1/subjects/{ref}",
    response_model=SubjectRead,
    status_code=200,
    responses={201: {"model": SubjectRead, "description": "Registered now"}},
)
async def put_subject(
    ref: Ref, call: Call, now: Now, response: Response, body: SubjectPut | None = Body(None)
) -> SubjectRead:
    """Register a customer under your own ref (idempotent: 201 the first time, 200 after)."""

    def work(session: Session, org: Org) -> SubjectRead:
        found, created = subject_service.register(session, org=org, ref=ref, now=now)
        return SubjectRead(ref=found.ref, created_at=found.created_at, created=created)

    registered = await call(work)
    response.status_code = 201 if registered.created else 200
    return registered
