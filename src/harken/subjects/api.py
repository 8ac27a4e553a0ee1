"""Subjects: the customers. One person, known to each org only by that org's own `ref`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, TypeVar

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from harken.consent import service as consent_service
from harken.consent.schemas import ConsentPut, Method, Status
from harken.deps import Hub, HubDep, Now
from harken.errors import PROBLEM_RESPONSES, Unauthenticated
from harken.orgs.api import Call
from harken.orgs.models import Org
from harken.subjects import service as subject_service
from harken.subjects import tokens
from harken.subjects.models import SubjectRef
from harken.subjects.schemas import Ref, SessionPost, SessionRead, SubjectPut, SubjectRead

T = TypeVar("T")
router = APIRouter(tags=["subjects"], responses=PROBLEM_RESPONSES)
# Global Privacy Control: a customer's "do not sell or share" signal, recorded as their decision.
GPC_PURPOSES = ("partner-sharing", "personalised-offers")


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
    digest = tokens.email_digest(call.hub.secret, body.email) if body and body.email else None

    def work(session: Session, org: Org) -> SubjectRead:
        found, created = subject_service.register(session, org=org, ref=ref, now=now, email_digest=digest)
        return SubjectRead(ref=found.ref, created_at=found.created_at, created=created)

    registered = await call(work)
    response.status_code = 201 if registered.created else 200
    return registered


@router.post("/v1/subjects/{ref}/sessions", response_model=SessionRead, status_code=201)
async def create_session(
    ref: Ref, call: Call, now: Now, body: SessionPost | None = Body(None)
) -> SessionRead:
    """A short-lived customer token for your app to embed this customer's own controls (`/v1/me`)."""
    ttl = timedelta(seconds=(body or SessionPost()).ttl_seconds)

    def work(session: Session, org: Org) -> SessionRead:
        subject_service.get(session, org=org, ref=ref)
        claims = tokens.CustomerClaims(org.id, ref, now + ttl)
        return SessionRead(token=tokens.mint(call.hub.secret, claims), expires_at=claims.expires_at)

    return await call(work)


@dataclass(frozen=True)
class Customer:
    """The customer behind a token, seen through the window of the org whose app holds it."""

    org: Org
    subject: SubjectRef


@dataclass(frozen=True)
class CustomerCall:
    """A customer API call's unit of work: check the token, honour a GPC signal, do the work."""

    hub: Hub
    token: str | None
    gpc: bool

    async def __call__(self, work: Callable[[Session, Customer], T]) -> T:
        now = self.hub.clock()
        claims = tokens.read(self.hub.secret, self.token, now) if self.token else None
        if claims is None:
            raise Unauthenticated("send a customer token (`hc_…`, from POST /v1/subjects/{ref}/sessions)")

        def unit(session: Session) -> T:
            org = session.get(Org, claims.org_id)
            ref = subject_service.find(session, org=org, ref=claims.ref) if org else None
            if org is None or ref is None:
                raise Unauthenticated("this customer token no longer names a customer")
            if self.gpc:
                _honour_gpc(session, self.hub, org, ref.ref)
            return work(session, Customer(org, ref))

        return await self.hub.run(unit)


def _honour_gpc(session: Session, hub: Hub, org: Org, ref: str) -> None:
    refusal = ConsentPut(status=Status.denied, method=Method.gpc)
    for purpose in GPC_PURPOSES:
        consent_service.record(
            session, org=org, ref=ref, purpose=purpose, change=refusal, notary=hub.notary, now=hub.clock()
        )


_bearer = HTTPBearer(auto_error=False, description="A customer token (`hc_…`).")


async def customer_call(
    hub: HubDep,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> CustomerCall:
    return CustomerCall(
        hub, credentials.credentials if credentials else None, request.headers.get("sec-gpc") == "1"
    )


Me = Annotated[CustomerCall, Depends(customer_call)]
