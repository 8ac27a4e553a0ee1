"""What a process remembers between decisions holds only while the person's change counter says so:
every write a decision may see bumps it in the same transaction, whichever process or path wrote."""

from __future__ import annotations

import importlib
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from harken.decisions import readmodel
from harken.decisions.models import ChangeCounter, Offer
from harken.subjects.models import Subject, SubjectRef
from tests.conftest import Database
from tests.factories import auth, grant, org_client
from tests.live import LiveHub, serve

migration = importlib.import_module("harken.migrations.versions.0015_change_counters")
myterms = importlib.import_module("harken.migrations.versions.0020_myterms")  # watches terms_proffers
TEA = [{"id": "tea", "title": "Tea sampler", "topics": ["tea"]}]


def decide(client: TestClient | httpx.Client, headers: dict[str, str], ref: str) -> Any:
    body = {"subject": ref, "purpose": "marketing", "channels": ["email"], "candidates": TEA}
    response = client.post("/v1/decisions", headers=headers, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def counter(session: Session, org_id: uuid.UUID, ref: str) -> int:
    subject = session.execute(
        select(Subject).join(SubjectRef).where(SubjectRef.org_id == org_id, SubjectRef.ref == ref)
    ).scalar_one()
    root = subject.person_id or subject.id
    session.expire_all()
    return session.execute(select(ChangeCounter.version).where(ChangeCounter.id == root)).scalar() or 0


def test_every_write_a_decision_may_see_bumps_the_persons_counter(
    client: TestClient, session: Session
) -> None:
    headers = org_client(client, session)
    grant(client, headers, "ana")
    org_id = session.execute(select(SubjectRef.org_id).where(SubjectRef.ref == "ana")).scalar_one()
    token = client.post("/v1/subjects/ana/sessions", headers=headers).json()["token"]
    writes = [
        ("withdrawal", "PUT", "/v1/subjects/ana/consents/marketing", headers, {"status": "withdrawn"}),
        ("context", "PUT", "/v1/me/context", auth(token), {"situation": "commuting"}),
        (
            "preferences",
            "PATCH",
            "/v1/me/preferences",
            auth(token),
            {"channels": {"sms": {"allowed": False}}},
        ),
        (
            "persona",
            "PUT",
            "/v1/me/personas/runner",
            auth(token),
            {"label": "Runner", "interests": ["running"]},
        ),
        ("event", "POST", "/v1/subjects/ana/events", headers, {"type": "purchase", "item": "shoes"}),
        (
            "org context",
            "PUT",
            "/v1/subjects/ana/context",
            headers,
            {"situation": "home", "provenance": "observed"},
        ),
    ]
    for name, method, path, sent, body in writes:
        before = counter(session, org_id, "ana")
        response = client.request(method, path, headers=sent, json=body)
        assert response.status_code < 300, (name, response.text)
        assert counter(session, org_id, "ana") > before, name
    decided = decide(client, headers, "ana")
    before = counter(session, org_id, "ana")
    response = client.post(
        f"/v1/decisions/{decided['decision_id']}/feedback", headers=headers, json={"kind": "dismissed"}
    )
    assert response.status_code == 204, response.text
    assert counter(session, org_id, "ana") > before, "feedback"
    before = counter(session, org_id, "ana")
    assert client.delete("/v1/subjects/ana", headers=headers).status_code == 200
    assert counter(session, org_id, "ana") > before, "erasure"


def test_an_offer_change_bumps_the_catalogue(client: TestClient, session: Session) -> None:
    headers = org_client(client, session)
    offer = {"title": "Tea", "topics": ["tea"]}
    assert client.put("/v1/offers/tea", headers=headers, json=offer).status_code == 201
    org_id = session.execute(select(Offer.org_id)).scalar_one()
    before = session.execute(select(ChangeCounter.version).where(ChangeCounter.id == org_id)).scalar_one()
    assert (
        client.put("/v1/offers/tea", headers=headers, json={**offer, "title": "Green tea"}).status_code == 200
    )
    session.expire_all()
    after = session.execute(select(ChangeCounter.version).where(ChangeCounter.id == org_id)).scalar_one()
    assert after > before


def test_a_decision_reads_only_what_the_counters_watch(client: TestClient, session: Session) -> None:
    """Every table the loader reads is watched by a trigger, or never changes once written: a new input
    read without a trigger would be served stale from memory, so this fails first."""
    headers = org_client(client, session)
    grant(client, headers, "ana")
    token = client.post("/v1/subjects/ana/sessions", headers=headers).json()["token"]
    client.put("/v1/me/context", headers=auth(token), json={"situation": "commuting"}).raise_for_status()
    ref = session.execute(select(SubjectRef).where(SubjectRef.ref == "ana")).scalar_one()
    read: set[str] = set()

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        read.update(re.findall(r'\b(?:FROM|JOIN)\s+"?(\w+)"?', statement))

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", seen)
    try:
        found = readmodel.load(
            session,
            org_id=ref.org_id,
            subject_id=ref.subject_id,
            stamp=(ref.subject_id, 0),
            since=ref.created_at,
        )
    finally:
        event.remove(bind, "before_cursor_execute", seen)
    assert found.facts and found.consents
    unchanging = {
        "consent_records",
        "subjects",
        "subject_refs",
    }  # append-only; subjects: a trigger of their own
    watched = set(migration.WATCHED) | set(myterms.WATCHED)
    assert read - unchanging <= watched, read - unchanging - watched


# ---- across processes: the guarantee ---------------------------------------------------------------


@pytest.fixture
def two_servers(fresh_database: Database, tmp_path: Path) -> Iterator[tuple[LiveHub, LiveHub]]:
    """Two `harken serve` processes, two workers each, on one database and one data directory."""
    data = tmp_path / "data"
    with (
        serve(fresh_database.url, data, workers=2) as first,
        serve(fresh_database.url, data, workers=2) as second,
    ):
        yield first, second


@pytest.mark.slow  # two real servers, two workers each
def test_a_withdrawal_through_one_server_applies_to_the_next_decision_through_the_other(
    two_servers: tuple[LiveHub, LiveHub],
) -> None:
    first, second = two_servers
    writer = first.create_org("Skyway Airlines")
    key = {"Authorization": writer.headers["Authorization"]}
    asker = httpx.Client(base_url=second.url, headers=key, timeout=10)
    writer.put("/v1/subjects/ana").raise_for_status()
    stale = 0
    for round_ in range(40):
        status = "granted" if round_ % 2 == 0 else "withdrawn"
        body = {"status": status, "channels": ["email"]}
        assert writer.put("/v1/subjects/ana/consents/marketing", json=body).status_code in (200, 201)
        for _ in range(2):  # the second answer may come from memory: it must be as exact as the first
            answer = decide(asker, {}, "ana")
            withdrawn = any(r["code"] == "consent.withdrawn" for r in answer["reasons"])
            stale += withdrawn != (status == "withdrawn")
    asker.close()
    assert stale == 0


@pytest.mark.slow  # two real servers, two workers each
def test_decisions_at_once_never_pass_the_customers_weekly_limit(
    two_servers: tuple[LiveHub, LiveHub],
) -> None:
    first, second = two_servers
    org = first.create_org("Corner Grocer")
    key = {"Authorization": org.headers["Authorization"]}
    org.put("/v1/subjects/ana").raise_for_status()
    body = {"status": "granted", "channels": ["email"]}
    org.put("/v1/subjects/ana/consents/marketing", json=body).raise_for_status()
    token = org.post("/v1/subjects/ana/sessions").json()["token"]
    preferences = {"interests": {"tea": 0.8}, "channels": {"email": {"allowed": True, "max_per_week": 2}}}
    org.patch("/v1/me/preferences", json=preferences, headers=auth(token)).raise_for_status()
    clients = [httpx.Client(base_url=hub.url, headers=key, timeout=30) for hub in (first, second)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: decide(clients[i % 2], {}, "ana"), range(16)))
    for client in clients:
        client.close()
    assert sum(a["allowed"] for a in answers) == 2
    assert all("frequency.cap" in [r["code"] for r in a["reasons"]] for a in answers if not a["allowed"])


