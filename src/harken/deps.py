"""Request dependencies: the hub's shared parts, a unit of work per request, the clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from harken.clock import Clock
from harken.config import Settings
from harken.ledger.keys import KeyRing
from harken.ledger.service import Notary


@dataclass(frozen=True)
class Hub:
    """Everything a request may need that outlives it; built once by create_app."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keys: KeyRing
    clock: Clock

    @property
    def notary(self) -> Notary:
        return Notary(keys=self.keys, checkpoint_every=self.settings.checkpoint_every)


def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def get_session(hub: Annotated[Hub, Depends(get_hub)]) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent (so a 2xx means durable)."""
    session = hub.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_now(hub: Annotated[Hub, Depends(get_hub)]) -> datetime:
    return hub.clock()


HubDep = Annotated[Hub, Depends(get_hub)]
DbSession = Annotated[Session, Depends(get_session, scope="function")]
Now = Annotated[datetime, Depends(get_now)]
