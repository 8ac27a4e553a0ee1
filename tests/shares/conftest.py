"""The stories' businesses and customers, for the share tests."""

from tests.stories.conftest import business, verified  # noqa: F401