def test_a_bulk_copy_bumps_each_person_in_it_once(backend: str, session: Session) -> None:
    """The bulk loaders (bench.customers, imports) COPY rows on PostgreSQL: the statement triggers fire for
    COPY as for INSERT, once per statement, so every person copied gets a counter and no row is missed."""
    if backend != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    now = datetime.now(UTC)
    ana, ben, cleo = (Subject(id=uuid.uuid4(), created_at=now) for _ in range(3))
    session.add_all([ana, ben, cleo])
    session.flush()
    rows = [(ana.id, "context:situation"), (ana.id, "context:intent"), (ben.id, "context:situation")]
    driver = session.connection().connection.driver_connection
    assert driver is not None
    columns = "id, subject_id, key, provenance, source, value, valid_until, recorded_at"
    with driver.cursor() as cursor, cursor.copy(f"COPY facts ({columns}) FROM STDIN") as copy:
        for subject_id, key in rows:
            copy.write_row((uuid.uuid4(), subject_id, key, "declared", "centre", '{"v": 1}', None, now))
    versions = dict(
        session.execute(
            select(ChangeCounter.id, ChangeCounter.version).where(
                ChangeCounter.id.in_([ana.id, ben.id, cleo.id])
            )
        ).all()
    )
    assert versions == {ana.id: 1, ben.id: 1}
