"""The centre's tests reuse the stories' businesses: orgs speaking HTTP (the `visitor` fixture, the
customer's browser, comes from tests/conftest.py)."""

from tests.stories.conftest import business  # noqa: F401
