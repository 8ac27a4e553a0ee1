"""The shapes of webhook endpoints, deliveries and event types: plain pydantic, shared by the API and
the Python client."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import AnyHttpUrl, AwareDatetime, BaseModel, ConfigDict, Field, field_validator


class EventType(StrEnum):
    consent_updated = "consent.updated"
    preferences_updated = "preferences.updated"
    context_updated = "context.updated"
    share_updated = "share.updated"
    terms_updated = "terms.updated"
    subject_erased = "subject.erased"
    ledger_checkpoint = "ledger.checkpoint"


class EndpointPost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl = Field(description="Where to POST events (http or https).")
    events: list[EventType] = Field(min_length=1, max_length=len(EventType))

    @field_validator("events")
    @classmethod
    def _distinct(cls, events: list[EventType]) -> list[EventType]:
        if len(set(events)) != len(events):
            raise ValueError("each event type once")
        return events

    @field_validator("url")
    @classmethod
    def _web(cls, url: AnyHttpUrl) -> AnyHttpUrl:
        if len(str(url)) > 2000:
            raise ValueError("at most 2000 characters")
        return url


class EndpointRead(BaseModel):
    id: uuid.UUID
    url: str
    events: list[str]
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None


class EndpointCreated(EndpointRead):
    secret: str = Field(description="Verify signatures with it (Standard Webhooks); shown only now.")


class AttemptRead(BaseModel):
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryRead(BaseModel):
    id: uuid.UUID
    webhook_id: str
    type: str
    endpoint_id: uuid.UUID
    status: str = Field(description="pending, delivered, dead (gave up after 3 days) or disabled")
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    attempts: list[AttemptRead]


class ReplayPost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: AwareDatetime
    until: AwareDatetime


class Replayed(BaseModel):
    deliveries: int
