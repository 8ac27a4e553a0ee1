"""What the authorization server's registration and the person's list of grants read and answer."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

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
