"""The shapes of shares: what the customer sends, what they and each business read back."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from harken.consent.purposes import PurposeKey
from harken.context.schemas import Label, _aware_plausible

# Live data a share may carry (the customer's current values, read when the business reads the share).
LIVE_FIELDS = ("context", "persona", "interests")
# What a trip may say; each is its own field (`trip.arrives_at`), shared only with whom the customer picks.
TRIP_FIELDS = ("flight", "origin", "destination", "status", "delay_minutes", "arrives_at", "party_size")

Airport = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class TripStatus(StrEnum):
    on_time = "on-time"
    delayed = "delayed"
    cancelled = "cancelled"
    landed = "landed"


class Trip(BaseModel):
    """A trip as the traveller tells it once ("my flight is delayed, I land at 21:40")."""

    model_config = ConfigDict(extra="forbid")

    flight: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2}[A-Z]?[0-9]{1,4}[A-Z]?$")] | None = Field(
        None, examples=["LH903"]
    )
    origin: Airport | None = Field(None, description="IATA airport code.", examples=["LHR"])
    destination: Airport | None = Field(None, examples=["FRA"])
    status: TripStatus | None = None
    delay_minutes: int | None = Field(None, ge=0, le=2880)
    arrives_at: AwareDatetime | None = None
    party_size: int | None = Field(None, ge=1, le=50)

    _plausible = field_validator("arrives_at")(_aware_plausible)


class GrantPost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org: uuid.UUID = Field(description="The business (GET /v1/me/directory).")
    purpose: PurposeKey = Field(description="What it may use the fields for.")
    fields: list[str] = Field(
        min_length=1,
        max_length=len(LIVE_FIELDS) + len(TRIP_FIELDS),
        description=f"Of {', '.join(LIVE_FIELDS)} and trip.<{'|'.join(TRIP_FIELDS)}> (those the trip says).",
    )

    @field_validator("fields")
    @classmethod
    def _known(cls, fields: list[str]) -> list[str]:
        known = {*LIVE_FIELDS, *(f"trip.{name}" for name in TRIP_FIELDS)}
        unknown = [f for f in fields if f not in known]
        if unknown:
            raise ValueError(f"unknown field {unknown[0]!r}: one of {', '.join(sorted(known))}")
        if len(set(fields)) != len(fields):
            raise ValueError("each field once")
        return sorted(fields)


class SharePost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: Label | None = Field(None, description="For you: how the share is listed.", examples=["Frankfurt"])
    trip: Trip | None = None
    grants: list[GrantPost] = Field(min_length=1, max_length=20)
    expires_at: AwareDatetime = Field(
        description="When every business loses access by itself; at most 30 days."
    )

    _plausible = field_validator("expires_at")(_aware_plausible)

    @field_validator("grants")
    @classmethod
    def _one_grant_per_org(cls, grants: list[GrantPost]) -> list[GrantPost]:
        orgs = [g.org for g in grants]
        if len(set(orgs)) != len(orgs):
            raise ValueError("one grant per business")
        return grants


class GrantRead(BaseModel):
    org: uuid.UUID
    org_name: str
    purpose: str
    fields: list[str]
    active: bool
    revoked_at: datetime | None
    reads: int = Field(description="How often the business read the share.")


class ShareRead(BaseModel):
    id: uuid.UUID
    label: str | None
    trip: dict[str, Any] | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    grants: list[GrantRead]


class SharedWithYou(BaseModel):
    """A share as one business sees it: its fields only, for its purpose."""

    id: uuid.UUID
    ref: str | None = Field(description="Your ref for the customer, if you know them; else null.")
    purpose: str
    fields: list[str]
    data: dict[str, Any] = Field(description="Each field's current value; a field without one is absent.")
    expires_at: datetime


class Business(BaseModel):
    id: uuid.UUID
    name: str
