"""Consent rules below HTTP: records are append-only."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from harken.consent import service as consent_service
from harken.consent.models import ConsentRecord
from harken.consent.schemas import ConsentPut, Status
from harken.ledger.service import Notary
from harken.subjects import service as subject_service
from tests.factories import T0, make_org


def test_a_consent_record_cannot_be_updated_or_deleted(session: Session, notary: Notary) -> None:
    org, _ = make_org(session)
    subject_service.register(session, org=org, ref="c1", now=T0)
    record, _, _ = consent_service.record(
        session,
        org=org,
        ref="c1",
        purpose="marketing",
        change=ConsentPut(status=Status.granted),
        notary=notary,
        now=T0,
    )
    session.commit()
    session.get_one(ConsentRecord, record.id).status = "withdrawn"
    with pytest.raises(RuntimeError, match="append-only"):
        session.flush()
    session.rollback()
    session.delete(session.get_one(ConsentRecord, record.id))
    with pytest.raises(RuntimeError, match="append-only"):
        session.flush()
