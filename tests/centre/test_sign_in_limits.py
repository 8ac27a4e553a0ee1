"""The sign-in limit per client address holds however the client spells X-Forwarded-For: a real server
believes the header only from proxies the operator names (HARKEN_TRUSTED_PROXIES), and none are named
here, though the client connects from 127.0.0.1, which uvicorn itself would trust by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from harken.centre import signin
from tests.centre_client import csrf_of
from tests.conftest import Database
from tests.live import serve

pytestmark = pytest.mark.slow  # a real server process


def test_a_new_x_forwarded_for_per_request_does_not_lift_the_limit_per_address(
    fresh_database: Database, tmp_path: Path
) -> None:
    mail = {"HARKEN_MAILER": f"directory:{tmp_path / 'mail'}"}
    with serve(fresh_database.url, tmp_path / "data", extra_env=mail) as hub:
        browser = hub.visitor()
        form = csrf_of(browser.get("/centre/sign-in").text)
        answers = [
            browser.http.post(
                "/centre/sign-in",
                data={"email": f"person-{n}@example.com", "csrf": form, "next": "/centre"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
            for n in range(signin.LINKS_PER_IP + 1)
        ]
    assert answers[: signin.LINKS_PER_IP] == [303] * signin.LINKS_PER_IP
    assert answers[-1] == 429
