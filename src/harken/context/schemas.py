from __future__ import annotations

import re
import uuid
from datetime import datetime, time
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from harken.consent.schemas import Channel, SignedReceipt

Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
"""A persona key, topic or life-event key: lower-case letters, digits and hyphens, at most 64."""
Label = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"^[^\x00-\x1f\x7f]*$")]
Item = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@+\-]{0,127}$")]
Topics = Annotated[list[Key], Field(max_length=32)]
LATEST = datetime(9000, 1, 1).astimezone()


class Intent(StrEnum):
    browsing = "browsing"
    buying = "buying"
    researching = "researching"
    in_a_rush = "in-a-rush"
    need_help = "need-help"


class Situation(StrEnum):
    home = "home"
    work = "work"
    commuting = "commuting"
    travelling = "travelling"
    out = "out"


class Provenance(StrEnum):
    declared = "declared"
    observed = "observed"
    inferred = "inferred"


OrgProvenance = Literal[Provenance.observed, Provenance.inferred]


@cache
def time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _aware_plausible(moment: datetime | None) -> datetime | None:
    if moment is not None and not datetime(2000, 1, 1).astimezone() <= moment < LATEST:
        raise ValueError("must lie between the years 2000 and 9000")
    return moment


class ContextPut(BaseModel):
    """What matters right now. It expires by itself at `valid_until` (default: in 4 hours)."""

    model_config = ConfigDict(extra="forbid")

    persona: Key | None = Field(None, description="The persona the customer is being right now.")
    intent: Intent | None = None
    situation: Situation | None = None
    topics: Topics = Field(default_factory=list, description="What the customer is after right now.")
    do_not_disturb_until: AwareDatetime | None = None
    valid_until: AwareDatetime | None = Field(None, description="Default: 4 hours from now; at most 30 days.")

    _plausible = field_validator("do_not_disturb_until", "valid_until")(_aware_plausible)


class OrgContextPut(ContextPut):
    """Context an org observed or inferred (a boarding scan, an app session): never `declared`."""

    provenance: OrgProvenance


class PersonaPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Label
    interests: Topics = Field(default_factory=list)


