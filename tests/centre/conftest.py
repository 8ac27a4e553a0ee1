"""The centre's tests reuse the stories' businesses (orgs speaking HTTP) and add the customer's browser."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from harken.centre.mail import MemoryMailer
from tests.centre_client import Visitor
from tests.stories.conftest import business  # noqa: F401  (fixture: an org speaking HTTP)


@pytest.fixture
def visitor(client: TestClient, mailer: MemoryMailer) -> Callable[..., Visitor]:
    """A new browser of its own (own cookies) on the test's hub."""
    return lambda **headers: Visitor(client.app, mailer, **headers)
