"""The terms tests reuse the stories' businesses: orgs speaking HTTP (`visitor` is the root conftest's)."""

from tests.stories.conftest import business  # noqa: F401
