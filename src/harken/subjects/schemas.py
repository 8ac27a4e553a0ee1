from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict

REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@+\-]{0,127}$"
Ref = Annotated[
    str,
    Path(
        pattern=REF_PATTERN,
        description="The org's own reference for the customer: 1 to 128 letters, digits and . _ : @ + -",
        examples=["cust-1042"],
    ),
]


class SubjectPut(BaseModel):
    """Nothing is required to register a customer: the ref is the org's own name for them."""

    model_config = ConfigDict(extra="forbid")


class SubjectRead(BaseModel):
    ref: str
    created_at: datetime
    created: bool
