"""The Preference Centre's pages: server-rendered, plain forms, POST-redirect-GET; no script needed.
Right now, Businesses and Consents here; Shares in web_shares.py; Credentials in web_credentials.py;
Preferences and My data in web_profile.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from harken.centre import service as centre
from harken.centre import (
    signin,
    web_credentials,
    web_grants,
    web_profile,
    web_shares,
    web_sign_in,
    web_terms,
)
from harken.centre.visit import (
    CHANNELS,
    SESSION_COOKIE,
    PageError,
    SignInRequired,
    Visit,
    VisitDep,
    customer_zone,
    download,
    path_id,
    safe_next,
    static,
    text_field,
)
from harken.consent.purposes import CATALOGUE
from harken.consent.schemas import Channel, Status
from harken.context import service as context_service
from harken.context.schemas import ContextPut, Intent, PersonaPut, Situation
from harken.context.service import Change
from harken.errors import Invalid, NotFound
from harken.ledger.receipts import sign_receipt
from harken.profiling import service as profiling_service
from harken.subjects import service as subject_service
from harken.subjects.viewer import Viewer

router = APIRouter(prefix="/centre", include_in_schema=False)


@router.post("/sign-out")
async def sign_out(visit: VisitDep) -> Response:
    def work(session: Session, viewer: Viewer) -> str:
        signin.end_session(
            session,
            secret=visit.hub.secret,
            cookie=visit.request.cookies.get(SESSION_COOKIE, ""),
            now=visit.now,
        )
        return "/centre/sign-in?done=signed-out"

    response = await visit.act(work, template="now.html", build=lambda s, v: _now(s, v, visit.now))
    response.delete_cookie(SESSION_COOKIE, path="/centre")
    return response


# ---- right now -----------------------------------------------------------------------------------


def _now(session: Session, viewer: Viewer, now: datetime) -> dict[str, Any]:
    rows = centre.facts(session, viewer, now)
    mine = centre.declared(rows)
    context = mine.get("context")
    personas = {k.partition(":")[2]: f.value for k, f in mine.items() if k.startswith("persona:")}
    return {
        "context": context.value if context else None,
        "until": context.valid_until if context else None,
        "personas": personas,
        "intents": [i.value for i in Intent],
        "situations": [s.value for s in Situation],
    }


@router.get("")
async def now_page(visit: VisitDep) -> Response:
    return await visit.page("now.html", lambda s, v: _now(s, v, visit.now))


@router.post("/now")
async def set_now(visit: VisitDep) -> Response:
    form = await visit.request.form()
    field, value = text_field(form.get("field")) or "", text_field(form.get("value")) or ""
    now = visit.now

    def work(session: Session, viewer: Viewer) -> str:
        mine = centre.declared(centre.facts(session, viewer, now))
        current = dict(mine["context"].value) if "context" in mine else {}
        if field == "clear":
            changes = [Change("context", None)]
        else:
            changes = context_service.context_changes(
                _next_context(current, field, value, now, customer_zone(mine)), now
            )
        centre.declare(session, viewer, changes, visit.hub.notary, now)
        return "/centre?done=context"

    return await visit.act(work, template="now.html", build=lambda s, v: _now(s, v, now))


def _next_context(
    current: dict[str, Any], field: str, value: str, now: datetime, zone: ZoneInfo
) -> ContextPut:
    """The context after one tap: the tapped field set (or unset, when tapped again), the rest kept."""
    dnd = current.get("do_not_disturb_until")
    kept: dict[str, Any] = {
        "persona": current.get("persona"),
        "intent": current.get("intent"),
        "situation": current.get("situation"),
        "topics": current.get("topics") or [],
        "do_not_disturb_until": dnd if dnd and datetime.fromisoformat(dnd) > now else None,
    }
    if field in ("persona", "intent", "situation"):
        kept[field] = None if kept[field] == value else value
    elif field == "topics":
        kept["topics"] = [t.strip().lower() for t in value.split(",") if t.strip()]
    elif field == "dnd":
        kept["do_not_disturb_until"] = _dnd_until(value, now, zone)
    else:
        raise Invalid("field", "invalid.choose")
    return ContextPut.model_validate(kept)


def _dnd_until(choice: str, now: datetime, zone: ZoneInfo) -> datetime | None:
    if choice == "off":
        return None
    if choice in ("1h", "3h"):
        return now + timedelta(hours=int(choice[0]))
    if choice == "tomorrow":
        local = now.astimezone(zone)
        return datetime.combine(local.date() + timedelta(days=1), time(8, 0), tzinfo=zone)
    raise Invalid("value", "invalid.choose")


@router.post("/personas")
async def add_persona(visit: VisitDep) -> Response:
    form = await visit.request.form()
    label = (text_field(form.get("label")) or "").strip()
    key = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:64] or "persona"
    interests = [t.strip().lower() for t in (text_field(form.get("interests")) or "").split(",") if t.strip()]
    now = visit.now

    def work(session: Session, viewer: Viewer) -> str:
        body = PersonaPut.model_validate({"label": label, "interests": interests})
        centre.declare(session, viewer, context_service.persona_change(key, body), visit.hub.notary, now)
        return "/centre?done=saved"

    return await visit.act(work, template="now.html", build=lambda s, v: _now(s, v, now))


@router.post("/personas/{key}/remove")
async def remove_persona(key: str, visit: VisitDep) -> Response:
    now = visit.now

    def work(session: Session, viewer: Viewer) -> str:
        if f"persona:{key}" not in centre.declared(centre.facts(session, viewer, now)):
            raise NotFound("no such persona")
        centre.declare(session, viewer, context_service.persona_change(key, None), visit.hub.notary, now)
        return "/centre?done=saved"

    return await visit.act(work, template="now.html", build=lambda s, v: _now(s, v, now))


# ---- businesses ----------------------------------------------------------------------------------


def _businesses(visit: Visit) -> Callable[[Session, Viewer], dict[str, Any]]:
    def build(session: Session, viewer: Viewer) -> dict[str, Any]:
        views = centre.business_views(session, viewer, visit.now)
        mine = centre.declared(centre.facts(session, viewer, visit.now))
        locale = visit.translator(str(mine["locale"].value["value"]) if "locale" in mine else None).locale
        questions = {}
        for view in views:
            if centre.erasure_requested(session, viewer) is None:
                questions[view.business.org.id] = profiling_service.next_question(
                    session,
                    org=view.business.org,
                    ref=view.business.ref,
                    locale=locale,
                    cadence=timedelta(days=visit.hub.settings.profiling_cadence_days),
                    now=visit.now,
                )
        claims = subject_service.claims(session, person_id=viewer.subject_id) if viewer.org_id is None else []
        return {"views": views, "questions": questions, "purposes": CATALOGUE, "claims": claims}

    return build


@router.get("/businesses")
async def businesses_page(visit: VisitDep) -> Response:
    return await visit.page("businesses.html", _businesses(visit))


@router.post("/businesses/{org_id}/sharing")
async def set_sharing(org_id: str, visit: VisitDep) -> Response:
    org = path_id(org_id)
    form = await visit.request.form()

    def work(session: Session, viewer: Viewer) -> str:
        centre.set_sharing(
            session,
            viewer,
            org,
            profile=form.get("profile") == "on",
            purchases=form.get("purchases") == "on",
            notary=visit.hub.notary,
            now=visit.now,
        )
        return "/centre/businesses?done=sharing"

    return await visit.act(work, template="businesses.html", build=_businesses(visit))


@router.post("/links/{org_id}/{answer}")
async def answer_claim(org_id: str, answer: str, visit: VisitDep) -> Response:
    """The verified person answers a business's claim: "yes, that's me" links its customer to them,
    "no" drops the claim, "unlink" takes a link back. Only the verified person may; a claim that is
    not theirs is the same 404 as none."""
    org = path_id(org_id)
    done = {"confirm": "linked", "refuse": "refused", "unlink": "unlinked"}.get(answer)
    if done is None:
        raise PageError(404, "error.not_found")
    form = await visit.request.form()

    def work(session: Session, viewer: Viewer) -> str:
        ref = text_field(form.get("ref")) or ""
        centre.answer_claim(session, viewer, org, ref, answer, notary=visit.hub.notary, now=visit.now)
        return f"/centre/businesses?done={done}"

    return await visit.act(work, template="businesses.html", build=_businesses(visit))


@router.post("/businesses/{org_id}/answer")
async def answer_question(org_id: str, visit: VisitDep) -> Response:
    org = path_id(org_id)
    form = await visit.request.form()
    option = None if form.get("decline") else text_field(form.get("option"))

    def work(session: Session, viewer: Viewer) -> str:
        found = centre.business(session, viewer, org)
        if option is None and not form.get("decline"):
            raise Invalid("option", "invalid.answer")
        outcome, _ = profiling_service.answer(
            session,
            org=found.org,
            ref=found.ref,
            question_id=text_field(form.get("question_id")) or "",
            option=option,
            notary=visit.hub.notary,
            now=visit.now,
        )
        return f"/centre/businesses?done={outcome}"

    return await visit.act(work, template="businesses.html", build=_businesses(visit))


# ---- consents ------------------------------------------------------------------------------------


def _consents(visit: Visit) -> Callable[[Session, Viewer], dict[str, Any]]:
    def build(session: Session, viewer: Viewer) -> dict[str, Any]:
        return {
            "sections": [
                (b, centre.consent_views(session, viewer, b, visit.now))
                for b in centre.businesses(session, viewer)
            ],
            "purposes": CATALOGUE,
            "channels": [c.value for c in Channel],
        }

    return build


@router.get("/consents")
async def consents_page(visit: VisitDep) -> Response:
    return await visit.page("consents.html", _consents(visit))


@router.post("/consents/{org_id}/{purpose}")
async def decide_consent(org_id: str, purpose: str, visit: VisitDep) -> Response:
    org = path_id(org_id)
    form = await visit.request.form()
    decision = text_field(form.get("decision"))
    picked = [c for c in form.getlist("channels") if isinstance(c, str)]

    def work(session: Session, viewer: Viewer) -> str:
        if decision not in ("grant", "withdraw"):
            raise Invalid("decision", "invalid.choose")
        channels = [Channel(c) for c in picked if c in CHANNELS]
        if decision == "grant" and not channels and purpose != "analytics":
            raise Invalid("channels", "invalid.channels")
        centre.decide_consent(
            session,
            viewer,
            org,
            purpose,
            status=Status.granted if decision == "grant" else Status.withdrawn,
            channels=channels,
            notary=visit.hub.notary,
            now=visit.now,
        )
        return "/centre/consents?done=consent"

    return await visit.act(work, template="consents.html", build=_consents(visit))


@router.get("/receipts/{record_id}")
async def download_receipt(record_id: str, visit: VisitDep) -> Response:
    record, issuer = path_id(record_id), visit.hub.settings.public_url

    def unit(session: Session) -> dict[str, Any]:
        return centre.receipt(session, visit.viewer_in(session), record, issuer)

    document = await visit.guarded(unit)
    body = {"receipt": document, "jws": sign_receipt(document, visit.hub.keys)}
    return download(body, f"receipt-{record_id}.json")


FAVICON = (Path(__file__).parent / "static" / "favicon.svg").read_bytes()
icon = APIRouter(include_in_schema=False)


@icon.get("/favicon.ico")
async def favicon() -> Response:
    """Public, no credential: the hub's icon, for browsers that ask for it at the root whatever the
    page links (the centre's pages link /centre/static/favicon.svg)."""
    return Response(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


fallback = APIRouter(prefix="/centre", include_in_schema=False)  # included last: unknown paths


@fallback.api_route("/{rest:path}", methods=["GET", "POST"])
async def unknown(rest: str) -> Response:
    raise PageError(404, "error.not_found")


def install(app: FastAPI) -> None:
    """Mount the centre: its static files, its pages, and its errors as pages rather than JSON."""
    app.mount("/centre/static", static, name="centre-static")
    for pages in (
        icon,
        web_sign_in.router,
        router,
        web_shares.router,
        web_terms.router,
        web_credentials.router,
        web_grants.router,
        web_profile.router,
        fallback,
    ):
        app.include_router(pages)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(f"/centre/sign-in?next={quote(safe_next(exc.next_path))}", status_code=303)

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError) -> Response:
        visit = Visit(request.app.state.hub, request)
        return visit.anonymous("message.html", status=exc.status, title_key="error.title", body_key=exc.key)
