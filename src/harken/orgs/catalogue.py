"""An org's catalogue entries (offers, profiling questions): a JSON document per (org, id), created or
replaced whole, found only by the org that owns it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from harken.db import JSONType
from harken.errors import NotFound
from harken.orgs.models import Org


class CatalogueEntry:
    """The columns of a catalogue table (mixed into a model with its own `__tablename__`)."""

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType)
    updated_at: Mapped[datetime]

    if TYPE_CHECKING:  # the mapped model's constructor takes the columns as keywords

        def __init__(self, **columns: Any) -> None: ...


E = TypeVar("E", bound=CatalogueEntry)


def put(
    session: Session, model: type[E], *, org: Org, entry_id: str, spec: dict[str, Any], now: datetime
) -> tuple[E, bool]:
    """Create or replace the org's entry; returns (entry, created). The same document again changes nothing."""
    found = session.get(model, (org.id, entry_id))
    if found is None:
        found = model(org_id=org.id, id=entry_id, spec=spec, updated_at=now)
        session.add(found)
        session.flush()
        return found, True
    if found.spec != spec:
        found.spec, found.updated_at = spec, now
    return found, False


def get(session: Session, model: type[E], *, org: Org, entry_id: str, noun: str) -> E:
    """The org's entry; NotFound whether it does not exist or belongs to another org."""
    found = session.get(model, (org.id, entry_id))
    if found is None:
        raise NotFound(f"no {noun} {entry_id!r}")
    return found


def page(session: Session, model: type[E], *, org: Org, after: str | None, limit: int) -> list[E]:
    """Up to `limit` + 1 of the org's entries in id order, after id `after` (the one past `limit` says
    there is a next page)."""
    query = select(model).where(model.org_id == org.id)
    if after is not None:
        query = query.where(model.id > after)
    return list(session.execute(query.order_by(model.id).limit(limit + 1)).scalars())
