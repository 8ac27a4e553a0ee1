"""The shapes of an org's API keys as its API shows them: never the key, except once when issued."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_GRACE = timedelta(days=7)  # a rotated key outliving its successor longer than a week is a second key


class KeyRead(BaseModel):
    id: uuid.UUID
    prefix: str = Field(description="The key's first characters, to tell keys apart; not a secret.")
    created_at: datetime
    revoked_at: datetime | None = Field(
        description="When the key stops (stopped) working: in the future while a rotated key is in its grace."
    )
    status: Literal["live", "expiring", "revoked"]


class KeyCreated(KeyRead):
    key: str = Field(description="The API key itself, shown this once: only its hash is kept.")
    replaces: uuid.UUID | None = Field(None, description="The key this one rotated, if any.")


class RotatePost(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_seconds: int = Field(
        0,
        ge=0,
        le=int(MAX_GRACE.total_seconds()),
        description="How long the rotated key keeps working (0, the default: not one more call; at most 7 days).",
    )
