from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from harken import authority
from harken.authority import Tier
from harken.deps import Hub, HubDep
from harken.errors import PROBLEM_RESPONSES, NotFound
from harken.ledger import service
from harken.ledger.schemas import SignedHeads

router = APIRouter(tags=["ledger"])

_org_key = HTTPBearer(
    auto_error=False,
    description="Optional: an org API key (`hk_…`) adds that org's own chain to the hub's chains.",
)


@router.get("/.well-known/jwks.json")
async def jwks(hub: HubDep) -> dict[str, Any]:
    """The hub's public signing keys: receipts and checkpoints verify against these, offline."""
    return hub.keys.jwks()


@router.get(
    "/v1/ledger/heads",
    response_model=SignedHeads,
    openapi_extra={"security": [{}]},  # the key is optional: without one, the hub's own chains
    responses={
        401: {**PROBLEM_RESPONSES[401], "description": "A credential was sent, and it is not live"},
        404: {
            **PROBLEM_RESPONSES[404],
            "description": "`chain` has no signed head you may see: unknown, not signed yet, or another "
            "org's (indistinguishable)",
        },
    },
)
async def heads(
    hub: HubDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_org_key)],
    chain: str | None = Query(
        None, max_length=64, pattern=r"^[A-Za-z0-9:._-]+$", description="Only this chain's head"
    ),
) -> SignedHeads:
    """The latest signed head of each chain you may see, for monitors to poll and keep. Tier: public for
    the hub's own chains (`centre`, `credentials`); with an org API key, also that org's own chain
    (`org:<id>`), never another org's, which is a 404 like a chain that does not exist. Each head is what
    the `ledger.checkpoint` webhook delivers; `harken ledger verify --witness FILE` checks the database
    against heads kept elsewhere. A head names a chain, a position and a hash: no person."""
    bearer = None if credentials is None else credentials.credentials

    def work(session: Session) -> list[dict[str, Any]]:
        return service.heads(session, org_id=_org_of(session, hub, bearer), chain_id=chain)

    found = await hub.run(work)
    if chain is not None and not found:
        raise NotFound("no signed head of that chain")
    return SignedHeads.model_validate({"heads": found})


def _org_of(session: Session, hub: Hub, bearer: str | None) -> uuid.UUID | None:
    """The org whose key `bearer` is, checked live in this unit of work; None without one, or for a
    customer's or person's token (which speak for a person, not for the org's ledger). A credential that
    is not live is refused (401), not taken for none."""
    if bearer is None:
        return None
    found = authority.authenticate(session, secret=hub.secret, bearer=bearer, now=hub.clock())
    return found.org_id if found.tier == Tier.org else None
