"""Each person's own data key: what they told us is sealed with it (AES-256-GCM), and erasing them
destroys it, so every copy of their data — in the database, its backups and the ledger's digests —
becomes ciphertext nobody can open and digests nobody can test a guess against.

A data key is stored wrapped by a key derived from the hub's secret (HARKEN_DATA_DIR/secret, never in
the database): a copy of the database alone opens nothing. A unit of work finds the secret in
`session.info` (the hub puts it there) and keeps the keys it unwrapped for the rest of the unit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from harken.db import insert_ignore
from harken.errors import Gone
from harken.subjects.models import Subject, SubjectKey

SECRET = "harken.secret"
_CACHE = "harken.subject_keys"


class Erased(Gone):
    """The person's key is gone: what was sealed with it can no longer be read, nor anything new sealed.
    Reads expect it; a write that meets it is refused as 410 Gone."""


def bind(session: Session, secret: bytes) -> Session:
    """Let this unit of work seal and open people's data."""
    session.info[SECRET] = secret
    return session


def _kek(session: Session) -> AESGCM:
    secret = session.info.get(SECRET)
    if secret is None:
        raise RuntimeError("this unit of work was not given the hub's secret (vault.bind)")
    return AESGCM(hmac.new(secret, b"subject-data-keys", hashlib.sha256).digest())


def data_key(session: Session, subject_id: uuid.UUID, *, now: datetime | None = None) -> bytes:
    """The person's data key; created when `now` is given and they have none yet, unless they were
    erased. Erased when their key was destroyed (or never made and not to be made)."""
    cache: dict[uuid.UUID, bytes] = session.info.setdefault(_CACHE, {})
    if subject_id in cache:
        return cache[subject_id]
    kek = _kek(session)
    wrapped = session.execute(select(SubjectKey.wrapped).where(SubjectKey.subject_id == subject_id)).scalar()
    if wrapped is None and now is not None and not _erased(session, subject_id):
        nonce = os.urandom(12)
        fresh = nonce + kek.encrypt(nonce, os.urandom(32), subject_id.bytes)
        insert_ignore(session, SubjectKey, {"subject_id": subject_id, "wrapped": fresh, "created_at": now})
        wrapped = session.execute(
            select(SubjectKey.wrapped).where(SubjectKey.subject_id == subject_id)
        ).scalar()
    if wrapped is None:
        raise Erased(
            "this customer was erased: nothing is kept about them any more, and nothing new is recorded"
        )
    cache[subject_id] = kek.decrypt(wrapped[:12], wrapped[12:], subject_id.bytes)
    return cache[subject_id]


def _erased(session: Session, subject_id: uuid.UUID) -> bool:
    return session.execute(select(Subject.erased_at).where(Subject.id == subject_id)).scalar() is not None


def destroy(session: Session, subject_id: uuid.UUID) -> None:
    session.execute(delete(SubjectKey).where(SubjectKey.subject_id == subject_id))
    session.info.get(_CACHE, {}).pop(subject_id, None)


def seal(key: bytes, value: Any, context: str) -> dict[str, str]:
    """`value` (JSON) sealed under `key`, bound to `context` (which row it belongs to)."""
    nonce = os.urandom(12)
    plain = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
    return {"sealed": base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plain, context.encode())).decode()}


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"sealed"}


def unseal(key: bytes, sealed: dict[str, Any], context: str) -> Any:
    if not is_sealed(sealed):  # written before migration 0007, which had no secret to seal it with
        return sealed
    raw = base64.b64decode(sealed["sealed"])
    return json.loads(AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()))


def digest(key: bytes, canonical: bytes) -> str:
    """A digest only the person's key can reproduce: once it is destroyed, no guess can be tested."""
    return hmac.new(key, canonical, hashlib.sha256).hexdigest()
