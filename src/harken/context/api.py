"""Personas, context, preferences, sharing and events: written by the customer (`/v1/me`, declared) or by
an org about its own customer (observed or inferred), read back minimised."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from harken.authority import PERSON_ONLY
from harken.centre import service as centre
from harken.consent import service as consent_service
from harken.consent.models import ConsentRecord
from harken.consent.schemas import PurposePath, SignedReceipt, Status
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
    MyConsentPut,
    MyConsentRead,
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
from harken.errors import PROBLEM_RESPONSES, Invalid
from harken.ledger.receipts import sign_receipt
from harken.orgs.api import Call
from harken.orgs.models import Org
from harken.subjects import service as subject_service
from harken.subjects.api import Me, MeConsents, MeContext, MePreferences, MeSharing
from harken.subjects.schemas import Ref
from harken.subjects.viewer import Viewer

router = APIRouter(tags=["context"], responses=PROBLEM_RESPONSES)


# ---- the org's side ------------------------------------------------------------------------------


@router.get("/v1/subjects/{ref}", response_model=SubjectView)
async def get_subject(ref: Ref, call: Call, now: Now) -> SubjectView:
    """What you may see of your customer: what they told you or share with you, and only the fields
    your consented purposes need (`service` always: how and when to reach them)."""

    def work(session: Session, org: Org) -> SubjectView:
        subject = subject_service.alive(session, org=org, ref=ref)
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
    """Interests and other preferences you observed or inferred (e.g. which channels suit a situation);
    declared values always win over them."""
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
    subject = subject_service.alive(session, org=org, ref=ref)
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
    """A purchase or an offer shown, accepted or dismissed. A gift never counts as the buyer's interest.
    An offer event may name the decision it answers (`decision_id`); accepted or dismissed, it is then
    that decision's reward for your model."""

    def work(session: Session, org: Org) -> EventRead:
        subject = subject_service.alive(session, org=org, ref=ref)
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
            decision_id=str(event.decision_id) if event.decision_id is not None else None,
        )

    return await call(work)


# ---- the customer's side -------------------------------------------------------------------------


@router.get("/v1/me", response_model=MeView, tags=["me"])
async def get_me(me: Me, now: Now) -> MeView:
    """Everything about me this window may show, each datum with its provenance. Through a business's
    app: what I told it or share with it, and what it observed or inferred about me. As the verified
    person: everything, and my consents at every business I linked."""

    def work(session: Session, window: Viewer) -> MeView:
        known = centre.businesses(session, window)
        consents = [
            _summary(c, now, b.org.name if window.org_id is None else None)
            for b in known
            for c in consent_service.in_force(session, org_id=b.org.id, subject_id=b.subject_id)
        ]
        if window.org_id is None:
            rows = centre.facts(session, window, now)
            return MeView(org=None, data=[_datum(row) for row in rows], sharing=None, consents=consents)
        rows, sharing = context_service.visible(
            session, subject_id=window.subject_id, org_id=window.org_id, now=now
        )
        return MeView(
            org=known[0].org.name if known else None,
            data=[_datum(row) for row in rows],
            sharing=SharingPut(profile=sharing.profile, purchases=sharing.purchases) if sharing else None,
            consents=consents,
        )

    return await me(work)


@router.put("/v1/me/context", response_model=list[Datum], tags=["me"])
async def put_my_context(body: ContextPut, me: MeContext, now: Now) -> list[Datum]:
    """What matters to me right now; it expires by itself (default: in 4 hours). Through a business's
    app it is told to that business only; as the verified person, to my own centre."""
    changes = context_service.context_changes(body, now)
    return await me(lambda session, window: _declare(session, window, changes, me.hub, now))


@router.delete("/v1/me/context", status_code=204, tags=["me"])
async def delete_my_context(me: MeContext, now: Now) -> Response:
    await me(lambda session, window: _declare(session, window, [Change("context", None)], me.hub, now))
    return Response(status_code=204)


@router.put("/v1/me/personas/{key}", response_model=list[Datum], tags=["me"])
async def put_my_persona(key: Key, body: PersonaPut, me: MePreferences, now: Now) -> list[Datum]:
    """One of who I am (parent, runner, employee), with its own interests."""
    changes = context_service.persona_change(key, body)
    return await me(lambda session, window: _declare(session, window, changes, me.hub, now))


