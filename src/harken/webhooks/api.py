"""Webhook endpoints and their deliveries, for an org's systems."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from harken.deps import Now
from harken.errors import PROBLEM_RESPONSES, Invalid
from harken.orgs.api import Call
from harken.orgs.models import Org
from harken.webhooks import service
from harken.webhooks.models import Attempt, Delivery, Endpoint, OutboxEvent
from harken.webhooks.schemas import (
    AttemptRead,
    DeliveryRead,
    EndpointCreated,
    EndpointPost,
    EndpointRead,
    Replayed,
    ReplayPost,
)

router = APIRouter(tags=["webhooks"], responses=PROBLEM_RESPONSES)


def _endpoint(found: Endpoint) -> EndpointRead:
    return EndpointRead.model_validate(found, from_attributes=True)


def _delivery(delivery: Delivery, event: OutboxEvent, attempts: list[Attempt]) -> DeliveryRead:
    """Not from_attributes: a delivery is read from two rows, and its next attempt only while pending."""
    return DeliveryRead(
        id=delivery.id,
        webhook_id=event.id,
        type=event.type,
        endpoint_id=delivery.endpoint_id,
        status=delivery.status,
        created_at=delivery.created_at,
        next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
        delivered_at=delivery.delivered_at,
        attempts=[AttemptRead.model_validate(a, from_attributes=True) for a in attempts],
    )


@router.post("/v1/webhooks", response_model=EndpointCreated, status_code=201)
async def subscribe(body: EndpointPost, call: Call, now: Now) -> EndpointCreated:
    """Subscribe an endpoint to event types. Payloads carry only what you may see of the customer.
    The URL must lead to a public address: loopback, private, link-local (cloud metadata), shared,
    multicast and reserved addresses are refused (422), here and again at every delivery."""
    allowed = call.hub.settings.webhook_allowed_networks

    def work(session: Session, org: Org) -> EndpointCreated:
        events = [str(e) for e in body.events]
        found, secret = service.subscribe(
            session, org=org, url=str(body.url), events=events, allowed=allowed, now=now
        )
        return EndpointCreated(**_endpoint(found).model_dump(), secret=secret)

    return await call(work)


@router.get("/v1/webhooks", response_model=list[EndpointRead])
async def list_endpoints(call: Call) -> list[EndpointRead]:
    return await call(lambda session, org: [_endpoint(e) for e in service.endpoints(session, org=org)])


@router.delete("/v1/webhooks/{endpoint_id}", status_code=204)
async def delete_endpoint(endpoint_id: uuid.UUID, call: Call, now: Now) -> Response:
    await call(lambda session, org: service.delete(session, org=org, endpoint_id=endpoint_id, now=now))
    return Response(status_code=204)


@router.get("/v1/webhooks/deliveries", response_model=list[DeliveryRead])
async def list_deliveries(
    call: Call,
    endpoint_id: uuid.UUID | None = None,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|dead|disabled)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryRead]:
    """Your deliveries, newest first, each with every attempt."""

    def work(session: Session, org: Org) -> list[DeliveryRead]:
        if endpoint_id is not None:
            service.endpoint(session, org=org, endpoint_id=endpoint_id)
        found = service.deliveries(session, org=org, endpoint_id=endpoint_id, status=status, limit=limit)
        return [_delivery(*row) for row in found]

    return await call(work)


@router.post("/v1/webhooks/deliveries/{delivery_id}/replay", response_model=DeliveryRead, status_code=201)
async def replay_delivery(delivery_id: uuid.UUID, call: Call, now: Now) -> DeliveryRead:
    """Send a delivery's event again (the same `webhook-id`, so a receiver that has it can ignore it)."""

    def work(session: Session, org: Org) -> DeliveryRead:
        again = service.replay(session, org=org, delivery_id=delivery_id, now=now)
        return _delivery(again, session.get_one(OutboxEvent, again.event_seq), [])

    return await call(work)


@router.post("/v1/webhooks/{endpoint_id}/replay", response_model=Replayed)
async def replay_range(endpoint_id: uuid.UUID, body: ReplayPost, call: Call, now: Now) -> Replayed:
    """Send again every event of this endpoint created in [since, until)."""
    if body.until <= body.since:
        raise Invalid("until", "must be later than since")

    def work(session: Session, org: Org) -> Replayed:
        count = service.replay_range(
            session, org=org, endpoint_id=endpoint_id, since=body.since, until=body.until, now=now
        )
        return Replayed(deliveries=count)

    return await call(work)
