"""Personas, context, preferences, sharing and events: written by the customer (`/v1/me`, declared) or by
an org about its own customer (observed or inferred), read back minimised."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from harken.consent import service as consent_service
from harken.consent.models import ConsentRecord
from harken.context import events as context_events
from harken.context import service as context_service
from harken.context.schemas import (
    ConsentSummary,
    ContextPut,
    Datum,
    EventPost,
    EventRead,
    Key,
    MeView,
    OrgContextPut,
    OrgPreferencesPatch,
    PersonaPut,
    PreferencesPatch,
    Provenance,
    SharingPut,
    SubjectView,
)
from harken.context.service import Change, StoredFact
from harken.deps import Hub, Now
from harken.errors import PROBLEM_RESPONSES
from harken.orgs.api import Call
from harken.orgs.models import Org
from harken.subjects import service as subject_service
from harken.subjects.api import Customer, Me
from harken.subjects.schemas import Ref

router = APIRouter(tags=["context"], responses=PROBLEM_RESPONSES)


# ---- the org's side ------------------------------------------------------------------------------


@router.get("/v1/subjects/{ref}", response_model=SubjectView)
async def get_subject(ref: Ref, call: Call, now: Now) -> SubjectView:
    """What you may see of your customer: what they told you or share with you, and only the fields
    your consented purposes need (`service` always: how and when to reach them)."""

    def work(session: Session, org: Org) -> SubjectView:
        subject = subject_service.get(session, org=org, ref=ref)
        consents = consent_service.in_force(session, org_id=org.id, subject_id=subject.subject_id)
        rows, sharing = context_service.visible(
            session, subject_id=subject.subject_id, org_id=org.id, now=now
        )
        return SubjectView(
            ref=ref,
            purposes=[_summary(c, now) for c in consents],
            data=[
                _datum(row) for row in context_service.readable(rows, consent_service.granted(consents, now))
            ],
            purchases_shared=bool(sharing and sharing.purchases),
        )

    return await call(work)


@router.put("/v1/subjects/{ref}/context", response_model=list[Datum])
async def put_subject_context(ref: Ref, body: OrgContextPut, call: Call, now: Now) -> list[Datum]:
    """Context you observed or inferred (never declared: only the customer declares). Declared context
    always wins over it."""
    changes = context_service.context_changes(body, now)
    return await call(lambda session, org: _org_write(session, org, ref, body.provenance, changes, call, now))


@router.patch("/v1/subjects/{ref}/preferences", response_model=list[Datum])
async def patch_subject_preferences(ref: Ref, body: OrgPreferencesPatch, call: Call, now: Now) -> list[Datum]:
    """Interests and other preferences you observed or inferred; declared values always win over them."""
    changes = context_service.preference_changes(body, now)
    return await call(lambda session, org: _org_write(session, org, ref, body.provenance, changes, call, now))


def _org_write(
    session: Session,
    org: Org,
    ref: str,
    provenance: Provenance,
    changes: list[Change],
    call: Call,
    now: datetime,
) -> list[Datum]:
    subject = subject_service.get(session, org=org, ref=ref)
    context_service.write(
        session,
        subject_id=subject.subject_id,
        provenance=provenance,
        source=str(org.id),
        changes=changes,
        chain_id=org.chain,
        notary=call.hub.notary,
        now=now,
    )
    return _written(changes, provenance, str(org.id), now)


@router.post("/v1/subjects/{ref}/events", response_model=EventRead, status_code=201)
async def post_event(ref: Ref, body: EventPost, call: Call, now: Now) -> EventRead:
    """A purchase or an offer shown, accepted or dismissed. A gift never counts as the buyer's interest."""

    def work(session: Session, org: Org) -> EventRead:
        subject = subject_service.get(session, org=org, ref=ref)
        event = context_events.record_event(
            session,
            org_id=org.id,
            subject_id=subject.subject_id,
            body=body,
            chain_id=org.chain,
            notary=call.hub.notary,
            now=now,
        )
        return EventRead(
            id=str(event.id),
            type=body.type,
            item=event.item,
            topics=event.topics,
            gift=event.gift,
            offer_id=event.offer_id,
            occurred_at=event.occurred_at,
            recorded_at=event.recorded_at,
        )

    return await call(work)


# ---- the customer's side -------------------------------------------------------------------------


