"""The catalogue: offers (list, view, edit, retire) through the offers service the API uses; the
notices with every version and its sha256; the question bank."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from harken.consent import service as consent_service
from harken.consent.purposes import CATALOGUE
from harken.consent.schemas import Channel
from harken.console import service as console_service
from harken.console.models import Staff
from harken.console.visit import NOT_FOUND, FormInvalid, PageError, Visit, VisitDep, Write, text_field
from harken.context.schemas import Situation
from harken.decisions import service as decision_service
from harken.decisions.schemas import OfferPut
from harken.errors import NotFound
from harken.orgs import catalogue
from harken.orgs.models import Org
from harken.profiling.models import Question
from harken.subjects.schemas import REF_PATTERN

router = APIRouter(prefix="/console", include_in_schema=False)
SHOWN = 500  # catalogues are short; past this, the API pages through them
ITEM = re.compile(REF_PATTERN)  # an offer id is an Item: the same letters as a ref
# A new offer's form: the API's defaults, with no title yet.
BLANK = {**OfferPut(title="-").model_dump(mode="json"), "title": ""}
LABELS = {
    "id": "Offer id",
    "title": "Title",
    "topics": "Topics",
    "personas": "Personas",
    "channels": "Channels",
    "situations": "Situations it fits",
    "purpose": "Purpose",
    "item": "Item it sells",
    "countries": "Countries",
    "locales": "Languages",
    "suppress_days": "Days held back after a purchase or dismissal",
}
LISTS = ("topics", "personas", "countries", "locales")  # typed as comma-separated words


# ---- offers --------------------------------------------------------------------------------------


@router.get("/offers")
async def offers_page(visit: VisitDep) -> Response:
    def build(session: Session, staff: Staff, org: Org) -> dict[str, Any]:
        found = decision_service.offers(session, org=org, after=None, limit=SHOWN)
        return {"offers": found[:SHOWN], "more": len(found) > SHOWN}

    return await visit.page("offers.html", build)


def _offer_form(offer_id: str | None) -> Callable[[Session, Staff, Org], dict[str, Any]]:
    def build(session: Session, staff: Staff, org: Org) -> dict[str, Any]:
        offer = decision_service.get_offer(session, org=org, offer_id=offer_id) if offer_id else None
        return {
            "offer": offer,
            "spec": offer.spec if offer else BLANK,
            "channels": [c.value for c in Channel],
            "situations": [s.value for s in Situation],
            "purposes": list(CATALOGUE),
            "lists": LISTS,
            "labels": LABELS,
        }

    return build


@router.get("/offers/new")
async def new_offer_page(visit: VisitDep) -> Response:
    return await visit.page("offer.html", _offer_form(None))


@router.get("/offers/{offer_id}")
async def offer_page(offer_id: str, visit: VisitDep) -> Response:
    return await visit.page("offer.html", _offer_form(_item(offer_id)))


@router.post("/offers")
async def create_offer(visit: VisitDep) -> Response:
    form = await visit.request.form()
    offer_id = (text_field(form.get("id")) or "").strip()
    return await _save(visit, offer_id, form, new=True)


@router.post("/offers/{offer_id}")
async def edit_offer(offer_id: str, visit: VisitDep) -> Response:
    offer_id = _item(offer_id)
    return await _save(visit, offer_id, await visit.request.form(), new=False)


async def _save(visit: Visit, offer_id: str, form: FormData, *, new: bool) -> Response:
    def work(session: Session, staff: Staff, org: Org) -> str:
        if new:
            if not _is_item(offer_id):
                raise FormInvalid(
                    {"id": "1 to 128 letters, digits and . _ : @ + -, starting with a letter or digit"}
                )
            if _exists(session, org, offer_id):
                raise FormInvalid({"id": f"there is an offer {offer_id!r} already: edit it instead"})
        else:
            decision_service.get_offer(session, org=org, offer_id=offer_id)  # another org's is not here
        try:
            body = OfferPut.model_validate(_spec(form))
        except ValidationError as error:
            raise FormInvalid({str(e["loc"][0]): e["msg"] for e in error.errors()}) from error
        decision_service.put_offer(session, org=org, offer_id=offer_id, body=body, now=visit.now)
        return f"/console/offers/{quote(offer_id, safe='')}?done=saved"

    return await visit.act(
        work,
        Write("offer.saved", {"offer": offer_id}),
        template="offer.html",
        build=_offer_form(None if new else offer_id),
    )


def _exists(session: Session, org: Org, offer_id: str) -> bool:
    try:
        decision_service.get_offer(session, org=org, offer_id=offer_id)
    except NotFound:
        return False
    return True


def _spec(form: FormData) -> dict[str, Any]:
    """The offer as the API takes it, from the form's fields (words typed comma-separated)."""
    picked = form.getlist
    spec: dict[str, Any] = {
        "title": (text_field(form.get("title")) or "").strip(),
        "channels": [c for c in picked("channels") if isinstance(c, str)],
        "situations": [s for s in picked("situations") if isinstance(s, str)],
        "purpose": text_field(form.get("purpose")) or None,
        "sensitive": form.get("sensitive") == "on",
        "item": (text_field(form.get("item")) or "").strip() or None,
        "suppress_days": (text_field(form.get("suppress_days")) or "").strip() or 30,
    }
    for name in LISTS:
        spec[name] = [word.strip() for word in (text_field(form.get(name)) or "").split(",") if word.strip()]
    return spec


@router.post("/offers/{offer_id}/retire")
async def retire_offer(offer_id: str, visit: VisitDep) -> Response:
    """Out of the catalogue: decisions cannot name it from now on; past decisions keep its id, and the
    ledger entry keeps what it was."""
    offer_id = _item(offer_id)

    write = Write("offer.retired", {"offer": offer_id})

    def work(session: Session, staff: Staff, org: Org) -> str:
        offer = decision_service.get_offer(session, org=org, offer_id=offer_id)
        write.target["was"] = console_service.retire_offer(session, offer=offer)
        return "/console/offers?done=retired"

    return await visit.act(work, write, template="offer.html", build=_offer_form(offer_id))


def _is_item(value: str) -> bool:
    return ITEM.fullmatch(value) is not None


def _item(value: str) -> str:
    """An offer id from the address bar; anything that cannot be one is simply not here."""
    if not _is_item(value):
        raise PageError(404, NOT_FOUND)
    return value


# ---- notices and questions ------------------------------------------------------------------------


@router.get("/notices")
async def notices_page(visit: VisitDep) -> Response:
    def build(session: Session, staff: Staff, org: Org) -> dict[str, Any]:
        found = consent_service.notices(session, org=org, purpose=None, after=None, limit=SHOWN)
        by_purpose: dict[str, list[Any]] = {}
        for notice in found[:SHOWN]:
            by_purpose.setdefault(notice.purpose, []).append(notice)
        for versions in by_purpose.values():
            versions.reverse()  # the newest first: the one shown now
        return {"notices": by_purpose, "more": len(found) > SHOWN}

    return await visit.page("notices.html", build)


@router.get("/questions")
async def questions_page(visit: VisitDep) -> Response:
    def build(session: Session, staff: Staff, org: Org) -> dict[str, Any]:
        found = catalogue.page(session, Question, org=org, after=None, limit=SHOWN)
        return {"questions": found[:SHOWN], "more": len(found) > SHOWN}

    return await visit.page("questions.html", build)
