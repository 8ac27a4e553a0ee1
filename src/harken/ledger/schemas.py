"""The ledger's public shapes: signed heads, as `ledger.checkpoint` delivers them and GET /v1/ledger/heads lists them."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SignedHead(BaseModel):
    """The hub's signed statement that `chain` had entry `seq` with `hash`. Keep it: `harken ledger verify
    --witness FILE` checks the database against heads kept elsewhere. Only `jws` is trusted; the other
    fields are what it signs, readable."""

    chain: str = Field(
        description="`org:<id>` for an org's own chain; `centre`, `credentials` for the hub's own"
    )
    seq: int
    hash: str = Field(description="The hash of entry `seq` (hex sha256), which covers every entry before it")
    at: str = Field(description="When the hub signed it (RFC 3339)")
    every: int | None = Field(
        None,
        description="The hub signed a checkpoint every `every` entries then (absent before migration 0012)",
    )
    jws: str = Field(
        description="Compact JWS (EdDSA, typ harken-checkpoint+jws) by a key of /.well-known/jwks.json"
    )


class SignedHeads(BaseModel):
    heads: list[SignedHead]
