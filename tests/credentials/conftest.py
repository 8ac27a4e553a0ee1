"""The stories' businesses and customers, for the credential tests; a holder's wallet key."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.stories.conftest import business, verified  # noqa: F401


@pytest.fixture
def wallet() -> Ed25519PrivateKey:
    """The holder's key: the credential is bound to its public half."""
    return Ed25519PrivateKey.generate()
