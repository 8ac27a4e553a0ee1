"""Decisions as a service: the org's offer catalogue, building the snapshot the engine decides on,
logging every decision (the customer's access log) and taking feedback."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from harken.consent import service as consent_service
from harken.consent.schemas import ConsentPut, Method, Status
from harken.decisions import engine, readmodel
from harken.decisions.basis import Basis
from harken.decisions.gates import WEEK
from harken.decisions.memory import Memory
from harken.decisions.models import ChangeCounter, DecisionFeedback, DecisionLog, Offer
from harken.decisions.rules import RULES
from harken.decisions.schemas import DecisionPost, FeedbackKind, OfferPut
from harken.decisions.scoring import Scorer
from harken.errors import Invalid, NotFound
from harken.ledger.service import Notary
from harken.orgs import catalogue
from harken.orgs.models import Org
from harken.shares import lending
from harken.subjects.models import Subject, SubjectRef
from harken.subjects.service import alive

LOOK_AHEAD = timedelta(days=7)
CLOCK_SKEW = timedelta(minutes=5)
# How far an org lets its decisions explore, at most (each customer's own "surprise me" bounds it too).
# 0 while the rules serve: exploring only helps a model learn, and no model serves yet.
EXPLORE_CAP = 0.0


def rules_for(org: Org) -> Scorer:
    """The scorer that decides for `org`: the rules, until a learned model serves it (harken.learning)."""
    return RULES


def put_offer(
    session: Session, *, org: Org, offer_id: str, body: OfferPut, now: datetime
) -> tuple[Offer, bool]:
    """Create or replace an offer in the org's catalogue; returns (offer, created)."""
    return catalogue.put(
        session, Offer, org=org, entry_id=offer_id, spec=body.model_dump(mode="json"), now=now
    )


def get_offer(session: Session, *, org: Org, offer_id: str) -> Offer:
    return catalogue.get(session, Offer, org=org, entry_id=offer_id, noun="offer")


def engine_offer(offer_id: str, spec: dict[str, Any]) -> engine.Offer:
    return engine.Offer(
        id=offer_id,
        title=spec["title"],
        topics=frozenset(spec["topics"]),
        personas=frozenset(spec["personas"]),
        channels=frozenset(spec["channels"]),
        purpose=spec["purpose"],
        sensitive=spec["sensitive"],
        item=spec["item"],
        situations=frozenset(spec["situations"]),
        countries=frozenset(spec["countries"]),
        locales=tuple(spec["locales"]),
        suppress_days=spec["suppress_days"],
    )


def _candidates(
    session: Session, *, org: Org, body: DecisionPost, memory: Memory | None
) -> tuple[engine.Offer, ...]:
    if body.candidates is not None:
        return tuple(engine_offer(c.id, c.model_dump(mode="json")) for c in body.candidates)
    assert body.offer_ids is not None

    def read(ids: list[str]) -> dict[str, engine.Offer]:
        found = session.connection().execute(_OFFERS, {"org_id": org.id, "ids": ids})
        return {offer_id: engine_offer(offer_id, spec) for offer_id, spec in found}

    if memory is None:
        offers = read(body.offer_ids)
    else:
        version = session.connection().execute(_VERSION, {"id": org.id}).scalar() or 0
        offers = memory.offers(org.id, version, body.offer_ids, read)
    for i, offer_id in enumerate(body.offer_ids):
        if offer_id not in offers:
            raise Invalid(
                f"offer_ids[{i}]", f"no offer {offer_id!r} in your catalogue (PUT /v1/offers/{{id}})"
            )
    return tuple(offers[i] for i in body.offer_ids)


_OFFERS = select(Offer.id, Offer.spec).where(
    Offer.org_id == bindparam("org_id"), Offer.id.in_(bindparam("ids", expanding=True))
)
_VERSION = select(ChangeCounter.version).where(ChangeCounter.id == bindparam("id"))


def _share_field(used: str) -> str | None:
    """The share field (context, persona, interests) carrying what a decision's data_used names."""
    if used.startswith("context."):
        return "context"
    return {"personas": "persona", "preferences.interests": "interests"}.get(used)


