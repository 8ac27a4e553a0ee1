"""Customers: found by the org's own ref, shown exactly as the org API shows them — the minimised view
of GET /v1/subjects/{ref}, the consent history with its receipts — and the decisions asked about them."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from harken.centre.visit import download
from harken.consent import api as consent_api
from harken.console import service as console_service
from harken.console.models import Staff
from harken.console.visit import NOT_FOUND, PageError, VisitDep
from harken.context import api as context_api
from harken.orgs.models import Org
from harken.subjects.schemas import REF_PATTERN

router = APIRouter(prefix="/console", include_in_schema=False)
REF = re.compile(REF_PATTERN)
HISTORY = 100  # records shown; the API pages through the rest
DECISIONS = 50


@router.get("/customers")
async def customers_page(visit: VisitDep, ref: str | None = None) -> Response:
    """The search: a ref that can be one goes to its customer's page (a 404 there if there is none)."""
    wanted = (ref or "").strip()
    if wanted and REF.fullmatch(wanted):
        return RedirectResponse(f"/console/customers/{quote(wanted, safe='')}", status_code=303)
    errors = {"ref": "A ref has 1 to 128 letters, digits and . _ : @ + -, starting with a letter or digit."}
    return await visit.page(
        "customers.html",
        lambda s, st, o: {
            "ref": wanted,
            "errors": errors if wanted else {},
            "labels": {"ref": "Customer ref"},
        },
        status=422 if wanted else 200,
    )


@router.get("/customers/{ref}")
async def customer_page(ref: str, visit: VisitDep) -> Response:
    if not REF.fullmatch(ref):
        raise PageError(404, NOT_FOUND)
    call = visit.call()
    view = await context_api.get_subject(ref, call, visit.now)  # the very view the org's key gets
    history = await consent_api.consent_history(ref, call, purpose=None, limit=HISTORY, cursor=None)

    def build(session: Session, staff: Staff, org: Org) -> dict[str, Any]:
        return {
            "view": view,
            "history": history.items,
            "more_history": history.next_cursor is not None,
            "decisions": console_service.decisions_asked(session, org=org, ref=ref, limit=DECISIONS),
        }

    return await visit.page("customer.html", build)


@router.get("/receipts/{record_id}")
async def receipt(record_id: str, visit: VisitDep) -> Response:
    """The record's signed receipt, as GET /v1/receipts/{id} gives it to the org."""
    try:
        found = uuid.UUID(record_id)
    except ValueError:
        raise PageError(404, NOT_FOUND) from None
    signed = await consent_api.get_receipt(found, visit.call())
    return download(signed.model_dump(mode="json"), f"receipt-{found}.json")
