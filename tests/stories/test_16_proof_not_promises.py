"""Story 16, "Proof, not promises" (seed 004).

Every consent change yields a receipt the customer can keep. Anyone holding the hub's public key
can verify the receipt offline, and can verify that the ledger was not altered afterwards;
altering or deleting any stored record is detected.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.centre_client import Visitor
from tests.conftest import Database
from tests.live import LiveHub
from tests.stories.conftest import Business

pytestmark = pytest.mark.slow  # a real server, and receipts verified by a process of their own


def offline_verify(
    tmp_path: Path, receipt: object, jwks: object, proof: object | None = None
) -> tuple[int, str]:
    """`harken receipt verify` with nothing but files: no database, no keys, no network."""
    files = {"receipt.json": receipt, "jwks.json": jwks} | ({"proof.json": proof} if proof else {})
    for name, content in files.items():
        (tmp_path / name).write_text(json.dumps(content))
    args = ["receipt", "verify", str(tmp_path / "receipt.json"), "--jwks", str(tmp_path / "jwks.json")]
    if proof:
        args += ["--proof", str(tmp_path / "proof.json")]
    done = subprocess.run(
        [sys.executable, "-m", "harken", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "HARKEN_DATABASE_URL": "sqlite:////nonexistent/none.db",
            "COLUMNS": "200",
        },
    )
    return done.returncode, " ".join((done.stdout + done.stderr).split())


def test_every_consent_change_gives_a_receipt_verifiable_offline_and_tampering_is_detected(
    hub: LiveHub, fresh_database: Database, tmp_path: Path
) -> None:
    bookshop = hub.create_org("Chapter & Verse Books")
    bookshop.put(
        "/v1/notices/marketing", json={"text": "May we email you about new books?"}
    ).raise_for_status()
    bookshop.put("/v1/subjects/reader-priya").raise_for_status()

    changes = []
    for status in ("granted", "withdrawn", "granted"):
        body = {
            "status": status,
            "channels": ["email"] if status == "granted" else [],
            "method": "preference-centre",
        }
        response = bookshop.put("/v1/subjects/reader-priya/consents/marketing", json=body)
        assert response.status_code == 201
        changes.append(response.json())

    jwks = bookshop.get("/.well-known/jwks.json").json()
    kept = [
        (bookshop.get(c["receipt"]).json(), bookshop.get(f"{c['receipt']}/proof").json()) for c in changes
    ]

    # Every change has its own receipt, and each verifies offline, entry and all.
    for (receipt, proof), change in zip(kept, changes, strict=True):
        code, output = offline_verify(tmp_path, receipt, jwks, proof)
        assert code == 0, output
        assert f"Valid receipt {change['id']}" in output and "In the ledger" in output

    # An edited receipt fails, whatever field was changed.
    receipt, proof = kept[1]
    edited = {**receipt, "receipt": {**receipt["receipt"], "consent_status": "granted"}}
    code, output = offline_verify(tmp_path, edited, jwks)
    assert code == 1 and "differs from what the hub signed" in output

    # Someone with database access rewrites the withdrawal as a grant, in the record and the ledger.
    withdrawal = changes[1]
    with fresh_database.engine.begin() as connection:
        connection.execute(
            text("UPDATE consent_records SET status = 'granted' WHERE id = :id"),
            {
                "id": withdrawal["id"]
                if fresh_database.backend == "postgresql"
                else withdrawal["id"].replace("-", "")
            },
        )
        connection.execute(
            text(
                "UPDATE ledger_entries SET body = REPLACE(body, '\"withdrawn\"', '\"granted\"') "
                "WHERE chain = :chain AND seq = :seq"
            ),
            {"chain": withdrawal["ledger"]["chain"], "seq": withdrawal["ledger"]["seq"]},
        )

    # The operator's verification names the altered entry…
    verified = hub.harken("ledger", "verify", check=False)
    assert verified.returncode == 1
    assert f"entry {withdrawal['ledger']['seq']} was altered" in " ".join(verified.stdout.split())

    # …and the customer, with only the public key, finds the hub's own receipt for it now refuted:
    # the rewritten entry no longer hashes to the hash the signed checkpoint chains through…
    fresh_receipt = bookshop.get(withdrawal["receipt"]).json()
    code, output = offline_verify(tmp_path, fresh_receipt, jwks)
    assert code == 1 and "does not hash to" in output, output

    # …while the receipt they kept still proves what they decided, under the hub's signature.
    code, output = offline_verify(tmp_path, kept[1][0], jwks, kept[1][1])
    assert code == 0 and "marketing withdrawn" in output, output


def test_the_customer_downloads_receipts_from_the_centre_and_checks_them_alone(
    business: Callable[[str], Business], visitor: Callable[..., Visitor], client: TestClient, tmp_path: Path
) -> None:
    bookshop = business("Chapter & Verse Books")
    bookshop.call(
        "PUT", "/v1/notices/marketing", {"text": "May we email you about new books?", "locale": "en"}
    )
    bookshop.customer("reader-priya", email="priya@example.com", grant={"marketing": ["email"]})
    priya = visitor()
    priya.sign_in("priya@example.com")
    page = priya.get("/centre/consents").text
    org = page.split('id="org-', 1)[1].split('"', 1)[0]
    priya.submit("/centre/consents", f"/centre/consents/{org}/marketing", {"decision": "withdraw"})

    # One receipt from the Consents page, and every receipt inside "download my data".
    page = priya.get("/centre/consents").text
    record = page.split('href="/centre/receipts/', 1)[1].split('"', 1)[0]
    kept = [priya.get(f"/centre/receipts/{record}").json()]
    kept += [c["receipt"] for c in priya.get("/centre/data/export").json()["consents"]]
    assert len(kept) == 3  # the withdrawal twice, and the grant before it
    jwks = client.get("/.well-known/jwks.json").json()
    for receipt in kept:
        code, output = offline_verify(tmp_path, receipt, jwks)
        assert code == 0, output
        assert f"Valid receipt {receipt['receipt']['record_id']}" in output
    code, output = offline_verify(
        tmp_path, {**kept[0], "receipt": {**kept[0]["receipt"], "consent_status": "granted"}}, jwks
    )
    assert code == 1 and "differs from what the hub signed" in output
