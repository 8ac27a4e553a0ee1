from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from harken.consent.purposes import PurposeKey
from harken.ledger.chain import canonical

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
MAX_EVIDENCE_BYTES = 4096


class Status(StrEnum):
    granted = "granted"
    denied = "denied"
    withdrawn = "withdrawn"


class CurrentStatus(StrEnum):
    granted = "granted"
    denied = "denied"
    withdrawn = "withdrawn"
    expired = "expired"


class Channel(StrEnum):
    email = "email"
    sms = "sms"
    push = "push"
    phone = "phone"
    post = "post"
    in_app = "in-app"


class Method(StrEnum):
    preference_centre = "preference-centre"
    api = "api"
    import_ = "import"
    gpc = "gpc"


PurposePath = Annotated[PurposeKey, Field(description="A purpose of the catalogue (GET /v1/purposes).")]


class ConsentPut(BaseModel):
    """A consent decision as the customer made it at the org's touchpoint."""

    model_config = ConfigDict(extra="forbid")

    status: Status
    channels: list[Channel] = Field(
        default_factory=list,
        max_length=len(Channel),
        json_schema_extra={"uniqueItems": True},
        description="The channels the decision covers; empty for purposes that send nothing (analytics).",
    )
    notice_version: int | None = Field(
        None,
        ge=1,
        le=2**31 - 1,
        description="The notice version shown. Omitted: the org's latest notice for the purpose, if any.",
    )
    method: Method = Method.api
    captured_at: AwareDatetime | None = Field(None, description="When the customer decided; default: now.")
    expires_at: AwareDatetime | None = Field(None, description="When the decision lapses by itself.")
    evidence: dict[str, Any] | None = Field(
        None,
        description=f"How it was captured (form id, screenshot hash…): JSON, at most {MAX_EVIDENCE_BYTES} bytes.",
    )

    @field_validator("channels")
    @classmethod
    def _distinct(cls, channels: list[Channel]) -> list[Channel]:
        if len(set(channels)) != len(channels):
            raise ValueError("each channel at most once")
        return sorted(channels)

    @field_validator("captured_at", "expires_at")
    @classmethod
    def _plausible(cls, moment: datetime | None) -> datetime | None:
        if moment is not None and not EARLIEST <= moment < LATEST:
            raise ValueError("must lie between the years 2000 and 9000")
        return moment

    @field_validator("evidence")
    @classmethod
    def _small_json(cls, evidence: dict[str, Any] | None) -> dict[str, Any] | None:
        if evidence is None:
            return None
        try:
            size = len(canonical(evidence))
        except Exception as exc:  # rfc8785 refuses what JSON cannot carry exactly (e.g. integers past 2**53)
            raise ValueError(f"not representable as canonical JSON: {exc}") from exc
        if size > MAX_EVIDENCE_BYTES:
            raise ValueError(f"at most {MAX_EVIDENCE_BYTES} bytes of JSON")
        return evidence

    @model_validator(mode="after")
    def _expires_after_capture(self) -> ConsentPut:
        if self.expires_at and self.captured_at and self.expires_at <= self.captured_at:
            raise ValueError("expires_at must be later than captured_at")
        return self


class LedgerPosition(BaseModel):
    chain: str
    seq: int
    hash: str


class NoticeRef(BaseModel):
    version: int
    sha256: str


class ConsentRead(BaseModel):
    id: uuid.UUID = Field(description="The record's id, which is also its receipt's id.")
    ref: str
    purpose: str
    status: Status
    channels: list[Channel]
    notice: NoticeRef | None
    method: Method
    captured_at: datetime
    expires_at: datetime | None
    recorded_at: datetime
    evidence: dict[str, Any] | None
    ledger: LedgerPosition
    receipt: str = Field(description="Where the signed receipt is: GET this path.")


class ConsentState(BaseModel):
    purpose: str
    status: CurrentStatus = Field(description="As recorded, or `expired` once expires_at has passed.")
    channels: list[Channel]
    record: ConsentRead


class ConsentStates(BaseModel):
    ref: str
    at: datetime
    consents: list[ConsentState]


class ConsentPage(BaseModel):
    items: list[ConsentRead]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next, older page; null at the end.")


class NoticePut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        min_length=1,
        max_length=20_000,
        pattern=r"^[^\x00]*$",
        description="The exact text shown to the customer (any characters but NUL).",
    )
    locale: str = Field(
        "en", max_length=35, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", description="BCP 47 language tag."
    )


class NoticeRead(BaseModel):
    purpose: str
    version: int
    sha256: str = Field(description="sha256 of the exact text, UTF-8 encoded.")
    text: str
    locale: str
    created_at: datetime


class PurposeRead(BaseModel):
    key: str
    title: str
    description: str
    dpv: str
    legal_basis: str
    legal_basis_dpv: str
    sensitive: bool


class SignedReceipt(BaseModel):
    receipt: dict[str, Any] = Field(description="The ISO/IEC TS 27560 consent record, as signed.")
    jws: str = Field(description="Compact JWS (EdDSA) over the RFC 8785 canonical JSON of `receipt`.")


class SignedCheckpoint(BaseModel):
    chain: str
    seq: int
    hash: str
    jws: str = Field(description="Compact JWS by the hub over {chain, seq, hash, at}.")


class ReceiptProof(BaseModel):
    """Links a receipt's ledger entry to a checkpoint the hub signed, without revealing other entries."""

    entry: LedgerPosition
    digests: list[str] = Field(
        description="sha256 of the bodies of the entries after this one, up to the checkpoint."
    )
    checkpoint: SignedCheckpoint


class NoticePage(BaseModel):
    """A page of your notices, every version, in (purpose, version) order."""

    items: list[NoticeRead]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")