@router.get("/v1/me", response_model=MeView, tags=["me"])
async def get_me(me: Me, now: Now) -> MeView:
    """Everything about me this window may show, each datum with its provenance: what I told this
    business or share with it, and what it observed or inferred about me."""

    def work(session: Session, customer: Customer) -> MeView:
        subject_id, org = customer.subject.subject_id, customer.org
        rows, sharing = context_service.visible(session, subject_id=subject_id, org_id=org.id, now=now)
        return MeView(
            org=org.name,
            data=[_datum(row) for row in rows],
            sharing=SharingPut(profile=sharing.profile, purchases=sharing.purchases) if sharing else None,
            consents=[
                _summary(c, now)
                for c in consent_service.in_force(session, org_id=org.id, subject_id=subject_id)
            ],
        )

    return await me(work)


@router.put("/v1/me/context", response_model=list[Datum], tags=["me"])
async def put_my_context(body: ContextPut, me: Me, now: Now) -> list[Datum]:
    """What matters to me right now; it expires by itself (default: in 4 hours)."""
    return await me(
        lambda session, customer: _declare(
            session, customer, context_service.context_changes(body, now), me.hub, now
        )
    )


@router.delete("/v1/me/context", status_code=204, tags=["me"])
async def delete_my_context(me: Me, now: Now) -> Response:
    await me(lambda session, customer: _declare(session, customer, [Change("context", None)], me.hub, now))
    return Response(status_code=204)


@router.put("/v1/me/personas/{key}", response_model=list[Datum], tags=["me"])
async def put_my_persona(key: Key, body: PersonaPut, me: Me, now: Now) -> list[Datum]:
    """One of who I am (parent, runner, employee), with its own interests."""
    return await me(
        lambda session, customer: _declare(
            session, customer, context_service.persona_change(key, body), me.hub, now
        )
    )


@router.delete("/v1/me/personas/{key}", status_code=204, tags=["me"])
async def delete_my_persona(key: Key, me: Me, now: Now) -> Response:
    await me(
        lambda session, customer: _declare(
            session, customer, context_service.persona_change(key, None), me.hub, now
        )
    )
    return Response(status_code=204)


@router.patch("/v1/me/preferences", response_model=list[Datum], tags=["me"])
async def patch_my_preferences(body: PreferencesPatch, me: Me, now: Now) -> list[Datum]:
    """Set (value) or remove (null) my interests, channels, quiet hours, time zone, locale, country,
    life events and "surprise me"."""
    changes = context_service.preference_changes(body, now)
    return await me(lambda session, customer: _declare(session, customer, changes, me.hub, now))


@router.put("/v1/me/sharing", response_model=SharingPut, tags=["me"])
async def put_my_sharing(body: SharingPut, me: Me, now: Now) -> SharingPut:
    """Share with this business what I declared elsewhere (and, if I choose, my purchases there) — or stop."""

    def work(session: Session, customer: Customer) -> SharingPut:
        context_service.set_sharing(
            session,
            subject_id=customer.subject.subject_id,
            org_id=customer.org.id,
            profile=body.profile,
            purchases=body.purchases,
            chain_id=customer.org.chain,
            notary=me.hub.notary,
            now=now,
        )
        return body

    return await me(work)


def _declare(
    session: Session, customer: Customer, changes: list[Change], hub: Hub, now: datetime
) -> list[Datum]:
    source = str(customer.org.id)
    context_service.write(
        session,
        subject_id=customer.subject.subject_id,
        provenance=Provenance.declared,
        source=source,
        changes=changes,
        chain_id=customer.org.chain,
        notary=hub.notary,
        now=now,
    )
    return _written(changes, Provenance.declared, source, now)


def _written(changes: list[Change], provenance: Provenance, source: str, now: datetime) -> list[Datum]:
    return [
        Datum(
            field=c.key,
            value=c.value,
            provenance=provenance,
            source=source,
            recorded_at=now,
            valid_until=c.valid_until,
        )
        for c in changes
        if c.value is not None
    ]


def _datum(row: StoredFact) -> Datum:
    return Datum(
        field=row.key,
        value=row.value,
        provenance=Provenance(row.provenance),
        source=row.source,
        recorded_at=row.recorded_at,
        valid_until=row.valid_until,
    )


def _summary(consent: ConsentRecord, now: datetime) -> ConsentSummary:
    return ConsentSummary(
        purpose=consent.purpose,
        status=str(consent_service.effective_status(consent, now)),
        channels=consent.channels,
    )
