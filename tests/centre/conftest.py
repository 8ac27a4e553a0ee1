"""The centre's tests reuse the stories' businesses: orgs speaking HTTP (the `visitor` fixture, the
customer's browser, comes from tests/conftest.py)."""

from pathlib import Path

import pytest

from tests.stories.conftest import business  # noqa: F401

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """shares.service.uses, which the Shares and Businesses pages call to show who read a share, still
    calls Result.tuples(), deprecated since SQLAlchemy 2.1 (left to the shares package's owners): that
    one warning is let through here until it iterates the rows itself."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(
                pytest.mark.filterwarnings("ignore:The Result.tuples:sqlalchemy.exc.SADeprecationWarning")
            )
