"""Terms that forbid AI training keep the person's decisions with that business out of its training
data (`learning.rewards.examples`), and only while the business's acceptance stands."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from harken.learning import rewards
from harken.orgs.models import Org
from harken.terms import roster
from harken.terms.models import ACCEPTED, PROFFERED, WITHDRAWN, TermsProffer
from tests.factories import T0, make_org
from tests.learning.test_service import NOW, log
from tests.learning.world import logged


def trained_on(session: Session, org: Org) -> int:
    progress = rewards.Progress()
    return sum(
        1 for _ in rewards.examples(session, org, since=rewards.BEGINNING, until=NOW, progress=progress)
    )


def terms(session: Session, org: Org, subject_id: uuid.UUID, agreement: str, state: str) -> TermsProffer:
    chosen = roster.AGREEMENTS[agreement]
    row = TermsProffer(
        id=uuid.uuid4(),
        org_id=org.id,
        subject_id=subject_id,
        ref="c1",
        agreement=chosen.id,
        version=chosen.version,
        text_sha256=chosen.text_sha256,
        state=state,
        proffered_at=T0,
        proffer_jws="x.y.z",
        chain=org.chain,
        seq=1,
    )
    session.add(row)
    session.flush()
    return row


def test_no_ai_training_keeps_the_persons_decisions_out_of_training(session: Session) -> None:
    org, _ = make_org(session)
    other, _ = make_org(session, "Bean There")
    kept = log(session, org, logged(5), start=T0)
    private = log(session, org, logged(3), start=T0)
    elsewhere = log(session, other, logged(4), start=T0)
    assert trained_on(session, org) == 8
    subject = private[0].subject_id
    assert subject is not None and kept[0].subject_id != subject
    row = terms(session, org, subject, "NO-AI", PROFFERED)
    assert trained_on(session, org) == 8  # proffered, not accepted: nothing agreed yet
    row.state = ACCEPTED
    session.flush()
    assert trained_on(session, org) == 5
    assert elsewhere[0].subject_id is not None
    terms(session, other, elsewhere[0].subject_id, "NO-AI", ACCEPTED)
    assert trained_on(session, other) == 0  # the other business's own customer, its own terms
    row.state = WITHDRAWN
    session.flush()
    assert trained_on(session, org) == 8


def test_terms_that_allow_training_change_nothing_and_service_delivery_only_forbids_it(
    session: Session,
) -> None:
    org, _ = make_org(session)
    rows = log(session, org, logged(4), start=T0)
    assert rows[0].subject_id is not None
    terms(session, org, rows[0].subject_id, "INTENT", ACCEPTED)
    assert trained_on(session, org) == 4
    terms(session, org, rows[0].subject_id, "SD-BASE", ACCEPTED)
    assert trained_on(session, org) == 0
