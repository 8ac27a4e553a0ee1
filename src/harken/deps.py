"""Request dependencies: the hub's shared parts and the clock."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from harken.clock import Clock
from harken.config import Settings
from harken.ledger.keys import KeyRing
from harken.ledger.service import Notary


@dataclass(frozen=True)
class Hub:
    """Everything a request may need that outlives it; built once by create_app."""

    settings: Settings
    sessions: sessionmaker[Session]
    keys: KeyRing
    clock: Clock
    writer: ThreadPoolExecutor | None = None

    @property
    def notary(self) -> Notary:
        return Notary(keys=self.keys, checkpoint_every=self.settings.checkpoint_every)


# Dependencies are `async def` and do no I/O: FastAPI would run a plain `def` in the thread pool,
# and a request that hops between pool threads while holding a transaction (and, on SQLite, the
# write lock) stalls every other writer behind the hops (measured with py-spy under load).


async def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def get_now(hub: Annotated[Hub, Depends(get_hub)]) -> datetime:
    return hub.clock()


HubDep = Annotated[Hub, Depends(get_hub)]
Now = Annotated[datetime, Depends(get_now)]
