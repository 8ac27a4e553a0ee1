"""`/metrics` (Prometheus, for the operator) and `/readyz` (for the orchestrator): outside /v1, so
neither is rate-limited nor takes an org's credential.

Who may scrape (`admitted`): with HARKEN_METRICS_TOKEN set, whoever sends it as a bearer token, from
anywhere; without it, only the addresses in HARKEN_METRICS_ALLOW (loopback unless set otherwise).
A request relayed by a proxy (it carries X-Forwarded-For, Forwarded or X-Real-IP) is never let in
by address: behind a reverse proxy on the same machine every client would look like loopback. A
refusal is a problem: 401 (with `WWW-Authenticate`) when a token is set, so the operator sees their
scraper's token is wrong; 404 when none is, the same answer as for a path the hub does not have.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from alembic.runtime.migration import MigrationContext
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import BaseModel
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from harken import schema
from harken.config import Settings
from harken.deps import Hub, HubDep
from harken.edge.address import client_address
from harken.errors import PROBLEM_JSON, Problem
from harken.ledger.models import LedgerHead
from harken.observe import metrics
from harken.problems import problem_response
from harken.webhooks.models import Delivery

router = APIRouter(tags=["ops"])

LOOPBACK = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]
RELAYED = (b"x-forwarded-for", b"forwarded", b"x-real-ip")


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text exposition."},
        401: _problem("HARKEN_METRICS_TOKEN is set and the request's bearer token is missing or not it."),
        404: _problem("No token is set and the client's address is not in HARKEN_METRICS_ALLOW."),
    },
)
async def get_metrics(request: Request, hub: HubDep) -> Response:
    """The hub's Prometheus metrics, for the operator (see `admitted` for who may read them): requests
    by route template and status, decisions by outcome and reason code, engine time, consent writes,
    rate-limit refusals; ledger heads and the webhook outbox, read from the database now."""
    refused = admitted(request.scope, hub.settings)
    if refused is not None:
        return refused
    body = await run_in_threadpool(metrics.render, StoreGauges(hub))
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def admitted(scope: Scope, settings: Settings) -> Response | None:
    """None if this request may read /metrics, else the refusal."""
    token = settings.metrics_token
    if token is not None:
        bearer = _bearer(scope)
        if bearer is not None:
            if hmac.compare_digest(bearer.encode(), token.get_secret_value().encode()):
                return None
            return _unauthorized("that is not the metrics token")
    if _allowed_address(scope, settings):
        return None
    if token is not None:
        return _unauthorized("send the metrics token (HARKEN_METRICS_TOKEN) as `Authorization: Bearer …`")
    return problem_response(404, "not-found", "Not Found", "nothing here")


def _unauthorized(detail: str) -> Response:
    return problem_response(
        401,
        "unauthenticated",
        "Unauthenticated",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
    )


def _allowed_address(scope: Scope, settings: Settings) -> bool:
    if any(name in RELAYED for name, _ in scope["headers"]):
        return False
    allowed = settings.metrics_allow
    if allowed is None:
        allowed = LOOPBACK if settings.metrics_token is None else []
    try:
        address = ipaddress.ip_address(client_address(scope, settings))
    except ValueError:
        return False  # no peer address (a Unix socket, a test client): nothing to allow
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in allowed)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            return credential.strip() if scheme.lower() == "bearer" else None
    return None


class StoreGauges(Collector):
    """What the database holds, read at each scrape (two small reads): each ledger chain's head (one
    row per chain: per org, and the hub's own), and the webhook deliveries waiting, with the age of the
    oldest (through the index on status). Nothing is kept between scrapes."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def collect(self) -> Iterator[GaugeMetricFamily]:
        heads, (pending, oldest) = self.hub.read(_read)
        head = GaugeMetricFamily(
            "harken_ledger_head_seq",
            "The last entry's sequence number of each ledger chain.",
            labels=["chain"],
        )
        for chain, seq in heads:
            head.add_metric([chain], seq)
        yield head
        yield GaugeMetricFamily(
            "harken_outbox_pending", "Webhook deliveries not yet delivered (nor dead).", value=pending
        )
        age = 0.0 if oldest is None else max(0.0, (self.hub.clock() - _aware(oldest)).total_seconds())
        yield GaugeMetricFamily(
            "harken_outbox_oldest_pending_seconds",
            "Age of the oldest delivery still pending (0 when none is).",
            value=age,
        )


def _read(session: Session) -> tuple[list[tuple[str, int]], tuple[int, datetime | None]]:
    heads = [(chain, seq) for chain, seq in session.execute(select(LedgerHead.chain, LedgerHead.seq))]
    waiting = session.execute(
        select(func.count(), func.min(Delivery.created_at)).where(Delivery.status == "pending")
    ).one()
    return heads, (int(waiting[0]), waiting[1])


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: _problem("A check failed: `checks` says which, and why.")},
)
async def readyz(hub: HubDep) -> Any:
    """Whether this process can serve: the database answers, its schema is this Harken's (migrations
    current), the signing keys are loaded. 200 with each check; 503, a problem naming the failing
    check, otherwise."""
    checks = await run_in_threadpool(_checks, hub)
    failed = {name: said for name, said in checks.items() if said != "ok"}
    if not failed:
        return Readiness(status="ready", checks=checks)
    detail = "; ".join(f"{name}: {said}" for name, said in failed.items())
    problem = Problem(type="/problems/not-ready", title="Not ready", status=503, detail=detail)
    return JSONResponse(
        {**problem.model_dump(exclude_none=True), "checks": checks}, status_code=503, media_type=PROBLEM_JSON
    )


def _checks(hub: Hub) -> dict[str, str]:
    checks = {"database": "ok", "migrations": "ok", "keys": "ok"}
    try:
        found = hub.read(_revision)
    except Exception as exc:  # the kind only: a driver's message may hold the URL or a password
        checks["database"] = f"unreachable ({type(exc).__name__})"
        checks["migrations"] = "unknown (no database)"
    else:
        wanted = schema.head()
        if found != wanted:
            checks["migrations"] = f"the database is at {found or 'no schema'}, this Harken expects {wanted}"
    try:
        hub.keys.active.public_key()
    except Exception as exc:
        checks["keys"] = f"no active signing key ({type(exc).__name__})"
    return checks


def _revision(session: Session) -> str | None:
    session.execute(text("SELECT 1"))
    return MigrationContext.configure(session.connection()).get_current_revision()
