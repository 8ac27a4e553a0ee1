"""The tables the edge keeps: rate-limit counts and the responses stored under an idempotency key.

Plain SQLAlchemy: `harken.models` (and so every migration and schema check) imports them without the web.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from harken.db import Base, JSONType

BUCKET_CHARS = 32  # a 16-byte digest in hex
KEY_MAX = 255
# No route's path is longer (a ref has at most 128 characters): a longer one is a 404 whatever its key.
PATH_MAX = 255


class RateCount(Base):
    __tablename__ = "rate_counts"  # UNLOGGED on PostgreSQL: see the migration

    bucket: Mapped[str] = mapped_column(String(BUCKET_CHARS), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hits: Mapped[int]


class IdempotencyKey(Base):
    """A key an org sent: reserved while its request runs (`status_code` None), then its response."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("org_id", "key", "method", "path"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    key: Mapped[str] = mapped_column(String(KEY_MAX))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(PATH_MAX))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the request body
    created_at: Mapped[datetime] = mapped_column(index=True)
    status_code: Mapped[int | None]
    headers: Mapped[dict[str, Any]] = mapped_column(JSONType)
    body: Mapped[bytes]
