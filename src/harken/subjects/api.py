"""Subjects: the customers. One person, known to each org only by that org's own `ref`; and the calls a
person (or an org's app, for its customer) makes about themselves: `/v1/me`, with a power per call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, TypeVar

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from harken import paging
from harken.authority import PERSON_ONLY, Authority, Power, Tier, holder
from harken.consent import service as consent_service
from harken.consent.schemas import ConsentPut, Method, Status
from harken.deps import Hub, HubDep, Now, authority_of
from harken.errors import PROBLEM_RESPONSES, Unauthenticated
from harken.grants import service as grants_service
from harken.orgs.api import Call
from harken.orgs.models import Org
from harken.subjects import service as subject_service
from harken.subjects import tokens
from harken.subjects.schemas import (
    Ref,
    SessionPost,
    SessionRead,
    SubjectListed,
    SubjectPage,
    SubjectPut,
    SubjectRead,
)
from harken.subjects.viewer import Viewer, viewer

T = TypeVar("T")
router = APIRouter(tags=["subjects"], responses=PROBLEM_RESPONSES)
# Global Privacy Control: a customer's "do not sell or share" signal, recorded as their decision.
GPC_PURPOSES = ("partner-sharing", "personalised-offers")


@router.get("/v1/subjects", response_model=SubjectPage)
async def list_subjects(
    call: Call, request: Request, response: Response, limit: paging.Limit = 100, cursor: paging.Cursor = None
) -> SubjectPage:
    """Your customers in ref order, a page at a time (`next_cursor`, and a `Link: rel="next"` header):
    each ref, when you registered it and when it last changed through you. An erased customer is listed
    as erased, with when, and nothing else."""
    after = paging.decode(cursor, "subjects", str)

    def work(session: Session, org: Org) -> SubjectPage:
        found = subject_service.listed(session, org=org, after=after[0] if after else None, limit=limit)
        items = [SubjectListed(**row._asdict()) for row in found[:limit]]
        more = len(found) > limit
        return SubjectPage(
            items=items, next_cursor=paging.encode("subjects", items[-1].ref) if more else None
        )

    page = await call(work)
    paging.link_next(request, response, page.next_cursor)
    return page


@router.put(
    "/v1/subjects/{ref}",
    response_model=SubjectRead,
    status_code=200,
    responses={201: {"model": SubjectRead, "description": "Registered now"}},
)
async def put_subject(
    ref: Ref, call: Call, now: Now, response: Response, body: SubjectPut | None = Body(None)
) -> SubjectRead:
    """Register a customer under your own ref (idempotent: 201 the first time, 200 after). An `email` is
    your claim: the customer is asked whether it is them the next time they sign in to the Preference
    Centre with that address, and only if they confirm does anything they declared elsewhere reach you
    (as far as they share it). An erased customer's ref answers 410 for good."""
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
    """A short-lived customer token for your app to embed this customer's own controls (`/v1/me`) inside
    your window only: their context, preferences and what you hold. It cannot share with other
    businesses, make shares or credentials, or erase beyond you; revoke it with DELETE."""
    ttl = timedelta(seconds=(body or SessionPost()).ttl_seconds)

    def work(session: Session, org: Org) -> SessionRead:
        customer = subject_service.alive(session, org=org, ref=ref)
        token = subject_service.issue_token(
            session,
            tier=Tier.customer,
            subject_id=customer.subject_id,
            org_id=org.id,
            ref=ref,
            ttl=ttl,
            now=now,
        )
        return SessionRead(
            token=tokens.mint(call.hub.secret, Tier.customer, token.id), expires_at=token.expires_at
        )

    return await call(work)


@router.delete("/v1/subjects/{ref}/sessions", status_code=204)
async def revoke_sessions(ref: Ref, call: Call, now: Now) -> Response:
    """Revoke every customer token you minted for this customer, and end the centre sessions they
    opened: the next call with any of them is refused."""

    def work(session: Session, org: Org) -> None:
        customer = subject_service.alive(session, org=org, ref=ref)
        subject_service.revoke_tokens(session, org_id=org.id, subject_id=customer.subject_id, now=now)

    await call(work)
    return Response(status_code=204)