class ChannelPreference(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allowed: bool = True
    max_per_week: int | None = Field(None, ge=0, le=1000)


class QuietHours(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: time = Field(description="Local wall time, HH:MM, in the customer's time zone.")
    end: time

    @field_validator("start", "end")
    @classmethod
    def _wall(cls, value: time) -> time:
        if value.tzinfo is not None or value.second or value.microsecond:
            raise ValueError("a local wall time HH:MM, without offset or seconds")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("start and end must differ")
        return self


class LifeEventPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Label
    topics: Topics = Field(min_length=1, description="Topics to leave alone until `until`.")
    until: AwareDatetime

    _plausible = field_validator("until")(_aware_plausible)


class PreferencesPatch(BaseModel):
    """Changes to preferences: a field present sets it, `null` removes it, an absent field stays.

    Maps (interests, channels, life_events, situation_channels) change per entry in the same way."""

    model_config = ConfigDict(extra="forbid")

    interests: dict[Key, float | None] | None = Field(
        None, description="topic → affinity from -1 (never) to +1", max_length=200
    )
    channels: dict[Channel, ChannelPreference | None] | None = None
    quiet_hours: QuietHours | None = None
    time_zone: str | None = Field(None, description="An IANA time zone, e.g. Europe/London.", max_length=64)
    locale: str | None = Field(None, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$", examples=["en-CA"])
    country: str | None = Field(
        None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2", examples=["CA"]
    )
    life_events: dict[Key, LifeEventPut | None] | None = Field(None, max_length=50)
    novelty: float | None = Field(None, ge=0, le=1, description='"Surprise me": 0 never, 1 often.')
    situation_channels: dict[Situation, Annotated[list[Channel], Field(max_length=32)] | None] | None = Field(
        None,
        description="situation → the channels that suit me then (`[]`: none does); `null` goes back to "
        "Harken's defaults for that situation.",
        examples=[{"commuting": ["push"], "work": ["email"]}],
    )

    @field_validator("interests")
    @classmethod
    def _affinity(cls, interests: dict[str, float | None] | None) -> dict[str, float | None] | None:
        for topic, affinity in (interests or {}).items():
            if affinity is not None and not -1.0 <= affinity <= 1.0:
                raise ValueError(f"{topic}: affinity must lie between -1 and 1")
        return interests

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, zone: str | None) -> str | None:
        if zone is not None and zone not in time_zones():
            raise ValueError("not an IANA time zone (e.g. Europe/London, America/Toronto)")
        return zone

    @field_validator("locale")
    @classmethod
    def _locale(cls, locale: str | None) -> str | None:
        return None if locale is None else re.sub(r"_", "-", locale)


class OrgPreferencesPatch(PreferencesPatch):
    provenance: OrgProvenance


class SharingPut(BaseModel):
    """What the customer shares with this org beyond what they told it directly."""

    model_config = ConfigDict(extra="forbid")

    profile: bool = Field(
        description="My declared personas, context and preferences, wherever I declared them."
    )
    purchases: bool = Field(
        False, description="Purchases other businesses recorded, e.g. to stop repeat offers."
    )


class EventType(StrEnum):
    purchase = "purchase"
    offer_shown = "offer.shown"
    offer_accepted = "offer.accepted"
    offer_dismissed = "offer.dismissed"


class EventPost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: EventType
    item: Item | None = None
    topics: Topics = Field(default_factory=list)
    gift: bool = Field(False, description="Bought for someone else: never counts as the buyer's interest.")
    offer_id: Item | None = None
    occurred_at: AwareDatetime | None = Field(None, description="Default: now.")
    decision_id: uuid.UUID | None = Field(
        None,
        description="Offer events only: the decision this answers — yours, about this customer, and one "
        "that chose this offer. An accepted or dismissed event linked so is the decision's reward, as "
        "feedback on it is (the later of the two counts).",
    )

    _plausible = field_validator("occurred_at")(_aware_plausible)


class EventRead(BaseModel):
    id: str
    type: EventType
    item: str | None
    topics: list[str]
    gift: bool
    offer_id: str | None
    occurred_at: datetime
    recorded_at: datetime
    decision_id: str | None


class Datum(BaseModel):
    """One thing Harken holds about the customer, with who said it and through whom."""

    field: str = Field(
        description="`context`, `persona:KEY`, `interest:TOPIC`, `channel:CHANNEL`, "
        "`quiet_hours`, `time_zone`, `locale`, `country`, `life_event:KEY`, `novelty`, "
        "`situation_channels:SITUATION`"
    )
    value: dict[str, Any]
    provenance: Provenance
    source: str = Field(description="The org it came through, or `centre`.")
    recorded_at: datetime
    valid_until: datetime | None
    via: str | None = Field(
        None,
        description="`agent`: the customer declared it through their own agent (a grant they approved); "
        "still `declared`, their word.",
    )


class ConsentSummary(BaseModel):
    org: str | None = Field(
        None, description="The business, when the view spans several (the verified person)."
    )
    purpose: str
    status: str
    channels: list[str]


class SubjectView(BaseModel):
    """What an org may see of its customer: only what the customer shared with it, and only the
    fields its consented purposes need."""

    ref: str
    purposes: list[ConsentSummary]
    data: list[Datum]
    purchases_shared: bool


class MeView(BaseModel):
    """Everything about me that this window may show, each datum with its provenance."""

    org: str | None = Field(
        description="The business whose app holds this token; null for the verified person (every business)."
    )
    data: list[Datum]
    sharing: SharingPut | None
    consents: list[ConsentSummary]


class AccessEntry(BaseModel):
    """One time a business used what it knows of me: a decision it asked for, or a read of my share; or
    one act of my own agent, through a grant I approved."""

    kind: Literal["decision", "share.read", "agent"] = "decision"
    decision_id: str | None = Field(None, description="The decision's id (decisions only).")
    share: str | None = Field(None, description="The share read (share reads only).")
    agent: str | None = Field(None, description="The name I gave my agent (its acts only).")
    org: str = Field(description="The business; empty for an act of my own agent.")
    at: datetime
    purpose: str = Field(description="What for; for an act of my agent, the call it made.")
    channels: list[str] = []
    allowed: bool | None = Field(None, description="Whether it was told it may contact me (decisions only).")
    channel: str | None = None
    offer: str | None = None
    reasons: list[str] = []
    fields: list[str] = Field([], description="The share's fields it read, or a decision used.")
    explanation: str


class MyConsentPut(BaseModel):
    """Grant or withdraw one purpose at one business I linked, as the centre's consents page does."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["granted", "withdrawn"]
    channels: list[Channel] = Field(
        default_factory=list,
        description="The channels a grant covers (at least one, save for analytics); a withdrawal needs none.",
    )


class MyConsentRead(BaseModel):
    org: uuid.UUID
    business: str
    purpose: str
    status: Literal["granted", "withdrawn"]
    channels: list[Channel]
    record: uuid.UUID = Field(description="The consent record's id: the business's receipt names it.")
    recorded_at: datetime
    receipt: SignedReceipt = Field(description="The record's receipt, signed by the hub: mine to keep.")
