"""Schema migrations (Alembic, shipped inside the package) and the startup check against them."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from harken.db import readonly

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaMismatch(RuntimeError):
    """The database is not at the schema this Harken expects; the message says what to do."""


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head() -> str:
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


def current(engine: Engine) -> str | None:
    with readonly(engine).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Migrate to the newest schema; returns (before, after)."""
    before = current(engine)
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return before, head()


def check(engine: Engine) -> None:
    """Raise SchemaMismatch unless the database is at exactly this Harken's schema."""
    found, wanted = current(engine), head()
    if found == wanted:
        return
    url = engine.url.render_as_string(hide_password=True)
    if found is None:
        raise SchemaMismatch(f"the database {url} is not migrated: run `harken db upgrade`")
    known = {s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions()}
    if found not in known:
        raise SchemaMismatch(
            f"the database {url} has schema {found}, newer than this Harken knows (up to {wanted}): upgrade Harken"
        )
    raise SchemaMismatch(
        f"the database {url} has schema {found}, older than {wanted}: run `harken db upgrade`"
    )
