from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from harken.db import Base, JSONType


class OAuthClient(Base):
    """An agent's software, registered by itself (RFC 7591): a public client, no secret, only the
    redirect URIs it named. It speaks for nobody until a person approves a grant for it."""

    __tablename__ = "oauth_clients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the client_id
    name: Mapped[str] = mapped_column(String(200))  # what the client calls itself (unverified)
    redirect_uris: Mapped[list[str]] = mapped_column(JSONType)
    created_at: Mapped[datetime]


class Grant(Base):
    """What the verified person lets one agent do for them: the name they gave it, the scopes they
    chose, until when, optionally only at some businesses (`orgs`, None: all they linked)."""

    __tablename__ = "grants"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subject_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subjects.id"), index=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.id"))
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[list[str]] = mapped_column(JSONType)
    orgs: Mapped[list[str] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_why: Mapped[str | None] = mapped_column(String(32))


class GrantRequest(Base):
    """One authorization request (`/oauth/authorize`): kept while the person decides, then its code.
    The code is one-time: only its sha256 is kept, and a second use revokes the grant it made."""

    __tablename__ = "grant_requests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.id"))
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    scopes: Mapped[list[str]] = mapped_column(JSONType)
    state: Mapped[str | None] = mapped_column(String(500))
    code_challenge: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # the request, then the code
    grant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("grants.id"))
    code_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None]


class GrantToken(Base):
    """An access token (`ha_…`, minutes) or a refresh token (`hr_…`, rotated on use) of one grant: only
    its id is in the token, under the hub's MAC. A refresh token used twice revokes its grant."""

    __tablename__ = "grant_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    grant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("grants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # access | refresh
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]  # a refresh token, rotated
    revoked_at: Mapped[datetime | None]


class GrantAct(Base):
    """What an agent did through its grant, and when: the person's record of "through <agent>"."""

    __tablename__ = "grant_acts"
    __table_args__ = (Index("ix_grant_acts_grant_at", "grant_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    grant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("grants.id"))
    at: Mapped[datetime]
    act: Mapped[str] = mapped_column(String(200))  # "PUT /v1/me/context"