@dataclass(frozen=True)
class CustomerCall:
    """A `/v1/me` call's unit of work: the window its token opens (checked before the body was read, and
    found still live in this transaction, `holder`), a GPC signal honoured, the work done — in one
    transaction."""

    hub: Hub
    authority: Authority
    gpc: bool
    act: str = ""  # "PUT /v1/me/context": what an agent's call did, for its person's record

    async def __call__(self, work: Callable[[Session, Viewer], T]) -> T:
        hub, checked = self.hub, self.authority

        def unit(session: Session) -> T:
            found = holder(session, checked, hub.clock())  # still live, in this transaction
            assert found.subject_id is not None  # a customer or person credential always names its subject
            window = viewer(session, found.subject_id, found.org_id)
            agent = found.tier == Tier.agent
            if agent:  # through a grant: its businesses only
                window = grants_service.window(session, found, window)
            if self.gpc:
                _honour_gpc(session, self.hub, window)
            done = work(session, window)
            if agent:  # and what it did, recorded (not had it failed: nothing was done)
                grants_service.record(session, found, self.act, hub.notary, hub.clock())
            return done

        return await self.hub.run(unit)


def _honour_gpc(session: Session, hub: Hub, window: Viewer) -> None:
    from harken.centre.service import businesses  # the centre builds on subjects, not the other way

    refusal = ConsentPut(status=Status.denied, method=Method.gpc)
    for business in businesses(session, window):
        for purpose in GPC_PURPOSES:
            consent_service.record(
                session,
                org=business.org,
                ref=business.ref,
                purpose=purpose,
                change=refusal,
                notary=hub.notary,
                now=hub.clock(),
            )


_bearer = HTTPBearer(
    auto_error=False,
    description="A customer token: `hc_…` (an org's app, its window only), `hp_…` (the verified person), "
    "or `ha_…` (the person's own agent, through a grant: docs/agents.md).",
)


def _me(power: Power) -> Callable[..., object]:
    async def customer_call(
        hub: HubDep,
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> CustomerCall:
        found = authority_of(request.scope)
        if found.tier == Tier.org:
            raise Unauthenticated("send a customer token (`hc_…` or `hp_…`), not an org API key")
        found.require(power)
        act = f"{request.method} {request.url.path}"
        return CustomerCall(hub, found, request.headers.get("sec-gpc") == "1", act)

    return customer_call


Me = Annotated[CustomerCall, Depends(_me(Power.read))]
MeContext = Annotated[CustomerCall, Depends(_me(Power.context))]
MePreferences = Annotated[CustomerCall, Depends(_me(Power.preferences))]
MeConsents = Annotated[CustomerCall, Depends(_me(Power.consents))]
MeErase = Annotated[CustomerCall, Depends(_me(Power.erase))]
MeSharing = Annotated[CustomerCall, Depends(_me(Power.sharing))]
MeShares = Annotated[CustomerCall, Depends(_me(Power.shares))]
MeCredentials = Annotated[CustomerCall, Depends(_me(Power.credentials))]
MeTokens = Annotated[CustomerCall, Depends(_me(Power.tokens))]
MeGrants = Annotated[CustomerCall, Depends(_me(Power.grants))]


@router.post("/v1/me/tokens", response_model=SessionRead, status_code=201, tags=["me"], responses=PERSON_ONLY)
async def create_person_token(me: MeTokens, now: Now, body: SessionPost | None = Body(None)) -> SessionRead:
    """A token (`hp_…`) that speaks for me, the verified person, for an app of my own: never longer than
    the credential asking for it."""
    ttl = timedelta(seconds=(body or SessionPost()).ttl_seconds)
    if me.authority.expires_at is not None:
        ttl = min(ttl, me.authority.expires_at - now)

    def work(session: Session, window: Viewer) -> SessionRead:
        token = subject_service.issue_token(
            session, tier=Tier.person, subject_id=window.subject_id, org_id=None, ref=None, ttl=ttl, now=now
        )
        return SessionRead(
            token=tokens.mint(me.hub.secret, Tier.person, token.id), expires_at=token.expires_at
        )

    return await me(work)


@router.delete("/v1/me/token", status_code=204, tags=["me"])
async def revoke_my_token(me: Me, now: Now) -> Response:
    """Revoke the token this call carries (and end the centre sessions it opened): the next call with it
    is refused."""
    token_id = me.authority.token_id

    agent = me.authority.tier == Tier.agent

    def work(session: Session, _window: Viewer) -> None:
        if token_id is not None and agent:
            grants_service.revoke_access(session, token_id, now)
        elif token_id is not None:
            subject_service.revoke_token(session, token_id=token_id, now=now)

    await me(work)
    return Response(status_code=204)
