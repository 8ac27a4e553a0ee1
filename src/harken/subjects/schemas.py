from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@+\-]{0,127}$"
Ref = Annotated[
    str,
    Field(
        pattern=REF_PATTERN,
        description="The org's own reference for the customer: 1 to 128 letters, digits and . _ : @ + -",
        examples=["cust-1042"],
    ),
]


class SubjectPut(BaseModel):
    """Nothing is required to register a customer: the ref is the org's own name for them."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(
        None,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="The customer's email, if they gave it: links your ref to the same person at other "
        "businesses (who see nothing unless the customer shares it). Kept only as a keyed digest.",
    )


class SubjectRead(BaseModel):
    ref: str
    created_at: datetime
    created: bool


class SessionPost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ttl_seconds: int = Field(900, ge=60, le=3600, description="How long the token lives (1 to 60 minutes).")


class SessionRead(BaseModel):
    token: str = Field(description="A customer token (`hc_…`): send it as `Authorization: Bearer` to /v1/me.")
    expires_at: datetime


class SubjectListed(BaseModel):
    ref: str
    created_at: datetime = Field(description="When you registered this ref.")
    last_change_at: datetime = Field(
        description="The latest of: registered, a consent you recorded, an event you sent, context or "
        "preferences you wrote; for an erased customer, when they were erased."
    )
    erased: bool = Field(description="Erased: the ref answers 410 and nothing else of them is kept.")


class SubjectPage(BaseModel):
    """A page of your customers, in ref order."""

    items: list[SubjectListed]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")
