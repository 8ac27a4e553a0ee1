"""The msgspec variant `python -m bench.web` measures beside the fast path: `POST /v1/decisions`'s body
and answer as msgspec structs (measured about as fast as pydantic on the same Starlette route, so
Harken keeps one schema, its pydantic models; this stays to repeat the comparison).

`DecisionIn` accepts no body that `schemas.DecisionPost` refuses: the same patterns (anchored with
`\\Z`, as pydantic's `$` is: Python's `$` also matches before a final newline), the same bounds, and
`accepts` for the rules a struct cannot say. `at` is read as text of one strict RFC 3339 spelling.
Anything else goes to the FastAPI route, whose problems are the contract (as on the fast path).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from harken.consent.purposes import PurposeKey
from harken.consent.schemas import Channel
from harken.context.schemas import Situation
from harken.decisions import service as decision_service
from harken.decisions.reasons import explain, render
from harken.decisions.schemas import Candidate, DecisionPost

Item = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@+\-]{0,127}\Z")]
Key = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,63}\Z")]
Label = Annotated[str, Meta(min_length=1, max_length=80, pattern=r"^[^\x00-\x1f\x7f]*\Z")]
Country = Annotated[str, Meta(pattern=r"^[A-Z]{2}\Z")]
Locale = Annotated[str, Meta(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}\Z")]
Moment = Annotated[str, Meta(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)\Z")]


class CandidateIn(msgspec.Struct, forbid_unknown_fields=True):
    id: Item
    title: Label
    topics: Annotated[list[Key], Meta(max_length=32)] = []
    personas: Annotated[list[Key], Meta(max_length=16)] = []
    channels: Annotated[list[Channel], Meta(max_length=len(Channel))] = []
    purpose: PurposeKey | None = None
    sensitive: bool = False
    item: Item | None = None
    situations: list[Situation] = []
    countries: Annotated[list[Country], Meta(max_length=250)] = []
    locales: Annotated[list[Locale], Meta(max_length=50)] = []
    suppress_days: Annotated[int, Meta(ge=0, le=365)] = 30


class DecisionIn(msgspec.Struct, forbid_unknown_fields=True):
    subject: Item
    purpose: PurposeKey
    channels: Annotated[list[Channel], Meta(min_length=1, max_length=len(Channel))]
    offer_ids: Annotated[list[Item], Meta(min_length=1, max_length=100)] | None = None
    candidates: Annotated[list[CandidateIn], Meta(min_length=1, max_length=100)] | None = None
    at: Moment | None = None


def _distinct(values: list[str] | list[Channel] | list[Situation] | None) -> bool:
    return values is None or len(set(values)) == len(values)


def accepts(body: DecisionIn) -> bool:
    """The rules of DecisionPost's validators; False sends the body to pydantic for its problem."""
    if (body.offer_ids is None) == (body.candidates is None):
        return False
    if not (_distinct(body.channels) and _distinct(body.offer_ids)):
        return False
    if body.candidates is not None:
        if len({c.id for c in body.candidates}) != len(body.candidates):
            return False
        for c in body.candidates:
            lists = (c.topics, c.personas, c.channels, c.situations, c.countries, c.locales)
            if not all(_distinct(values) for values in lists):
                return False
    return body.at is None or _moment(body.at) is not None


def _moment(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # a day or hour out of range: pydantic says which
        return None


def decode(raw: bytes) -> DecisionPost:
    """The DecisionPost pydantic would have built from the same body, without validating again: what
    `decisions.service.decide` takes. ValueError for a body to leave to the FastAPI route."""
    try:
        body = msgspec.json.decode(raw, type=DecisionIn)
    except msgspec.DecodeError as refused:
        raise ValueError(str(refused)) from None
    if not accepts(body):
        raise ValueError("a rule the struct cannot say")
    candidates = None
    if body.candidates is not None:
        candidates = [Candidate.model_construct(**msgspec.structs.asdict(c)) for c in body.candidates]
    return DecisionPost.model_construct(
        subject=body.subject,
        purpose=body.purpose,
        channels=body.channels,
        offer_ids=body.offer_ids,
        candidates=candidates,
        at=None if body.at is None else _moment(body.at),
    )


class ReasonOut(msgspec.Struct):
    code: str
    message: str


class RankedOut(msgspec.Struct):
    offer_id: str
    eligible: bool
    score: float
    reasons: list[ReasonOut]


class DataUsedOut(msgspec.Struct):
    field: str
    provenance: str


class DecisionOut(msgspec.Struct):
    """`schemas.DecisionRead`, field for field, as it encodes."""

    decision_id: str
    allowed: bool
    channel: str | None
    offer: str | None
    ranking: list[RankedOut]
    reasons: list[ReasonOut]
    explanation: str
    data_used: list[DataUsedOut]
    retry_after: datetime | None
    at: datetime


def answer(decided: decision_service.Decided, said: str) -> bytes:
    decision = decided.decision
    encoded: bytes = msgspec.json.encode(
        DecisionOut(
            decision_id=str(decided.id),
            allowed=decision.allowed,
            channel=decision.channel,
            offer=decision.offer,
            ranking=[
                RankedOut(
                    offer_id=r.offer_id,
                    eligible=r.eligible,
                    score=r.score,
                    reasons=[ReasonOut(code=x.code, message=render(x, said)) for x in r.reasons],
                )
                for r in decision.ranking
            ],
            reasons=[ReasonOut(code=r.code, message=render(r, said)) for r in decision.reasons],
            explanation=explain(decision.explained, said),
            data_used=[DataUsedOut(field=f, provenance=p) for f, p in decision.data_used],
            retry_after=decision.retry_after,
            at=decided.at,
        )
    )
    return encoded
