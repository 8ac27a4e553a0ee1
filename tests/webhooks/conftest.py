"""Webhook tests reuse the stories' businesses: orgs speaking HTTP."""

from tests.stories.conftest import business, verified  # noqa: F401
