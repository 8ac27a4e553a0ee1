"""Integrations: webhook endpoints with their delivery health and replay; API keys (created and rotated
keys shown once, then only their prefix) through the very routes behind /v1/keys; and the org's ledger
chain: its head, its last signed checkpoint, and a verification run on demand."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from harken.console import service as console_service
from harken.console.models import Staff
from harken.console.visit import NOT_FOUND, FormInvalid, PageError, Visit, VisitDep, Write
from harken.ledger import chain
from harken.orgs import api as keys_api
from harken.orgs import service as org_service
from harken.orgs.models import Org
from harken.orgs.schemas import KeyRead
from harken.webhooks import api as webhooks_api
from harken.webhooks import service as webhooks_service

router = APIRouter(prefix="/console", include_in_schema=False)
RECENT = 100  # deliveries per endpoint the health is read from


def path_id(value: str) -> uuid.UUID:
    """An id from the address bar; anything that is not one is simply not here."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise PageError(404, NOT_FOUND) from None


# ---- webhooks -------------------------------------------------------------------------------------


def _webhooks(session: Session, staff: Staff, org: Org) -> dict[str, Any]:
    endpoints = webhooks_service.endpoints(session, org=org)
    return {
        "endpoints": [
            (
                endpoint,
                console_service.health(
                    webhooks_service.deliveries(
                        session, org=org, endpoint_id=endpoint.id, status=None, limit=RECENT
                    )
                ),
            )
            for endpoint in endpoints
        ],
        "recent": RECENT,
    }


@router.get("/webhooks")
async def webhooks_page(visit: VisitDep) -> Response:
    return await visit.page("webhooks.html", _webhooks)


@router.post("/webhooks/deliveries/{delivery_id}/replay")
async def replay(delivery_id: str, visit: VisitDep) -> Response:
    """Send a delivery's event again, as POST /v1/webhooks/deliveries/{id}/replay does."""
    found = path_id(delivery_id)
    call = visit.call(Write("webhook.replayed", {"delivery": str(found)}))

    async def pending() -> str:
        await webhooks_api.replay_delivery(found, call, visit.now)
        return "/console/webhooks?done=replayed"

    return await visit.then(pending(), template="webhooks.html", build=_webhooks)


# ---- API keys ------------------------------------------------------------------------------------


def _keys(visit: Visit, created: KeyRead | None = None) -> Callable[[Session, Staff, Org], dict[str, Any]]:
    def build(session: Session, staff: Staff, org: Org) -> dict[str, Any]:
        keys = org_service.keys(session, org=org)
        return {"keys": [(key, org_service.status(key, visit.now)) for key in keys], "created": created}

    return build


@router.get("/keys")
async def keys_page(visit: VisitDep) -> Response:
    return await visit.page("keys.html", _keys(visit))


@router.post("/keys")
async def issue_key(visit: VisitDep) -> Response:
    """A new key, shown on the answer to this form only: the page after it shows its prefix alone."""
    return await _shown_once(visit, lambda: keys_api.issue_key(visit.call(Write("key.issued"))))


@router.post("/keys/{key_id}/rotate")
async def rotate_key(key_id: str, visit: VisitDep) -> Response:
    found = path_id(key_id)
    call = visit.call(Write("key.rotated", {"key": str(found)}))
    return await _shown_once(visit, lambda: keys_api.rotate_key(found, call, None))


async def _shown_once(visit: Visit, make: Callable[[], Any]) -> Response:
    try:
        created: KeyRead = await make()
    except FormInvalid as refused:
        return await visit.page("keys.html", _with(_keys(visit), errors=refused.errors), status=422)
    return await visit.page("keys.html", _keys(visit, created), status=201)


def _with(
    build: Callable[[Session, Staff, Org], dict[str, Any]], **extra: Any
) -> Callable[[Session, Staff, Org], dict[str, Any]]:
    return lambda session, staff, org: {**build(session, staff, org), **extra}


@router.post("/keys/{key_id}/revoke")
async def revoke_key(key_id: str, visit: VisitDep) -> Response:
    """Revoke a key at once; the org's last live key is refused, as the API refuses it."""
    found = path_id(key_id)
    call = visit.call(Write("key.revoked", {"key": str(found)}))

    async def pending() -> str:
        await keys_api.revoke_key(found, call, allow_last=False)
        return "/console/keys?done=revoked"

    return await visit.then(pending(), template="keys.html", build=_keys(visit))


# ---- the ledger ----------------------------------------------------------------------------------


def _ledger(report: chain.ChainReport | None = None) -> Callable[[Session, Staff, Org], dict[str, Any]]:
    def build(session: Session, staff: Staff, org: Org) -> dict[str, Any]:
        return {
            "chain": org.chain,
            "head": console_service.head(session, org=org),
            "checkpoint": console_service.last_checkpoint(session, org=org),
            "report": report,
        }

    return build


@router.get("/ledger")
async def ledger_page(visit: VisitDep) -> Response:
    return await visit.page("ledger.html", _ledger())


@router.post("/ledger/verify")
async def verify(visit: VisitDep) -> Response:
    """Any staff member may: it reads the chain and changes nothing (so nothing is entered in it). The
    walk runs on a read-only session of its own, off the writer: a long chain holds up no one's writes."""
    hub = visit.hub
    org_id = await visit.unit(lambda session, staff, org: org.id, posted=True)

    def walk(session: Session) -> chain.ChainReport:
        org = session.get_one(Org, org_id)
        return console_service.verify(session, org=org, keys=hub.keys, every=hub.settings.checkpoint_every)

    report = await run_in_threadpool(hub.read, walk)
    return await visit.page("ledger.html", _ledger(report))
