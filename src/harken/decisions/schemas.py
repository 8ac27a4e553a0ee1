from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from harken.consent.purposes import PurposeKey
from harken.consent.schemas import Channel
from harken.context.schemas import Item, Key, Label, Situation, Topics
from harken.decisions.reasons import Code

Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
Locale = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")]


def _distinct(values: list[str] | None) -> list[str] | None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError("each value at most once")
    return values


class OfferPut(BaseModel):
    """An offer in the org's catalogue: what it is about and whom and where it suits."""

    model_config = ConfigDict(extra="forbid")

    title: Label
    topics: Topics = Field(default_factory=list)
    personas: list[Key] = Field(default_factory=list, max_length=16, description="Empty: any persona.")
    channels: list[Channel] = Field(default_factory=list, max_length=len(Channel), description="Empty: any.")
    purpose: PurposeKey | None = Field(None, description="Empty: the decision's purpose.")
    sensitive: bool = Field(
        False, description="Health, pregnancy, financial hardship…: needs explicit consent."
    )
    item: Item | None = Field(None, description="The item it sells: not offered again once bought.")
    situations: list[Situation] = Field(default_factory=list, description="Where it fits; empty: anywhere.")
    countries: list[Country] = Field(default_factory=list, max_length=250, description="Empty: any country.")
    locales: list[Locale] = Field(default_factory=list, max_length=50, description="Empty: any language.")
    suppress_days: int = Field(
        30, ge=0, le=365, description="How long a purchase or dismissal holds it back."
    )

    _unique = field_validator("topics", "personas", "channels", "situations", "countries", "locales")(
        _distinct
    )


class Candidate(OfferPut):
    id: Item


class OfferRead(Candidate):
    updated_at: datetime


class DecisionPost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@+\-]{0,127}$", description="Your ref for the customer."
    )
    purpose: PurposeKey
    channels: list[Channel] = Field(
        min_length=1, max_length=len(Channel), description="In your order of preference."
    )
    offer_ids: list[Item] | None = Field(None, min_length=1, max_length=100)
    candidates: list[Candidate] | None = Field(None, min_length=1, max_length=100)
    at: AwareDatetime | None = Field(
        None, description="When you would send it (default now; up to 7 days ahead)."
    )

    _unique = field_validator("channels", "offer_ids")(_distinct)

    @model_validator(mode="after")
    def _one_source(self) -> DecisionPost:
        if (self.offer_ids is None) == (self.candidates is None):
            raise ValueError("give exactly one of offer_ids and candidates")
        if self.candidates is not None and len({c.id for c in self.candidates}) != len(self.candidates):
            raise ValueError("candidate ids must be distinct")
        return self


class ReasonRead(BaseModel):
    code: Code
    message: str


class RankedRead(BaseModel):
    offer_id: str
    eligible: bool
    score: float
    reasons: list[ReasonRead]


class DataUsed(BaseModel):
    field: str
    provenance: str


class DecisionRead(BaseModel):
    decision_id: str
    allowed: bool
    channel: str | None
    offer: str | None
    ranking: list[RankedRead]
    reasons: list[ReasonRead]
    explanation: str = Field(description="One sentence you may show the customer.")
    data_used: list[DataUsed]
    retry_after: datetime | None
    at: datetime


class FeedbackKind(StrEnum):
    accepted = "accepted"
    dismissed = "dismissed"
    not_relevant = "not-relevant"
    opted_out = "opted-out"


class FeedbackPost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: FeedbackKind


class OfferPage(BaseModel):
    """A page of your offers, in id order."""

    items: list[OfferRead]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")
