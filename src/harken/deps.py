"""Request dependencies: the hub's shared parts, a unit of work per request, the clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

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


# Dependencies that do no I/O are `async def`: FastAPI would run a plain `def` in the thread pool,
# and those hops cost more than a consent write itself (measured with py-spy under load).


async def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def get_session(hub: Annotated[Hub, Depends(get_hub)]) -> AsyncIterator[Session]:
    """One transaction per request, committed before the response is sent (so a 2xx means durable).

    Creating a session does no I/O (it connects on first use, in the endpoint's thread); commit,
    rollback and close do, so they run in the thread pool.
    """
    session = hub.sessions()
    try:
        yield session
    except BaseException:
        await run_in_threadpool(_end, session, commit=False)
        raise
    await run_in_threadpool(_end, session, commit=True)


def _end(session: Session, *, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


async def get_now(hub: Annotated[Hub, Depends(get_hub)]) -> datetime:
    return hub.clock()


HubDep = Annotated[Hub, Depends(get_hub)]
DbSession = Annotated[Session, Depends(get_session, scope="function")]
Now = Annotated[datetime, Depends(get_now)]