@router.delete("/v1/me/personas/{key}", status_code=204, tags=["me"])
async def delete_my_persona(key: Key, me: MePreferences, now: Now) -> Response:
    changes = context_service.persona_change(key, None)
    await me(lambda session, window: _declare(session, window, changes, me.hub, now))
    return Response(status_code=204)


@router.patch("/v1/me/preferences", response_model=list[Datum], tags=["me"])
async def patch_my_preferences(body: PreferencesPatch, me: MePreferences, now: Now) -> list[Datum]:
    """Set (value) or remove (null) my interests, channels, which channels suit which situation, quiet
    hours, time zone, locale, country, life events and "surprise me"."""
    changes = context_service.preference_changes(body, now)
    return await me(lambda session, window: _declare(session, window, changes, me.hub, now))


@router.put("/v1/me/sharing/{org_id}", response_model=SharingPut, tags=["me"], responses=PERSON_ONLY)
async def put_my_sharing(org_id: uuid.UUID, body: SharingPut, me: MeSharing, now: Now) -> SharingPut:
    """Share with one business I linked what I declared elsewhere (and, if I choose, my purchases at the
    others) — or stop. Only the verified person may: a business's app never opens what I told others."""

    def work(session: Session, window: Viewer) -> SharingPut:
        centre.set_sharing(
            session,
            window,
            org_id,
            profile=body.profile,
            purchases=body.purchases,
            notary=me.hub.notary,
            now=now,
        )
        return body

    return await me(work)


@router.put("/v1/me/consents/{org_id}/{purpose}", response_model=MyConsentRead, tags=["me"])
async def put_my_consent(
    org_id: uuid.UUID, purpose: PurposePath, body: MyConsentPut, me: MeConsents, now: Now
) -> MyConsentRead:
    """Grant or withdraw a purpose at one business I linked (a business's app: at that business only; my
    agent: at the businesses its grant names). A consent record like the centre's, in that business's
    ledger, with its receipt (returned signed: verify it offline with /.well-known/jwks.json); the
    business's next decision sees it."""
    if body.status == "granted" and not body.channels and purpose != "analytics":
        raise Invalid("channels", "name at least one channel the grant covers")

    def work(session: Session, window: Viewer) -> MyConsentRead:
        record = centre.decide_consent(
            session,
            window,
            org_id,
            purpose,
            status=Status(body.status),
            channels=body.channels,
            notary=me.hub.notary,
            now=now,
            via="agent" if window.agent else "api",
        )
        document = centre.receipt(session, window, record.id, me.hub.settings.public_url)
        return MyConsentRead(
            org=org_id,
            business=session.get_one(Org, org_id).name,  # decide_consent found it among hers: loaded
            purpose=purpose,
            status=body.status,
            channels=body.channels,
            record=record.id,
            recorded_at=record.recorded_at,
            receipt=SignedReceipt(receipt=document, jws=sign_receipt(document, me.hub.keys)),
        )

    return await me(work)


def _declare(session: Session, window: Viewer, changes: list[Change], hub: Hub, now: datetime) -> list[Datum]:
    centre.declare(session, window, changes, hub.notary, now)
    via = "agent" if window.agent else None
    if window.orgs is not None:  # an agent limited to some businesses told each of them
        told = [str(b.org.id) for b in centre.businesses(session, window)]
        return [d for source in told for d in _written(changes, Provenance.declared, source, now, via)]
    return _written(changes, Provenance.declared, window.source, now, via)


def _written(
    changes: list[Change], provenance: Provenance, source: str, now: datetime, via: str | None = None
) -> list[Datum]:
    return [
        Datum(
            field=c.key,
            value=c.value,
            provenance=provenance,
            source=source,
            recorded_at=now,
            valid_until=c.valid_until,
            via=via,
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
        via=row.via,
    )


def _summary(consent: ConsentRecord, now: datetime, org: str | None = None) -> ConsentSummary:
    return ConsentSummary(
        org=org,
        purpose=consent.purpose,
        status=str(consent_service.effective_status(consent, now)),
        channels=consent.channels,
    )
