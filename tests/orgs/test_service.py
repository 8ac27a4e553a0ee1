"""API keys in the service: a rotated key ends when its grace does, keys are found by id, prefix or
themselves within their org only, and the rules refuse before anything is written."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harken.db import make_session_factory, session_scope
from harken.errors import Invalid, NotFound, Unauthenticated
from harken.ledger.models import LedgerEntry
from harken.ledger.service import Notary
from harken.orgs import service
from harken.orgs.models import Org
from tests.conftest import Database
from tests.factories import T0, make_org


def entries(session: Session, org: Org) -> int:
    return session.execute(select(func.count()).where(LedgerEntry.chain == org.chain)).scalar_one()


def test_a_rotated_key_works_until_its_grace_ends_and_never_after(session: Session, notary: Notary) -> None:
    org, old = make_org(session)
    old_key = service.find_key(session, org=org, named=old)
    _, clear = service.rotate_key(
        session, org=org, key_id=old_key.id, by="operator", notary=notary, now=T0, grace=timedelta(days=1)
    )
    assert old_key.revoked_at == T0 + timedelta(days=1)
    assert service.authenticate(session, old, now=T0 + timedelta(hours=23, minutes=59)).id == org.id
    with pytest.raises(Unauthenticated, match="not known or was revoked"):
        service.authenticate(session, old, now=T0 + timedelta(days=1))
    assert service.authenticate(session, clear, now=T0 + timedelta(days=30)).id == org.id
    assert (
        service.status(old_key, T0) == "expiring"
        and service.status(old_key, T0 + timedelta(days=2)) == "revoked"
    )


@pytest.mark.parametrize("grace", [timedelta(seconds=-1), timedelta(days=7, seconds=1)])
def test_a_grace_outside_0_to_7_days_is_refused_and_writes_nothing(
    session: Session, notary: Notary, grace: timedelta
) -> None:
    org, key = make_org(session)
    found = service.find_key(session, org=org, named=key)
    with pytest.raises(Invalid, match="grace"):
        service.rotate_key(
            session, org=org, key_id=found.id, by="operator", notary=notary, now=T0, grace=grace
        )
    assert (
        len(service.keys(session, org=org)) == 1 and found.revoked_at is None and entries(session, org) == 0
    )


def test_a_key_is_found_by_id_prefix_or_itself_in_its_own_org_only(session: Session, notary: Notary) -> None:
    org, key = make_org(session)
    other, theirs = make_org(session, "Bean There Coffee")
    found = service.find_key(session, org=org, named=key)
    assert service.find_key(session, org=org, named=str(found.id)) is found
    assert service.find_key(session, org=org, named=key[:10]) is found
    assert service.find_key(session, org=org, named=f" {key[:6]} ") is found
    for named in (theirs, theirs[:10], str(service.find_key(session, org=other, named=theirs).id), "hk_nope"):
        with pytest.raises(NotFound):
            service.find_key(session, org=org, named=named)
    service.issue_key(session, org=org, by="operator", notary=notary, now=T0)
    with pytest.raises(Invalid, match="2 keys start with 'hk_'"):
        service.find_key(session, org=org, named="hk_")


def test_revoking_a_revoked_key_changes_nothing_and_ends_a_grace_early(
    session: Session, notary: Notary
) -> None:
    org, old = make_org(session)
    old_key = service.find_key(session, org=org, named=old)
    service.rotate_key(
        session, org=org, key_id=old_key.id, by="org", notary=notary, now=T0, grace=timedelta(hours=1)
    )
    later = T0 + timedelta(minutes=5)
    service.revoke_key(session, org=org, key_id=old_key.id, by="org", notary=notary, now=later)
    assert old_key.revoked_at == later and entries(session, org) == 3
    service.revoke_key(
        session, org=org, key_id=old_key.id, by="org", notary=notary, now=T0 + timedelta(hours=2)
    )
    assert old_key.revoked_at == later and entries(session, org) == 3


def test_the_last_key_without_an_end_is_kept_even_if_another_is_in_its_grace(
    session: Session, notary: Notary
) -> None:
    org, old = make_org(session)
    old_key = service.find_key(session, org=org, named=old)
    new, _ = service.rotate_key(
        session, org=org, key_id=old_key.id, by="org", notary=notary, now=T0, grace=timedelta(hours=1)
    )
    with pytest.raises(service.LastKey):
        service.revoke_key(session, org=org, key_id=new.id, by="org", notary=notary, now=T0)
    assert new.revoked_at is None and entries(session, org) == 2
    service.revoke_key(session, org=org, key_id=new.id, by="operator", notary=notary, now=T0, allow_last=True)
    assert new.revoked_at == T0


def test_the_first_key_is_not_in_the_ledger_so_an_orgs_chain_starts_with_its_first_record(
    session: Session,
) -> None:
    org, _ = make_org(session)
    assert entries(session, org) == 0 and service.all_orgs(session) == [(org, 1)]


def test_two_revocations_at_once_never_leave_the_org_without_a_key(
    fresh_database: Database, notary: Notary
) -> None:
    """Each call sees the other's key still open if nothing orders them; the org's row lock does."""
    sessions = make_session_factory(fresh_database.engine)
    with session_scope(sessions) as session:
        org, first = service.create(session, name="Skyway Airlines", now=T0)
        second = service.issue_key(session, org=org, by="org", notary=notary, now=T0)[0]
        first_id, second_id = service.find_key(session, org=org, named=first).id, second.id
    with sessions() as a:
        service.revoke_key(a, org=a.get_one(Org, org.id), key_id=first_id, by="org", notary=notary, now=T0)
        with ThreadPoolExecutor(1) as pool:

            def revoke_the_other() -> None:
                with session_scope(sessions) as b:
                    other = b.get_one(Org, org.id)
                    service.revoke_key(b, org=other, key_id=second_id, by="org", notary=notary, now=T0)

            waiting = pool.submit(revoke_the_other)
            time.sleep(0.3)
            assert not waiting.done()  # held until the first revocation commits
            a.commit()
            with pytest.raises(service.LastKey):
                waiting.result(timeout=10)
    with sessions() as session:
        assert [service.status(k, T0) for k in service.keys(session, org=session.get_one(Org, org.id))].count(
            "live"
        ) == 1
