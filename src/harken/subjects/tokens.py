"""Customer tokens and email digests, both keyed by the hub's secret (HARKEN_DATA_DIR/secret, never in
the database).

A customer token lets an org's own app embed the customer's controls: minted by the org for one of its
customers, short-lived, and checked without a lookup (HMAC-SHA256 over its claims).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

PREFIX = "hc_"


def load_or_create_secret(path: Path) -> bytes:
    """The hub's 32-byte secret, created on first start (exclusively, so racing workers agree)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32))
    secret = path.read_bytes()
    if len(secret) != 32:
        raise ValueError(f"{path} must hold exactly 32 bytes")
    return secret


def _subkey(secret: bytes, use: str) -> bytes:
    return hmac.new(secret, use.encode(), hashlib.sha256).digest()


def email_digest(secret: bytes, email: str) -> str:
    """The keyed digest of an email address, the same for any spelling of its case and surrounding space."""
    normalised = email.strip().lower().encode("utf-8")
    return hmac.new(_subkey(secret, "email"), normalised, hashlib.sha256).hexdigest()


class CustomerClaims(NamedTuple):
    org_id: uuid.UUID
    ref: str
    expires_at: datetime


def mint(secret: bytes, claims: CustomerClaims) -> str:
    payload = json.dumps(
        {"org": str(claims.org_id), "ref": claims.ref, "exp": int(claims.expires_at.timestamp())},
        separators=(",", ":"),
    ).encode()
    body = _b64(payload)
    return f"{PREFIX}{body}.{_b64(_mac(secret, body))}"


def read(secret: bytes, token: str, now: datetime) -> CustomerClaims | None:
    """The token's claims if it is genuine and unexpired; None otherwise (never says which)."""
    if not token.startswith(PREFIX) or token.count(".") != 1:
        return None
    body, mac = token[len(PREFIX) :].split(".")
    try:
        if not hmac.compare_digest(_unb64(mac), _mac(secret, body)):
            return None
        raw = json.loads(_unb64(body))
        claims = CustomerClaims(
            uuid.UUID(raw["org"]), str(raw["ref"]), datetime.fromtimestamp(raw["exp"], UTC)
        )
    except (ValueError, KeyError, TypeError):
        return None
    return claims if claims.expires_at > now else None


def _mac(secret: bytes, body: str) -> bytes:
    return hmac.new(_subkey(secret, "customer-token"), body.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
