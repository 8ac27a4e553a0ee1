"""kill -9 of the server in the middle of concurrent consent writes: every write that was acknowledged
is there after a restart, with its receipt, and the ledger verifies."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import Database
from tests.live import serve

WRITERS = 8
ACKNOWLEDGED_WITHIN = 60  # seconds; some 2 s on an idle laptop


@pytest.mark.slow
def test_acknowledged_consents_survive_kill_9(fresh_database: Database, tmp_path: Path) -> None:
    acknowledged: list[str] = []
    lock = threading.Lock()
    with serve(fresh_database.url, tmp_path / "data") as hub:
        org = hub.create_org("Crash Test")
        headers = dict(org.headers)
        for n in range(WRITERS):
            org.put(f"/v1/subjects/c-{n}").raise_for_status()

        def write(n: int) -> None:
            with httpx.Client(base_url=hub.url, headers=headers, timeout=5) as client:
                for i in range(10_000):
                    body = {
                        "status": ("granted", "withdrawn")[i % 2],
                        "channels": ["email"] if i % 2 == 0 else [],
                    }
                    try:
                        answer = client.put(f"/v1/subjects/c-{n}/consents/marketing", json=body)
                    except httpx.TransportError:
                        return  # the server is gone: this write was never acknowledged
                    if answer.status_code == 201:
                        with lock:
                            acknowledged.append(answer.json()["id"])

        threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + ACKNOWLEDGED_WITHIN
        while len(acknowledged) < 100:
            if time.monotonic() > deadline:
                os.kill(hub.pid, signal.SIGKILL)  # let the writers go before failing
                pytest.fail(
                    f"only {len(acknowledged)} of 100 writes acknowledged within {ACKNOWLEDGED_WITHIN} s "
                    "before the kill: the server is too slow or refusing writes"
                )
            time.sleep(0.05)
        os.kill(hub.pid, signal.SIGKILL)
        for thread in threads:
            thread.join(timeout=30)
        stuck = [thread.name for thread in threads if thread.is_alive()]
        assert stuck == [], f"writers {stuck} still waiting 30 s after the kill -9"

    with serve(fresh_database.url, tmp_path / "data") as again:
        with httpx.Client(base_url=again.url, headers=headers, timeout=10) as client:
            missing = [id for id in acknowledged if client.get(f"/v1/receipts/{id}").status_code != 200]
        assert missing == [], f"{len(missing)} of {len(acknowledged)} acknowledged writes lost"
        verified = again.harken("ledger", "verify", check=False)
        assert verified.returncode == 0, verified.stdout + verified.stderr
