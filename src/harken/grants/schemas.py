"""What the authorization server's registration and the person's list of grants read and answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from harken.grants.oauth import MAX_REDIRECT_URIS


class ClientPost(BaseModel):
    client_name: str = Field("An agent", min_length=1, max_length=200)
    redirect_uris: list[str] = Field(min_length=1, max_length=MAX_REDIRECT_URIS)
    token_endpoint_auth_method: str = Field("none", pattern="^none$")
    grant_types: list[str] = Field(["authorization_code", "refresh_token"])
    response_types: list[str] = Field(["code"])


class ClientRead(BaseModel):
    client_id: str
    client_name: str
    redirect_uris: list[str]
    client_id_issued_at: int
    token_endpoint_auth_method: str = "none"
    grant_types: list[str] = ["authorization_code", "refresh_token"]
    response_types: list[str] = ["code"]


class ActRead(BaseModel):
    at: datetime
    act: str = Field(description='What the agent did, e.g. "PUT /v1/me/context".')


class GrantRead(BaseModel):
    id: str
    name: str = Field(description="The name the person gave the agent.")
    client_id: str
    scopes: list[str]
    businesses: list[str] | None = Field(description="The businesses it is limited to; null: all.")
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    acts: list[ActRead] = Field(description="What it did, newest first (the latest 20).")


class GrantRequestRead(BaseModel):
    id: str
    client_id: str
    client_name: str = Field(description="What the agent calls itself: its own claim, unverified.")
    returns_to: str = Field(description="Where the agent's software receives the answer (host and port).")
    scopes: list[str] = Field(description="What it asks to do; approve all of them or fewer.")
    expiries: list[str] = Field(description="How long a grant may last: choose one.")
    expires_at: datetime = Field(description="Until when the request waits for an answer.")


class GrantDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "deny"]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = (
        Field(None, description="Your name for the agent (to approve).")
    )
    scopes: list[str] | None = Field(
        None, min_length=1, description="What it may do: some or all of what it asked (to approve)."
    )
    expiry: str | None = Field(None, description="One of the request's `expiries` (to approve).")
    businesses: list[uuid.UUID] | None = Field(
        None, min_length=1, description="Only these businesses you linked; omit for every one."
    )


class GrantAnswer(BaseModel):
    redirect_to: str = Field(
        description="Send the agent's software here (your browser, or hand it over): it carries the "
        "one-time code (approved) or `error=access_denied` (declined), and the agent's `state`."
    )
