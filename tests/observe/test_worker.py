"""`harken worker`: one log line and one count per delivery attempt, with ids and how it went, never
the endpoint's URL nor the payload."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from harken.config import Settings
from harken.observe import logs, metrics
from harken.webhooks import worker
from harken.webhooks.destinations import client
from tests.conftest import Database
from tests.live import STARTS_WITHIN, free_port
from tests.receiver import Receiver
from tests.stories.conftest import Business, business  # noqa: F401
from tests.webhooks.conftest import Worker, deliver, receiver, subscribe  # noqa: F401


def attempts(result: str) -> float:
    return metrics.REGISTRY.get_sample_value("harken_webhook_attempts_total", {"result": result}) or 0.0


def test_each_attempt_is_logged_and_counted(
    business: Callable[[str], Business],  # noqa: F811
    receiver: Receiver,  # noqa: F811
    deliver: Worker,  # noqa: F811
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shop = business("Logged Letters")
    subscribe(shop, receiver.url, ["consent.updated"])
    subscribe(shop, "http://127.0.0.1:1/down", ["consent.updated"])  # nothing listens there
    shop.customer("wren-secret-ref", grant={"marketing": ["email"]})
    delivered, retried = attempts("delivered"), attempts("retry")
    capsys.readouterr()
    log = logs.logger(settings.model_copy(update={"log_format": "json"}))
    with client(deliver.destinations) as http:
        assert worker.run_once(deliver.unit, http, clock=deliver.clock, rng=deliver.rng, log=log) == 2
    err = capsys.readouterr().err
    lines = sorted((json.loads(line) for line in err.splitlines()), key=lambda line: line["result"])
    assert [(line["event"], line["result"], line["attempt"]) for line in lines] == [
        ("webhook.attempt", "delivered", 1),
        ("webhook.attempt", "pending", 1),
    ]
    ok, failed = lines
    assert ok["status"] == 200 and ok["level"] == "info" and ok["event_type"] == "consent.updated"
    assert failed["status"] is None and failed["error"] == "ConnectError" and failed["level"] == "warning"
    assert ok["endpoint"] != failed["endpoint"]
    assert attempts("delivered") == delivered + 1 and attempts("retry") == retried + 1
    for secret in ("wren-secret-ref", receiver.url, "127.0.0.1:1"):
        assert secret not in err


@pytest.mark.slow
def test_the_worker_serves_its_metrics_on_loopback(fresh_database: Database, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "HARKEN_DATABASE_URL": fresh_database.url, "HARKEN_DATA_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "harken", "worker", "--metrics-port", str(port), "--interval", "0.2"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + STARTS_WITHIN
        while True:
            assert process.poll() is None, "harken worker exited"
            try:
                scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the worker's metrics did not answer"
                time.sleep(0.2)
        assert scraped.status_code == 200
        assert "# TYPE harken_webhook_attempts_total counter" in scraped.text
    finally:
        process.terminate()
        process.wait(timeout=30)
