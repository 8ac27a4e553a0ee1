from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from harken.models import Base


def run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `harken db upgrade`, which passes a connection")
run(connection)
