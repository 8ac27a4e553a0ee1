"""The shapes of MyTerms over HTTP: the roster, a proffer, an answer, a signed record."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

AgreementId = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Z0-9-]+$")]


class AgreementRead(BaseModel):
    id: str
    version: int
    title: str
    text: str
    text_sha256: str
    terms: dict[str, Any] = Field(
        description="The machine-readable terms the hub enforces (docs/myterms.md)."
    )


class Roster(BaseModel):
    standard: str
    source: str
    read: str
    note: str
    agreements: list[AgreementRead]


class OrgTerms(BaseModel):
    """Which agreements of the roster a business says it accepts."""

    org: uuid.UUID
    name: str
    accepts: list[AgreementRead]


class Proffer(BaseModel):
    """Proffer one agreement to every business you linked (`orgs` left out) or to some of them."""

    model_config = ConfigDict(extra="forbid")

    agreement: AgreementId = Field(examples=["SD-BASE"])
    orgs: list[uuid.UUID] | None = Field(
        None,
        max_length=100,
        description="The businesses (ids from GET /v1/me/directory); none: all you linked.",
    )


class Alternative(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agreement: AgreementId = Field(description="The one agreement of the roster you offer instead.")


class Accepts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agreements: list[AgreementId] = Field(max_length=50, examples=[["SD-BASE", "NO-AI"]])


class ProfferRead(BaseModel):
    """A proffer and the business's answer, as either side sees it."""

    id: uuid.UUID
    org: uuid.UUID
    org_name: str
    ref: str = Field(description="The business's own reference for the person.")
    agreement: str
    version: int
    title: str
    state: str = Field(description="proffered | accepted | alternative | declined | withdrawn")
    alternative: str | None = None
    alternative_version: int | None = None
    proffered_at: datetime
    answered_at: datetime | None = None
    withdrawn_at: datetime | None = None


class MyTerms(BaseModel):
    roster: list[AgreementRead]
    proffers: list[ProfferRead]


class ProfferPage(BaseModel):
    items: list[ProfferRead]


class SignedRecord(BaseModel):
    """The agreement record both sides keep: the readable `record` and the hub's JWS over it (verify
    with /.well-known/jwks.json, offline). The person's side is `record.proffer_jws`, which the hub
    signed when the person proffered."""

    record: dict[str, Any]
    jws: str
