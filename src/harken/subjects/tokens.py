"""Tokens that speak for a person, and email digests, both keyed by the hub's secret
(HARKEN_DATA_DIR/secret, never in the database).

A token is the id of a stored row (`subjects.models.Token`: whom it speaks for, until when, revoked or
not) under the hub's MAC, so a forged or altered token is refused without a lookup and a genuine one
can still be revoked. `hc_`: minted by an org for its customer; `hp_`: minted by a verified person.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import uuid
from pathlib import Path


def load_or_create_secret(path: Path) -> bytes:
    """The hub's 32-byte secret, created on first start (exclusively, so racing workers agree)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
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


PREFIXES = {"customer": "hc_", "person": "hp_"}


def mint(secret: bytes, tier: str, token_id: uuid.UUID) -> str:
    """The bearer form of a stored token: its tier's prefix, its id and the hub's MAC over both."""
    body = _b64(token_id.bytes)
    return f"{PREFIXES[tier]}{body}.{_b64(_mac(secret, PREFIXES[tier] + body))}"


def read(secret: bytes, token: str) -> tuple[str, uuid.UUID] | None:
    """The (tier, id) of a genuine token, None for anything else. Whether it still speaks for anyone
    (expiry, revocation, erasure) is the stored row's to say."""
    tier = next((t for t, prefix in PREFIXES.items() if token.startswith(prefix)), None)
    if tier is None or token.count(".") != 1:
        return None
    body, mac = token[len(PREFIXES[tier]) :].split(".")
    try:
        if not hmac.compare_digest(_unb64(mac), _mac(secret, PREFIXES[tier] + body)):
            return None
        return tier, uuid.UUID(bytes=_unb64(body))
    except ValueError:
        return None


def _mac(secret: bytes, body: str) -> bytes:
    return hmac.new(_subkey(secret, "customer-token"), body.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