def _contacts(
    session: Session, basis: Basis, at: datetime, profile: engine.Profile
) -> tuple[engine.Contact, ...]:
    """The latest contacts on each channel the customer limited, as many as the limit: enough to know
    whether it is reached and when a slot frees. Contacts count for every org the verified person is
    known to: the customer's weekly limit is theirs, not one business's.

    """
    found: list[engine.Contact] = []
    subject_ids = basis.people
    for channel, preference in profile.channels.items():
        if preference.max_per_week:
            rows = session.execute(
                _CONTACTS,
                {
                    "people": list(subject_ids),
                    "channel": channel,
                    "since": at - WEEK,
                    "limit": preference.max_per_week,
                },
            )
            found += [engine.Contact(channel, sent) for (sent,) in rows]
    return tuple(found)


_TURN = select(ChangeCounter.version).where(ChangeCounter.id == bindparam("id")).with_for_update()
_CONTACTS = (
    select(DecisionLog.at)
    .where(
        DecisionLog.subject_id.in_(bindparam("people", expanding=True)),
        DecisionLog.channel == bindparam("channel"),
        DecisionLog.allowed.is_(True),
        DecisionLog.at > bindparam("since"),
    )
    .order_by(DecisionLog.at.desc())
    .limit(bindparam("limit"))
)


class Decided(NamedTuple):
    id: uuid.UUID
    at: datetime
    decision: engine.Decision


def decide(
    session: Session,
    *,
    org: Org,
    body: DecisionPost,
    notary: Notary,
    now: datetime,
    memory: Memory | None = None,
    clock: Callable[[], datetime] | None = None,
    scorer_for: Callable[[Org], Scorer] = rules_for,
    explore_cap: float = EXPLORE_CAP,
    draw: Callable[[], float] = random.random,
) -> Decided:
    """Answer and log a decision. An unknown or foreign ref is "don't send", never an error. What a
    share lends the org for the decision's purpose is weighed too, and its use recorded as a read.
    With `memory`, what this process remembers of the person is used when their change counter says it
    still holds (one read instead of eight). `scorer_for` gives the org's scorer (the rules unless a
    model serves it); `draw` the random draw an exploring choice needs, bounded by `explore_cap` and the
    customer's own novelty setting."""
    at = body.at or now
    if at < now - CLOCK_SKEW:
        raise Invalid("at", "lies in the past: decisions are about now or a moment to come")
    if at > now + LOOK_AHEAD:
        raise Invalid("at", "at most 7 days ahead")
    candidates = _candidates(session, org=org, body=body, memory=memory)
    request = engine.Request(str(body.purpose), tuple(str(c) for c in body.channels), candidates)
    found = session.connection().execute(_PERSON, {"org_id": org.id, "ref": body.subject}).first()
    subject_id = found.subject_id if found else None
    if found is None:
        decision = engine.decide(engine.Snapshot(known=False), request, at)
    elif found.erased_at is not None:
        if memory is not None:
            memory.forget((org.id, found.subject_id))
        decision = engine.decide(engine.Snapshot(known=True, erased=True), request, at)
    else:
        key, stamp = (org.id, found.subject_id), (found.root, found.version or 0)
        basis = memory.basis(key, stamp) if memory is not None else None
        if basis is None or not basis.serves(at):
            since = min(at, now - CLOCK_SKEW)  # the earliest moment a later decision may ask about
            basis = readmodel.load(
                session, org_id=org.id, subject_id=found.subject_id, stamp=stamp, since=since
            )
            if memory is not None and not basis.lends:
                memory.keep(key, basis)
        grants: lending.Lent = ()
        if basis.lends:
            grants = lending.live_grants(
                session, org_id=org.id, subject_id=found.subject_id, purpose=request.purpose, now=max(at, now)
            )
            if grants:
                basis = readmodel.load(
                    session, org_id=org.id, subject_id=found.subject_id, stamp=stamp, since=at, grants=grants
                )
        if basis.limited:
            # Decisions about a person with a weekly limit take turns: the person's counter row stays
            # locked until this decision's log is committed, and one that waited decides as of when its
            # turn came, so it counts every contact allowed before it (SQLite's writer takes turns too).
            session.execute(_TURN, {"id": stamp[0]})
            if body.at is None and clock is not None:
                now = at = max(now, clock())
        decision = engine.decide(
            basis.at(at, partial(_contacts, session, basis, at)),
            request,
            at,
            scorer=scorer_for(org),
            draw=draw(),
            explore_cap=explore_cap,
        )
        if grants:
            used = {f for name, _ in decision.data_used if (f := _share_field(name))}
            lending.record_use(session, org=org, grants=grants, fields=used, notary=notary, now=now)
    decided = Decided(uuid.uuid4(), at, decision)
    session.connection().execute(  # Core, not the ORM: this runs on every decision
        _LOG,
        {
            "id": decided.id,
            "org_id": org.id,
            "subject_id": subject_id,
            "ref": body.subject,
            "purpose": request.purpose,
            "channels": list(request.channels),
            "allowed": decision.allowed,
            "channel": decision.channel,
            "offer_id": decision.offer,
            "codes": DecisionLog.codes_of(decision),
            "explanation": decision.explanation,
            "data_used": [f for f, _ in decision.data_used],
            "retry_after": decision.retry_after,
            "choice": decision.choice.as_record() if decision.choice is not None else None,
            "at": at,
            "decided_at": now,
        },
    )
    return decided


