"""`harken serve --workers 2`: each worker counts in files of a shared directory, and a scrape, whichever
worker answers it, adds them all up; files an earlier run left there count for nothing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Database
from tests.live import serve
from tests.observe.conftest import TOKEN

pytestmark = pytest.mark.slow
REQUESTS = 40


def healthz_count(url: str) -> float:
    # A new connection each time: either worker may answer.
    response = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == "harken_http_requests_total" and sample.labels.get("route") == "/healthz"
    )


def test_two_workers_add_their_counts_up(fresh_database: Database, tmp_path: Path) -> None:
    shared = tmp_path / "prometheus"
    shared.mkdir()
    stale = shared / "counter_999999.db"  # what a killed earlier run would leave
    stale.write_bytes(b"\0" * 64)
    env = {"PROMETHEUS_MULTIPROC_DIR": str(shared), "HARKEN_METRICS_TOKEN": TOKEN}
    with serve(fresh_database.url, tmp_path / "data", workers=2, extra_env=env) as hub:
        assert not stale.exists()
        started = healthz_count(hub.url)  # the readiness polls of `serve` count too
        for _ in range(REQUESTS):
            assert httpx.get(f"{hub.url}/healthz", timeout=10).status_code == 200
        counts = {healthz_count(hub.url) for _ in range(10)}
        pids = {path.name.rsplit("_", 1)[-1] for path in shared.glob("counter_*.db")}
    assert counts == {started + REQUESTS}
    assert len(pids) >= 2  # both workers wrote counts (the supervisor writes none)


def test_serve_makes_and_removes_a_directory_of_its_own(fresh_database: Database, tmp_path: Path) -> None:
    env = {"HARKEN_METRICS_TOKEN": TOKEN, "TMPDIR": str(tmp_path)}
    with serve(fresh_database.url, tmp_path / "data", workers=2, extra_env=env) as hub:
        made = list(tmp_path.glob("harken-metrics-*"))
        assert len(made) == 1 and list(made[0].glob("*.db"))
        start = healthz_count(hub.url)
        httpx.get(f"{hub.url}/healthz", timeout=10)
        assert {healthz_count(hub.url) for _ in range(5)} == {start + 1}
    assert not made[0].exists()
