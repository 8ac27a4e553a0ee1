"""Consent writes from many clients at once, into two server processes: every acknowledged write is
stored, each chain grows one entry at a time, and the ledger verifies."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from harken.consent.models import ConsentRecord
from harken.orgs.models import Org
from tests.conftest import Database
from tests.live import serve

pytestmark = pytest.mark.slow  # a real server, two workers, many writers

WRITERS, WRITES = 8, 15


def test_concurrent_writes_are_all_stored_and_chained(fresh_database: Database, tmp_path: Path) -> None:
    with serve(fresh_database.url, tmp_path / "data", workers=2) as hub:
        orgs = [hub.create_org(name) for name in ("Skyway Airlines", "Bean There Coffee")]

        def writer(n: int) -> list[int]:
            org = orgs[n % 2]
            ref = f"cust-{n}"
            with httpx.Client(base_url=hub.url, headers=org.headers, timeout=30) as client:
                client.put(f"/v1/subjects/{ref}").raise_for_status()
                statuses = []
                for i in range(WRITES):
                    body = {"status": "granted" if i % 2 == 0 else "withdrawn"}
                    statuses.append(
                        client.put(f"/v1/subjects/{ref}/consents/marketing", json=body).status_code
                    )
                return statuses

        with ThreadPoolExecutor(WRITERS) as pool:
            results = [code for codes in pool.map(writer, range(WRITERS)) for code in codes]
        assert results == [201] * (WRITERS * WRITES)

        verified = hub.harken("ledger", "verify", check=False)
        assert verified.returncode == 0, verified.stdout + verified.stderr

    with fresh_database.engine.connect() as connection:
        per_org = dict(
            connection.execute(select(Org.name, func.count()).join(ConsentRecord).group_by(Org.name)).all()
        )
        assert per_org == {
            "Skyway Airlines": WRITERS * WRITES // 2,
            "Bean There Coffee": WRITERS * WRITES // 2,
        }
        seqs = connection.execute(select(ConsentRecord.chain, ConsentRecord.seq)).all()
    for chain_id in {c for c, _ in seqs}:
        assert sorted(s for c, s in seqs if c == chain_id) == list(range(1, WRITERS * WRITES // 2 + 1))
