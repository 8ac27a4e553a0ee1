"""The shapes of credentials over HTTP: what the customer asks to carry, what an org verifies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from harken.context.schemas import _aware_plausible
from harken.shares.schemas import LIVE_FIELDS, TRIP_FIELDS, Trip

# The same vocabulary as shares: a trip's fields, each its own claim, and the live data as declared.
FIELDS = (*LIVE_FIELDS, *(f"trip.{name}" for name in TRIP_FIELDS))


class CredentialPost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trip: Trip | None = None
    fields: list[str] = Field(
        min_length=1,
        max_length=len(FIELDS),
        description=f"What to carry, each selectively disclosable: of {', '.join(FIELDS)} (those the trip says).",
        examples=[["trip.flight", "trip.arrives_at"]],
    )
    expires_at: AwareDatetime = Field(description="When the credential stops holding; at most 30 days.")
    holder_jwk: dict[str, Any] = Field(
        description="The public key of the wallet that will present it (a JWK: OKP Ed25519 or EC P-256); "
        "a presentation proves possession of its private key.",
        examples=[{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}],
    )

    _plausible = field_validator("expires_at")(_aware_plausible)

    @field_validator("fields")
    @classmethod
    def _known(cls, fields: list[str]) -> list[str]:
        unknown = [f for f in fields if f not in FIELDS]
        if unknown:
            raise ValueError(f"unknown field {unknown[0]!r}: one of {', '.join(FIELDS)}")
        if len(set(fields)) != len(fields):
            raise ValueError("each field once")
        return sorted(fields)


class StatusReference(BaseModel):
    idx: int
    uri: str


class CredentialRead(BaseModel):
    id: uuid.UUID
    vct: str
    fields: list[str]
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    active: bool = Field(description="Neither revoked nor expired.")
    status: StatusReference


class CredentialIssued(CredentialRead):
    credential: str = Field(
        description="The SD-JWT VC (`<JWT>~<disclosure>~…~`), given once: the hub does not keep it."
    )


class NonceRead(BaseModel):
    nonce: str
    audience: str = Field(description="Your identifier: the presentation's key binding must name it (`aud`).")
    expires_at: datetime


class PresentationPost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    presentation: str = Field(
        max_length=64_000, description="The SD-JWT with the disclosures shown and a key-binding JWT."
    )
    nonce: str = Field(
        pattern=r"^[A-Za-z0-9_-]{1,64}$", description="From POST /v1/credentials/nonces; used once."
    )


class PresentationVerified(BaseModel):
    claims: dict[str, Any] = Field(
        description="What the hub signed and the holder chose to show: the always-visible claims "
        "(iss, iat, exp, vct, cnf, status) and the disclosed ones."
    )
    disclosed: list[str] = Field(description="The paths of the claims the holder disclosed.")
