"""MyTerms over HTTP. The person proffers, sees each answer and withdraws (`/v1/me/terms`; a business's
customer token sees its own window's terms and proffers nothing); the business lists what it was
proffered, answers, and publishes which agreements it accepts (`/v1/terms/…`); anyone reads the roster
(`GET /.well-known/myterms`) and which agreements a business accepts (`GET /.well-known/myterms/{org_id}`).
Both sides fetch the same signed record of a proffer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from harken.authority import PERSON_ONLY, Power
from harken.deps import HubDep, Now
from harken.errors import PROBLEM_RESPONSES, NotFound
from harken.orgs.api import Call
from harken.orgs.models import Org
from harken.subjects.api import CustomerCall, Me, _me
from harken.subjects.viewer import Viewer
from harken.terms import answers, roster, service
from harken.terms.models import ACCEPTED, ALTERNATIVE, DECLINED
from harken.terms.schemas import (
    Accepts,
    Alternative,
    MyTerms,
    OrgTerms,
    Proffer,
    ProfferPage,
    ProfferRead,
    Roster,
    SignedRecord,
)

router = APIRouter(tags=["terms"], responses=PROBLEM_RESPONSES)
MeTerms = Annotated[CustomerCall, Depends(_me(Power.terms))]
State = Annotated[
    str | None,
    Query(pattern="^(proffered|accepted|alternative|declined|withdrawn)$", description="Only these"),
]


@router.get("/.well-known/myterms", response_model=Roster)
async def the_roster() -> Roster:
    """The roster of MyTerms agreements this hub speaks (IEEE 7012-2025): each one's id, version,
    plain-language text and the machine-readable terms the hub enforces."""
    return Roster.model_validate(roster.document())


@router.get("/.well-known/myterms/{org_id}", response_model=OrgTerms)
async def org_terms(org_id: uuid.UUID, hub: HubDep) -> OrgTerms:
    """Which agreements of the roster this business says it accepts."""

    def work(session: Session) -> OrgTerms:
        org = session.get(Org, org_id)
        if org is None:
            raise NotFound("no such business")
        return OrgTerms(
            org=org.id, name=org.name, accepts=[service.read(a) for a in answers.published(session, org.id)]
        )

    return await hub.run(work)


# ---- the person --------------------------------------------------------------------------------------


@router.get("/v1/me/terms", response_model=MyTerms, tags=["me"])
async def my_terms(me: Me) -> MyTerms:
    """The roster, and every agreement I proffered with each business's answer (through a business's
    app: those with that business)."""

    def work(session: Session, window: Viewer) -> MyTerms:
        return MyTerms(
            roster=[service.read(a) for a in roster.AGREEMENTS.values()],
            proffers=service.shown(session, service.proffers_of(session, window)),
        )

    return await me(work)


@router.post(
    "/v1/me/terms", response_model=list[ProfferRead], status_code=201, tags=["me"], responses=PERSON_ONLY
)
async def proffer(body: Proffer, me: MeTerms, now: Now) -> list[ProfferRead]:
    """Proffer an agreement of the roster to every business I linked, or to some (`orgs`). Each business
    answers: it accepts, offers one alternative, or declines; accepted terms bind its decisions at once.
    Only the verified person may (a business's app may not)."""

    def work(session: Session, window: Viewer) -> list[ProfferRead]:
        made = service.proffer(
            session,
            window,
            agreement_id=body.agreement,
            org_ids=body.orgs,
            notary=me.hub.notary,
            issuer=me.hub.issuer,
            now=now,
        )
        return service.shown(session, made)

    return await me(work)


@router.get("/v1/me/terms/{proffer_id}", response_model=SignedRecord, tags=["me"])
async def my_record(proffer_id: uuid.UUID, me: Me) -> SignedRecord:
    """My copy of the agreement record, signed by the hub: the same record the business fetches."""

    def work(session: Session, window: Viewer) -> SignedRecord:
        row = service.mine(session, window, proffer_id)
        return SignedRecord.model_validate(
            service.signed_record(session, row, issuer=me.hub.issuer, notary=me.hub.notary)
        )

    return await me(work)


@router.delete("/v1/me/terms/{proffer_id}", status_code=204, tags=["me"], responses=PERSON_ONLY)
async def withdraw(proffer_id: uuid.UUID, me: MeTerms, now: Now) -> Response:
    """Withdraw the proffer, answered or not: accepted terms stop binding the business from its next
    decision. The record stays, marked withdrawn."""
    await me(
        lambda session, window: service.withdraw(session, window, proffer_id, notary=me.hub.notary, now=now)
    )
    return Response(status_code=204)


# ---- the business ------------------------------------------------------------------------------------


@router.get("/v1/terms/proffers", response_model=ProfferPage)
async def proffers(call: Call, state: State = None) -> ProfferPage:
    """The terms your customers proffered to you, newest first, with your answers."""
    return await call(
        lambda session, org: ProfferPage(
            items=service.shown(session, answers.proffers_to(session, org, state=state))
        )
    )


@router.get("/v1/terms/proffers/{proffer_id}", response_model=SignedRecord)
async def proffer_record(proffer_id: uuid.UUID, call: Call) -> SignedRecord:
    """Your copy of the agreement record, signed by the hub: the same record the customer fetches."""

    def work(session: Session, org: Org) -> SignedRecord:
        row = answers.proffer_to(session, org, proffer_id)
        return SignedRecord.model_validate(
            service.signed_record(session, row, issuer=call.hub.issuer, notary=call.hub.notary)
        )

    return await call(work)


@router.post("/v1/terms/proffers/{proffer_id}/accept", response_model=SignedRecord)
async def accept(proffer_id: uuid.UUID, call: Call, now: Now) -> SignedRecord:
    """Accept the customer's terms: from your next decision about them its machine-readable terms are
    hard gates (docs/myterms.md). Your call, with your key, is your side of the signature."""
    return await _answer(call, proffer_id, ACCEPTED, now)


@router.post("/v1/terms/proffers/{proffer_id}/alternative", response_model=SignedRecord)
async def offer_alternative(proffer_id: uuid.UUID, body: Alternative, call: Call, now: Now) -> SignedRecord:
    """Offer one other agreement of the roster instead. Should the customer proffer it to you, it is
    agreed at once, on this answer."""
    return await _answer(call, proffer_id, ALTERNATIVE, now, body.agreement)


@router.post("/v1/terms/proffers/{proffer_id}/decline", response_model=SignedRecord)
async def decline(proffer_id: uuid.UUID, call: Call, now: Now) -> SignedRecord:
    """Decline the customer's terms. They see it, and may no longer share with you under them."""
    return await _answer(call, proffer_id, DECLINED, now)


@router.get("/v1/terms/accepted", response_model=OrgTerms)
async def accepted(call: Call) -> OrgTerms:
    """The agreements you say you accept (public at /.well-known/myterms/{your org id})."""
    return await call(
        lambda session, org: OrgTerms(
            org=org.id, name=org.name, accepts=[service.read(a) for a in answers.published(session, org.id)]
        )
    )


@router.put("/v1/terms/accepted", response_model=OrgTerms)
async def publish(body: Accepts, call: Call, now: Now) -> OrgTerms:
    """Say which agreements of the roster you accept (the whole list: the others are taken back)."""

    def work(session: Session, org: Org) -> OrgTerms:
        found = answers.publish(session, org, body.agreements, now=now)
        return OrgTerms(org=org.id, name=org.name, accepts=[service.read(a) for a in found])

    return await call(work)


async def _answer(
    call: Call, proffer_id: uuid.UUID, state: str, now: datetime, alternative: str | None = None
) -> SignedRecord:
    def work(session: Session, org: Org) -> SignedRecord:
        row = answers.answer(
            session,
            org,
            proffer_id,
            state=state,
            key_hash=call.authority.key_hash,
            notary=call.hub.notary,
            now=now,
            alternative=alternative,
        )
        return SignedRecord.model_validate(
            service.signed_record(session, row, issuer=call.hub.issuer, notary=call.hub.notary)
        )

    return await call(work)
