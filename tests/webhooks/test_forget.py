"""The outbox after an erasure: nothing of the person is kept — no ref, no field names, no payloads,
sent or pending — but the news of the erasure, which each org still gets under its ref and which is
then emptied too, once delivered, given up or no longer wanted."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.orgs.models import Org
from harken.subjects.models import SubjectRef
from harken.webhooks import outbox
from harken.webhooks.models import Attempt, Delivery, OutboxEvent
from harken.webhooks.schemas import EventType
from tests.factories import FixedClock
from tests.receiver import Receiver, receiving
from tests.stories.conftest import Business
from tests.webhooks.conftest import Worker, subscribe

EVENTS = ["consent.updated", "preferences.updated", "context.updated", "subject.erased"]


def _kept(session: Session) -> str:
    """Everything the outbox, its deliveries and their attempts hold, as one text."""
    session.expire_all()
    rows = [
        *(
            (e.id, e.type, str(e.subject_id), e.payload)
            for e in session.execute(select(OutboxEvent)).scalars()
        ),
        *((str(d.subject_id), d.status) for d in session.execute(select(Delivery)).scalars()),
        *((a.status_code, a.error) for a in session.execute(select(Attempt)).scalars()),
    ]
    return json.dumps(rows, default=str)


def _subject(session: Session, ref: str) -> uuid.UUID:
    return session.execute(select(SubjectRef.subject_id).where(SubjectRef.ref == ref)).scalar_one()


def _erase(shop: Business, session: Session, ref: str) -> uuid.UUID:
    """Erase through the API, then forget as erasure.erase will (`outbox.forget`)."""
    subject_id = _subject(session, ref)
    shop.call("DELETE", f"/v1/subjects/{ref}", status=200)
    outbox.forget(session, subject_id=subject_id)
    session.commit()
    return subject_id


def _priya_and_tom(shop: Business, deliver: Worker) -> None:
    priya = shop.customer("priya", grant={"marketing": ["email"]})
    priya.preferences(interests={"borneo": 1.0})
    shop.customer("tom", grant={"marketing": ["sms"]})
    deliver.run()  # sent, with attempts
    priya.context(intent="researching")  # pending when she is erased
    shop.call("PUT", "/v1/subjects/priya/consents/marketing", {"status": "withdrawn"})


def test_after_erasure_the_outbox_keeps_only_the_news_of_it_and_then_nothing(
    business: Callable[[str], Business], receiver: Receiver, deliver: Worker, session: Session
) -> None:
    shop = business("Chapter & Verse")
    secret = subscribe(shop, receiver.url, EVENTS)
    _priya_and_tom(shop, deliver)
    before = _kept(session)
    assert "priya" in before and "interest:borneo" in before and "context" in before
    toms = [
        (e.id, e.payload) for e in session.scalars(select(OutboxEvent)) if e.payload["data"]["ref"] == "tom"
    ]

    subject_id = _erase(shop, session, "priya")

    # The news of the erasure, under the org's ref, is all that is kept of her: no field she changed,
    # no other event, delivery or attempt.
    kept = _kept(session)
    assert kept.count("priya") == 1 and "borneo" not in kept and "researching" not in kept
    [news] = session.scalars(select(OutboxEvent).where(OutboxEvent.subject_id == subject_id)).all()
    assert news.type == "subject.erased" and news.payload["data"] == {"ref": "priya"}
    assert session.scalars(select(Delivery.event_seq).where(Delivery.subject_id == subject_id)).all() == [
        news.seq
    ]
    # Tom's are untouched.
    assert [
        (e.id, e.payload)
        for e in session.scalars(select(OutboxEvent))
        if e.payload.get("data", {}).get("ref") == "tom"
    ] == toms

    # The org hears of it, under its ref; then not even that is kept.
    deliver.run()
    assert [e["data"] for _, e in receiver.events(secret)][-1] == {"ref": "priya"}
    assert "priya" not in _kept(session)
    session.refresh(news)
    assert news.payload == {} and news.subject_id is None
    deliveries = shop.call("GET", "/v1/webhooks/deliveries")
    told = next(d for d in deliveries if d["type"] == "subject.erased")
    assert told["status"] == "delivered" and told["webhook_id"] == news.id  # the org still sees it went

    # What is no longer kept cannot be sent again.
    problem = shop.call("POST", f"/v1/webhooks/deliveries/{told['id']}/replay", status=410)
    assert str(subject_id) not in json.dumps(problem) and "priya" not in json.dumps(problem)
    [endpoint] = shop.call("GET", "/v1/webhooks")
    since, until = deliver.clock() - timedelta(days=1), deliver.clock() + timedelta(seconds=1)
    replayed = shop.call(
        "POST",
        f"/v1/webhooks/{endpoint['id']}/replay",
        {"since": since.isoformat(), "until": until.isoformat()},
    )
    assert replayed == {"deliveries": len(toms)}


def test_the_news_of_an_erasure_is_emptied_once_given_up(
    business: Callable[[str], Business], receiver: Receiver, deliver: Worker, session: Session
) -> None:
    shop = business("Chapter & Verse")
    subscribe(shop, receiver.url, EVENTS)
    _priya_and_tom(shop, deliver)
    _erase(shop, session, "priya")
    receiver.script = [500] * 10
    deliver.clock.advance(days=3, minutes=1)
    deliver.run()
    told = next(d for d in shop.call("GET", "/v1/webhooks/deliveries") if d["type"] == "subject.erased")
    assert told["status"] == "dead"
    assert "priya" not in _kept(session)


def test_the_news_of_an_erasure_stays_while_an_endpoint_waits_for_it(
    business: Callable[[str], Business], receiver: Receiver, deliver: Worker, session: Session
) -> None:
    shop = business("Chapter & Verse")
    subscribe(shop, receiver.url, EVENTS)
    with receiving(deliver.clock) as other:
        second = subscribe(shop, other.url, ["subject.erased"])
        _priya_and_tom(shop, deliver)
        _erase(shop, session, "priya")
        first_id = shop.call("GET", "/v1/webhooks")[0]["id"]
        shop.call("DELETE", f"/v1/webhooks/{first_id}", status=204)
        assert "priya" in _kept(session)  # the second endpoint has yet to hear
        deliver.run()
        assert [e["data"] for _, e in other.events(second)] == [{"ref": "priya"}]
    assert "priya" not in _kept(session)


def test_the_news_of_an_erasure_is_emptied_when_the_endpoint_is_gone(
    business: Callable[[str], Business], receiver: Receiver, deliver: Worker, session: Session
) -> None:
    shop = business("Chapter & Verse")
    subscribe(shop, receiver.url, EVENTS)
    _priya_and_tom(shop, deliver)
    _erase(shop, session, "priya")
    receiver.script = [410]
    deliver.run()
    assert shop.call("GET", "/v1/webhooks")[0]["disabled_reason"] == "the endpoint answered 410 Gone"
    assert "priya" not in _kept(session)


def test_forgetting_may_be_limited_to_one_orgs_outbox(
    business: Callable[[str], Business], receiver: Receiver, session: Session, clock: FixedClock
) -> None:
    shop, airline = business("Chapter & Verse"), business("Skyway Airlines")
    for org in (shop, airline):
        subscribe(org, receiver.url, EVENTS)
    shop.customer("priya", grant={"marketing": ["email"]})
    subject_id = _subject(session, "priya")
    airline_id = session.execute(select(Org.id).where(Org.name == "Skyway Airlines")).scalar_one()
    outbox.emit(  # as if the person were linked to the airline too
        session,
        org_id=airline_id,
        type=EventType.consent_updated,
        subject_id=subject_id,
        data={"ref": "p-77", "purpose": "marketing"},
        now=clock(),
    )
    outbox.forget(session, subject_id=subject_id, org_id=airline_id)
    kept = _kept(session)
    assert "p-77" not in kept and "priya" in kept
    outbox.forget(session, subject_id=subject_id)
    assert "priya" not in _kept(session)
