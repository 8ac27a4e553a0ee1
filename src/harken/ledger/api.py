from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from harken.deps import HubDep
from harken.ledger import service
from harken.ledger.schemas import SignedHeads

router = APIRouter(tags=["ledger"])


@router.get("/.well-known/jwks.json")
async def jwks(hub: HubDep) -> dict[str, Any]:
    """The hub's public signing keys: receipts and checkpoints verify against these, offline."""
    return hub.keys.jwks()


@router.get("/v1/ledger/heads", response_model=SignedHeads)
async def heads(
    hub: HubDep,
    chain: str | None = Query(
        None, max_length=64, pattern=r"^[A-Za-z0-9:._-]+$", description="Only this chain's head"
    ),
) -> SignedHeads:
    """The latest signed head of every chain (public, for monitors to poll and keep). Each is what the
    `ledger.checkpoint` webhook delivers; `harken ledger verify --witness FILE` checks the database
    against heads kept elsewhere. A head names a chain, a position and a hash: no person."""
    found = await hub.run(lambda session: service.heads(session, chain_id=chain))
    return SignedHeads.model_validate({"heads": found})
