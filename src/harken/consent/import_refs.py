"""The import's customers (`harken import consents`): the subject of each ref in a batch, looked up in
chunks and registered when new, under time-ordered ids."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from harken.db import insert_many
from harken.orgs.models import Org
from harken.subjects.models import Subject, SubjectRef

LOOKUP_CHUNK = 2_000  # refs per IN (...) query, well inside every backend's parameter limit


def subjects(session: Session, org: Org, refs: set[str], now: datetime) -> dict[str, uuid.UUID]:
    """ref -> subject id for the batch's refs; the unknown ones registered as new people, as
    `subjects.service.register` does without an email."""
    db = session.connection()
    known: dict[str, uuid.UUID] = {}
    ordered = sorted(refs)
    for chunk in _chunks(ordered, LOOKUP_CHUNK):
        known.update((ref, id) for ref, id in db.execute(_KNOWN_REFS, {"org_id": org.id, "refs": chunk}))
    new = [ref for ref in ordered if ref not in known]
    if new:
        people = {ref: time_ordered_id() for ref in new}
        insert_many(
            db,
            Subject,
            [
                {"id": i, "created_at": now, "email_digest": None, "person_id": None, "erased_at": None}
                for i in people.values()
            ],
        )
        insert_many(
            db,
            SubjectRef,
            [
                {
                    "org_id": org.id,
                    "ref": ref,
                    "subject_id": i,
                    "created_at": now,
                    "claimed_email_digest": None,
                }
                for ref, i in people.items()
            ],
        )
        known.update(people)
    return known


_KNOWN_REFS = select(SubjectRef.ref, SubjectRef.subject_id).where(
    SubjectRef.org_id == bindparam("org_id"), SubjectRef.ref.in_(bindparam("refs", expanding=True))
)


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def time_ordered_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562: 48 bits of Unix milliseconds, then random bits): a million new rows land at
    the end of each index instead of in a million random pages, which keeps a batch's writes (and
    SQLite's WAL) small. Ids stay unguessable; they reveal the time of the import, as recorded_at does."""
    random = int.from_bytes(os.urandom(10))
    return uuid.UUID(
        int=(time.time_ns() // 1_000_000) << 80
        | 0x7 << 76
        | (random >> 62 & 0xFFF) << 64
        | 0b10 << 62
        | random & (1 << 62) - 1
    )
