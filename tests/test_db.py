"""Storage helpers, on both databases."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.consent.models import ConsentRecord
from harken.db import COPY_FROM, insert_many
from harken.subjects.models import Subject
from tests.factories import T0, make_org


@pytest.mark.parametrize("rows", [COPY_FROM - 1, COPY_FROM + 50])
def test_insert_many_stores_each_value_as_an_insert_would(session: Session, rows: int) -> None:
    """Below COPY_FROM rows an INSERT, from it on the bulk way (PostgreSQL's COPY, SQLite's executemany
    through the column types' own bind processors): the same rows come back either way, JSON lists and
    objects, times with their zone, and empty values."""
    org, _ = make_org(session)
    person = uuid.uuid4()
    insert_many(
        session.connection(),
        Subject,
        [{"id": person, "created_at": T0, "email_digest": None, "erased_at": None}],
    )
    written = [
        {
            "id": uuid.uuid4(),
            "org_id": org.id,
            "subject_id": person,
            "purpose": "marketing",
            "status": "granted",
            "channels": ["email", "sms"][: n % 3],
            "notice_version": n % 2 or None,
            "notice_sha256": "ab" * 32 if n % 2 else None,
            "method": "import",
            "captured_at": T0 + timedelta(seconds=n),
            "expires_at": T0 + timedelta(days=n) if n % 4 == 0 else None,
            "recorded_at": T0,
            "evidence": {
                "import": {"file_sha256": "cd" * 32, "line": n, "note": 'tab\there, quote " and ünïcödé'}
            },
            "evidence_sha256": "ef" * 32,
            "evidence_hmac": None,
            "chain": "org:test",
            "seq": n + 1,
        }
        for n in range(rows)
    ]
    insert_many(session.connection(), ConsentRecord, written)
    session.expire_all()
    stored = session.execute(select(ConsentRecord).order_by(ConsentRecord.seq)).scalars().all()
    read = [{c.key: getattr(r, c.key) for c in ConsentRecord.__table__.columns} for r in stored]
    assert read == written
