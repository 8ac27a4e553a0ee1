"""Endpoint signing secrets at rest: sealed (AES-256-GCM) under a key derived from the hub's secret
(HARKEN_DATA_DIR/secret, never in the database) and bound to the endpoint's id. A copy of the database
signs nothing, and a sealed secret copied onto another endpoint does not open.

Endpoints created before migration 0013 hold their secret in plaintext (a migration has no hub secret to
seal with): it still opens, and the worker seals every such row when it starts and any it meets later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import uuid

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from harken.subjects import vault
from harken.webhooks.models import Endpoint

SEALED = "sealed:"


def _key(session: Session) -> AESGCM:
    secret = session.info.get(vault.SECRET)
    if secret is None:
        raise RuntimeError("this unit of work was not given the hub's secret (vault.bind)")
    return AESGCM(hmac.new(secret, b"webhook-endpoint-secrets", hashlib.sha256).digest())


def seal(session: Session, endpoint_id: uuid.UUID, secret: str) -> str:
    nonce = os.urandom(12)
    sealed = _key(session).encrypt(nonce, secret.encode(), endpoint_id.bytes)
    return SEALED + base64.b64encode(nonce + sealed).decode()


def unseal(session: Session, endpoint_id: uuid.UUID, stored: str) -> str:
    if not stored.startswith(SEALED):  # from before migration 0013
        return stored
    raw = base64.b64decode(stored.removeprefix(SEALED))
    return _key(session).decrypt(raw[:12], raw[12:], endpoint_id.bytes).decode()


def seal_plaintext(session: Session, endpoint_ids: list[uuid.UUID] | None = None) -> int:
    """Seal the secrets still stored in plaintext (all of them, or those of `endpoint_ids`); returns
    how many were."""
    query = select(Endpoint.id, Endpoint.secret).where(Endpoint.secret.not_like(f"{SEALED}%"))
    if endpoint_ids is not None:
        query = query.where(Endpoint.id.in_(endpoint_ids))
    plain = session.execute(query).all()
    for endpoint_id, secret in plain:
        session.execute(
            update(Endpoint)
            .where(Endpoint.id == endpoint_id, Endpoint.secret == secret)
            .values(secret=seal(session, endpoint_id, secret))
        )
    return len(plain)
