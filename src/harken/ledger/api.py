from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from harken.deps import HubDep

router = APIRouter(tags=["ledger"])


@router.get("/.well-known/jwks.json")
async def jwks(hub: HubDep) -> dict[str, Any]:
    """The hub's public signing keys: receipts and checkpoints verify against these, offline."""
    return hub.keys.jwks()