_LOG = insert(DecisionLog)
# The org's ref, whether its person was erased, and the person's change counter, in one read: this
# runs on every decision.
_ROOT = func.coalesce(Subject.person_id, Subject.id)
_PERSON = (
    select(SubjectRef.subject_id, Subject.erased_at, _ROOT.label("root"), ChangeCounter.version)
    .join(Subject, Subject.id == SubjectRef.subject_id)
    .outerjoin(ChangeCounter, ChangeCounter.id == _ROOT)
    .where(SubjectRef.org_id == bindparam("org_id"), SubjectRef.ref == bindparam("ref"))
)


def feedback(
    session: Session, *, org: Org, decision_id: uuid.UUID, kind: FeedbackKind, notary: Notary, now: datetime
) -> DecisionFeedback:
    """What became of a decision. Dismissed or not relevant holds the offer back for its window;
    opted-out records the customer's withdrawal of the decision's purpose, in the ledger."""
    log = session.get(DecisionLog, decision_id)
    if log is None or log.org_id != org.id:
        raise NotFound(f"no decision {decision_id}")
    if log.subject_id is None:
        raise Invalid("decision_id", "that decision was about a customer you have not registered")
    alive(session, org=org, ref=log.ref)  # nothing more is recorded about an erased customer (410)
    row = DecisionFeedback(
        id=uuid.uuid4(),
        decision_id=log.id,
        org_id=org.id,
        subject_id=log.subject_id,
        offer_id=log.offer_id,
        kind=str(kind),
        at=now,
    )
    session.add(row)
    session.flush()
    if kind == FeedbackKind.opted_out and log.purpose != "service":
        consent_service.record(
            session,
            org=org,
            ref=log.ref,
            purpose=log.purpose,
            notary=notary,
            now=now,
            change=ConsentPut(
                status=Status.withdrawn,
                method=Method.api,
                evidence={"decision": str(log.id), "feedback": "opted-out"},
            ),
        )
    return row


def access_log(
    session: Session, *, subject_ids: Sequence[uuid.UUID], org_id: uuid.UUID | None, limit: int | None = 100
) -> list[tuple[DecisionLog, str]]:
    """The decisions asked about a person (any of `subject_ids`), newest first, with the asking org's
    name; one org's only if given; all of them with no `limit` (an access request)."""
    query = (
        select(DecisionLog, Org.name)
        .join(Org, Org.id == DecisionLog.org_id)
        .where(DecisionLog.subject_id.in_(subject_ids))
        .order_by(DecisionLog.decided_at.desc(), DecisionLog.id)
        .limit(limit)
    )
    if org_id is not None:
        query = query.where(DecisionLog.org_id == org_id)
    return [(log, name) for log, name in session.execute(query)]


def offers(session: Session, *, org: Org, after: str | None, limit: int) -> list[Offer]:
    """The org's offers in id order after `after`: up to `limit`, and one more if there is a next page."""
    return catalogue.page(session, Offer, org=org, after=after, limit=limit)
