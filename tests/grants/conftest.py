from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.centre_client import Visitor
from tests.factories import auth, make_org

EMAIL = "ana@example.com"


@pytest.fixture
def ana(client: TestClient, session: Session, visitor: Callable[..., Visitor]) -> Visitor:
    """Ana, a customer of an airline, signed in to the centre by email (and so linked to it)."""
    _, key = make_org(session, "Skyway Airlines")
    assert client.put("/v1/subjects/ana", headers=auth(key), json={"email": EMAIL}).status_code == 201
    browser = visitor()
    browser.sign_in(EMAIL)
    return browser
