"""Question banks, asking the next question (and remembering it was asked), and turning answers into
declared data with their ledger entries."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.context import service as context_service
from harken.context.schemas import PersonaPut, PreferencesPatch, Provenance
from harken.context.service import Change
from harken.errors import Invalid
from harken.ledger.service import Notary
from harken.orgs import catalogue
from harken.orgs.models import Org
from harken.profiling import rules
from harken.profiling.models import Question, QuestionAsk
from harken.profiling.schemas import NextQuestion, OptionShown, QuestionPut
from harken.subjects import service as subject_service


def answer_changes(fills: str, value: dict[str, Any], now: datetime) -> list[Change]:
    """What choosing an option declares, checked as the customer's own preferences would be."""
    kind, _, name = fills.partition(":")
    if kind == "persona":
        return context_service.persona_change(name, PersonaPut.model_validate(value))
    patch: dict[str, Any]
    if kind == "interest":
        patch = {"interests": {name: value.get("affinity")}}
    elif kind == "channel":
        patch = {"channels": {name: value}}
    else:
        patch = {kind: value.get("value")}
    return context_service.preference_changes(PreferencesPatch.model_validate(patch), now)


def put_question(
    session: Session, *, org: Org, question_id: str, body: QuestionPut, now: datetime
) -> tuple[Question, bool]:
    """Create or replace a question in the org's bank; every option must declare a valid datum."""
    for i, option in enumerate(body.options):
        try:
            changes = answer_changes(body.fills, option.value, now)
        except ValidationError as exc:
            raise Invalid(f"options[{i}].value", exc.errors()[0]["msg"]) from None
        if not changes or any(c.value is None for c in changes):
            raise Invalid(f"options[{i}].value", f"declares nothing for {body.fills}")
    return catalogue.put(
        session, Question, org=org, entry_id=question_id, spec=body.model_dump(mode="json"), now=now
    )


def get_question(session: Session, *, org: Org, question_id: str) -> Question:
    return catalogue.get(session, Question, org=org, entry_id=question_id, noun="question")


def next_question(
    session: Session, *, org: Org, ref: str, locale: str | None, cadence: timedelta, now: datetime
) -> NextQuestion | None:
    """The question to put to the customer now (recorded as asked), or None: see `rules.next_question`."""
    subject = subject_service.alive(session, org=org, ref=ref)
    bank = {q.id: q for q in session.execute(select(Question).where(Question.org_id == org.id)).scalars()}
    asks = _asks(session, org=org, subject_id=subject.subject_id)
    told = {
        r.key: r.value for r in _visible_declared(session, org=org, subject_id=subject.subject_id, now=now)
    }
    chosen = rules.next_question(
        [rules.Question(q.id, q.spec["fills"], q.spec["intrusiveness"]) for q in bank.values()],
        [rules.Ask(a.question_id, a.asked_at, a.outcome) for a in asks],
        frozenset(told),  # what the customer declared and this org may see is never asked
        now,
        cadence,
    )
    if chosen is None:
        return None
    open_ask = next((a for a in reversed(asks) if a.question_id == chosen.id and a.outcome is None), None)
    if open_ask is None or now - open_ask.asked_at >= cadence:
        open_ask = QuestionAsk(
            id=uuid.uuid4(), org_id=org.id, subject_id=subject.subject_id, question_id=chosen.id, asked_at=now
        )
        session.add(open_ask)
        session.flush()
    spec = bank[chosen.id].spec
    shown = locale or str(told.get("locale", {}).get("value", "en"))
    text_locale = _pick(spec["text"], shown)
    return NextQuestion(
        question_id=chosen.id,
        text=spec["text"][text_locale],
        locale=text_locale,
        options=[
            OptionShown(id=o["id"], label=o["label"][_pick(o["label"], shown)]) for o in spec["options"]
        ],
        intrusiveness=spec["intrusiveness"],
        fills=spec["fills"],
        asked_at=open_ask.asked_at,
    )


def answer(
    session: Session,
    *,
    org: Org,
    ref: str,
    question_id: str,
    option: str | None,
    notary: Notary,
    now: datetime,
) -> tuple[str, str | None]:
    """Settle the open ask of `question_id`: declined, or answered — which declares the option's datum
    (provenance declared, through this org, in the ledger). Returns (outcome, field declared)."""
    subject = subject_service.alive(session, org=org, ref=ref)
    asks = [a for a in _asks(session, org=org, subject_id=subject.subject_id) if a.question_id == question_id]
    if not asks:
        raise Invalid("question_id", "this question was not asked of this customer")
    latest = asks[-1]
    if latest.outcome is not None:
        raise Invalid("question_id", f"already {latest.outcome}")
    if option is None:
        latest.outcome, latest.settled_at = "declined", now
        return "declined", None
    spec = get_question(session, org=org, question_id=question_id).spec
    chosen = next((o for o in spec["options"] if o["id"] == option), None)
    if chosen is None:
        raise Invalid("option", f"the question has no option {option!r}")
    context_service.write(
        session,
        subject_id=subject.subject_id,
        provenance=Provenance.declared,
        source=str(org.id),
        changes=answer_changes(spec["fills"], chosen["value"], now),
        chain_id=org.chain,
        notary=notary,
        now=now,
    )
    latest.outcome, latest.settled_at = "answered", now
    return "answered", spec["fills"]


def _asks(session: Session, *, org: Org, subject_id: uuid.UUID) -> list[QuestionAsk]:
    query = (
        select(QuestionAsk)
        .where(QuestionAsk.org_id == org.id, QuestionAsk.subject_id == subject_id)
        .order_by(QuestionAsk.asked_at, QuestionAsk.id)
    )
    return list(session.execute(query).scalars())


def _visible_declared(
    session: Session, *, org: Org, subject_id: uuid.UUID, now: datetime
) -> list[context_service.StoredFact]:
    rows, _ = context_service.visible(session, subject_id=subject_id, org_id=org.id, now=now)
    return [r for r in rows if r.provenance == Provenance.declared]


def _pick(texts: dict[str, str], locale: str) -> str:
    """The best of the given locales for `locale`: exact, then the same language, then the first."""
    if locale in texts:
        return locale
    language = locale.split("-")[0]
    return next((t for t in texts if t.split("-")[0] == language), next(iter(texts)))
