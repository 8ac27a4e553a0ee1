"""The Preference Centre's pages: server-rendered, plain forms, POST-redirect-GET; no script needed.

Every page runs as one unit of work that first finds the signed-in customer from the session cookie;
every form carries a CSRF token (the session's, or before sign-in one bound to the browser's cookie)
and is refused, changing nothing, without it.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from typing import Annotated, Any, TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from sqlalchemy.orm import Session

from harken.centre import i18n, signin
from harken.centre import service as centre
from harken.centre.service import Viewer
from harken.consent.purposes import CATALOGUE
from harken.consent.schemas import Channel, Status
from harken.context import service as context_service
from harken.context.schemas import ContextPut, Intent, PersonaPut, PreferencesPatch, Situation, time_zones
from harken.context.service import Change, StoredFact
from harken.deps import Hub, HubDep
from harken.errors import HarkenError, Invalid, NotFound
from harken.ledger.receipts import sign_receipt
from harken.orgs.models import Org
from harken.profiling import service as profiling_service
from harken.subjects import tokens
from harken.subjects.models import SubjectRef

T = TypeVar("T")
router = APIRouter(prefix="/centre", include_in_schema=False)
static = StaticFiles(packages=[("harken.centre", "static")])
templates = jinja2.Environment(
    loader=jinja2.PackageLoader("harken.centre", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["fromiso"] = datetime.fromisoformat
templates.filters["purpose_title"] = lambda key, t: t(f"purpose.{key}")
templates.filters["field_name"] = lambda key, t: _field_name(key, t)
templates.filters["channel_names"] = lambda channels, t: ", ".join(t(f"channel.{c}") for c in channels)

SESSION_COOKIE = "harken_centre"
BROWSER_COOKIE = "harken_browser"
LANG_COOKIE = "harken_lang"
NAV = (
    ("/centre", "nav.now"),
    ("/centre/businesses", "nav.businesses"),
    ("/centre/consents", "nav.consents"),
    ("/centre/preferences", "nav.preferences"),
    ("/centre/data", "nav.data"),
)
DONE = ("saved", "context", "consent", "sharing", "answered", "declined", "erasure", "erased", "signed-out")
NEXT_PATH = re.compile(r"/centre(/[A-Za-z0-9_-]+)*")
NEXT_QUERY = re.compile(r"[A-Za-z0-9_=&-]*")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
# The kinds of datum (the part of a key before ":"), each with its name in every catalogue.
KINDS = (
    "context",
    "persona",
    "interest",
    "channel",
    "quiet_hours",
    "time_zone",
    "locale",
    "country",
    "life_event",
    "novelty",
)
CHANNELS = frozenset(c.value for c in Channel)
AFFINITY = {"like": 1.0, "dislike": -0.5, "never": -1.0}
NOVELTY = {"never": 0.0, "sometimes": 0.5, "often": 1.0}
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _field_name(key: str, t: i18n.Translator) -> str:
    """A datum's key in words: "interest:thrillers" → "Interest: thrillers"."""
    kind, _, name = key.partition(":")
    label = t(f"kind.{kind}") if kind in KINDS else kind
    if kind == "channel" and name in CHANNELS:
        name = t(f"channel.{name}")
    return f"{label}: {name}" if name else label


class SignInRequired(Exception):
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class PageError(Exception):
    """A page that says what went wrong, in the customer's language, with a status."""

    def __init__(self, status: int, key: str) -> None:
        self.status, self.key = status, key


class FormInvalid(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a plain path inside the centre (no dots, no other host), else home."""
    path, _, query = (value or "").partition("?")
    if len(value or "") > 200 or not NEXT_PATH.fullmatch(path) or not NEXT_QUERY.fullmatch(query):
        return "/centre"
    return value or "/centre"


def form_errors(error: ValidationError | Invalid) -> dict[str, str]:
    if isinstance(error, Invalid):
        return {e.field: e.message for e in error.errors or []}
    return {".".join(str(p) for p in e["loc"]): e["msg"] for e in error.errors()}


@dataclass
class Visit:
    """One request to the centre: the hub, the browser's cookies and the customer's language."""

    hub: Hub
    request: Request

    @property
    def now(self) -> datetime:
        return self.hub.clock()

    def translator(self, declared_locale: str | None = None, zone: str | None = None) -> i18n.Translator:
        chosen = self.request.query_params.get("lang") or self.request.cookies.get(LANG_COOKIE)
        locale = i18n.negotiate(
            chosen=chosen,
            declared=declared_locale,
            accept_language=self.request.headers.get("accept-language"),
        )
        return i18n.Translator(locale, ZoneInfo(zone or "UTC"))

    def _viewer(self, session: Session) -> Viewer:
        cookie = self.request.cookies.get(SESSION_COOKIE)
        found = (
            signin.find_session(session, secret=self.hub.secret, cookie=cookie, now=self.now)
            if cookie
            else None
        )
        if found is None:
            raise SignInRequired(self.request.url.path)
        return Viewer(found.subject_id, found.org_id, found.csrf)

    async def page(
        self, template: str, build: Callable[[Session, Viewer], dict[str, Any]], *, status: int = 200
    ) -> HTMLResponse:
        """A signed-in page: its data and the customer's own language and clock, read in one unit."""

        def unit(session: Session) -> tuple[Viewer, dict[str, Any], dict[str, StoredFact]]:
            viewer = self._viewer(session)
            mine = centre.declared(centre.facts(session, viewer, self.now))
            context = build(session, viewer)
            if viewer.org_id is not None:
                context.setdefault("window", session.get_one(Org, viewer.org_id).name)
            return viewer, context, mine

        viewer, context, mine = await self._guarded(unit)
        locale = mine.get("locale")
        zone = mine.get("time_zone")
        t = self.translator(
            str(locale.value["value"]) if locale else None, str(zone.value["value"]) if zone else None
        )
        done = self.request.query_params.get("done")
        return self.render(
            template,
            t,
            status=status,
            viewer=viewer,
            csrf=viewer.csrf,
            notice=t(f"done.{done}") if done in DONE else None,
            **{"window": None, **context},
        )

    async def act(
        self,
        work: Callable[[Session, Viewer], str],
        *,
        template: str,
        build: Callable[[Session, Viewer], dict[str, Any]],
    ) -> Response:
        """A signed-in form: CSRF checked, the work done in one unit (all or nothing), then a redirect
        to the page that shows the result; a refused form shows its page again with each field's error."""
        form = await self.request.form()
        self._same_origin()

        def unit(session: Session) -> str:
            viewer = self._viewer(session)
            if not signin.same_token(_text(form.get("csrf")), viewer.csrf):
                raise PageError(403, "error.csrf")
            return work(session, viewer)

        try:
            target = await self._guarded(unit)
        except FormInvalid as refused:
            errors = refused.errors
            return await self.page(template, lambda s, v: {**build(s, v), "errors": errors}, status=422)
        return RedirectResponse(target, status_code=303)

    async def _guarded(self, unit: Callable[[Session], T]) -> T:
        try:
            return await self.hub.run(unit)
        except (ValidationError, Invalid) as error:
            raise FormInvalid(form_errors(error)) from error
        except NotFound as error:
            raise PageError(404, "error.not_found") from error
        except HarkenError as error:
            raise FormInvalid({"form": error.detail}) from error

    def _same_origin(self) -> None:
        """Browsers name the page a form came from: a form posted from another site is refused."""
        origin = self.request.headers.get("origin")
        if origin is None or (
            origin == "null" and self.request.headers.get("sec-fetch-site") in (None, "same-origin")
        ):
            return
        own = {
            f"{self.request.url.scheme}://{self.request.url.netloc}",
            self.hub.settings.public_url.rstrip("/"),
        }
        if origin not in own:
            raise PageError(403, "error.csrf")

    def render(self, template: str, t: i18n.Translator, *, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("viewer", None)
        context.setdefault("csrf", None)
        context.setdefault("notice", None)
        context.setdefault("errors", {})
        context.setdefault("window", None)
        html = templates.get_template(template).render(
            t=t,
            lang=t.locale,
            locales=i18n.NAMES,
            nav=NAV,
            current=self.request.url.path,
            **context,
        )
        response = HTMLResponse(html, status_code=status, headers=HEADERS)
        chosen = self.request.query_params.get("lang")
        if chosen in i18n.LOCALES:
            self._cookie(response, LANG_COOKIE, chosen, max_age=365 * 86400)
        return response

    # ---- before sign-in: CSRF bound to the browser's own cookie ----

    def browser(self) -> tuple[str, bool]:
        existing = self.request.cookies.get(BROWSER_COOKIE)
        if existing and re.fullmatch(r"[A-Za-z0-9_-]{43}", existing):
            return existing, False
        return secrets.token_urlsafe(32), True

    def anonymous(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        browser, new = self.browser()
        response = self.render(
            template,
            self.translator(),
            status=status,
            csrf=signin.anonymous_csrf(self.hub.secret, browser),
            **context,
        )
        if new:
            self._cookie(response, BROWSER_COOKIE, browser, max_age=86400)
        return response

    async def check_anonymous(self) -> Mapping[str, Any]:
        form = await self.request.form()
        self._same_origin()
        browser = self.request.cookies.get(BROWSER_COOKIE)
        if not browser or not signin.same_token(
            _text(form.get("csrf")), signin.anonymous_csrf(self.hub.secret, browser)
        ):
            raise PageError(403, "error.csrf")
        return form

    def _cookie(self, response: Response, name: str, value: str, *, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/centre",
            httponly=True,
            samesite="lax",
            secure=self.hub.settings.public_url.startswith("https:"),
        )

    async def sign_in(self, start: Callable[[Session], tuple[signin.Started, str] | None]) -> Response:
        """Start a new session (ending the one this browser had: no fixation) and go where `start` says."""
        old = self.request.cookies.get(SESSION_COOKIE)

        def unit(session: Session) -> tuple[signin.Started, str] | None:
            if old:
                signin.end_session(session, secret=self.hub.secret, cookie=old, now=self.now)
            return start(session)

        outcome = await self.hub.run(unit)
        if outcome is None:
            return self.anonymous(
                "message.html", status=400, title_key="link.invalid_title", body_key="link.invalid"
            )
        started, target = outcome
        response = RedirectResponse(target, status_code=303)
        self._cookie(
            response,
            SESSION_COOKIE,
            started.cookie,
            max_age=int((started.session.expires_at - self.now).total_seconds()),
        )
        return response


async def get_visit(hub: HubDep, request: Request) -> Visit:
    return Visit(hub, request)


VisitDep = Annotated[Visit, Depends(get_visit)]


def _uuid(value: str) -> uuid.UUID:
    """An id from the address bar; anything that is not one is simply not here."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise PageError(404, "error.not_found") from None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


# ---- signing in ------------------------------------------------------------------------------------


@router.get("/sign-in")
async def sign_in_page(visit: VisitDep, next: str | None = None) -> Response:
    done = visit.request.query_params.get("done")
    return visit.anonymous(
        "sign_in.html",
        next=safe_next(next),
        email="",
        notice=visit.translator()(f"done.{done}") if done in DONE else None,
    )


@router.post("/sign-in")
async def request_link(visit: VisitDep, background: BackgroundTasks) -> Response:
    form = await visit.check_anonymous()
    email = (_text(form.get("email")) or "").strip()
    next_path = safe_next(_text(form.get("next")))
    if len(email) > 254 or not EMAIL.match(email):
        return visit.anonymous(
            "sign_in.html", status=422, next=next_path, email=email, errors={"email": "sign_in.email_invalid"}
        )
    ip = visit.request.client.host if visit.request.client else "unknown"
    hub, t = visit.hub, visit.translator()

    def unit(session: Session) -> str | None:
        return signin.request_link(
            session, secret=hub.secret, email=email, ip=ip, next_path=next_path, now=visit.now
        )

    try:
        token = await hub.run(unit)
    except signin.RateLimited as limited:
        minutes = max(1, round(limited.retry_after.total_seconds() / 60))
        response = visit.anonymous(
            "message.html", status=429, title_key="limit.title", body_key="limit.body", minutes=minutes
        )
        response.headers["Retry-After"] = str(int(limited.retry_after.total_seconds()) + 1)
        return response
    if token is not None:  # sent after the answer, so an unknown address answers just as fast
        background.add_task(hub.mailer.send, _link_message(hub, t, email, token))
    return RedirectResponse("/centre/sign-in/sent", status_code=303)


def _link_message(hub: Hub, t: i18n.Translator, email: str, token: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = hub.settings.mail_from
    message["To"] = email
    message["Subject"] = t("mail.subject")
    link = f"{hub.settings.public_url.rstrip('/')}/centre/link/{token}"
    message.set_content(t("mail.body", link=link, minutes=int(signin.LINK_LIFETIME.total_seconds() // 60)))
    return message


@router.get("/sign-in/sent")
async def link_sent(visit: VisitDep) -> Response:
    return visit.anonymous("message.html", title_key="sent.title", body_key="sent.body", minutes=15)


@router.get("/link/{token}")
async def open_link(token: str, visit: VisitDep) -> Response:
    """Shows a button rather than signing in on GET: mail scanners that follow links cannot use it up."""
    usable = await visit.hub.run(lambda session: signin.peek_link(session, token, visit.now) is not None)
    if not usable:
        return visit.anonymous(
            "message.html", status=400, title_key="link.invalid_title", body_key="link.invalid"
        )
    return visit.anonymous("confirm.html", action="/centre/link", token=token, org=None)


@router.post("/link")
async def use_link(visit: VisitDep) -> Response:
    form = await visit.check_anonymous()
    token = _text(form.get("token")) or ""
    hub = visit.hub

    def start(session: Session) -> tuple[signin.Started, str] | None:
        link = signin.use_link(session, token, visit.now)
        if link is None or link.subject_id is None:
            return None
        started = signin.start_session(
            session,
            secret=hub.secret,
            subject_id=link.subject_id,
            org_id=None,
            lifetime=_lifetime(hub),
            now=visit.now,
        )
        return started, safe_next(link.next_path)

    return await visit.sign_in(start)


def _lifetime(hub: Hub) -> timedelta:
    return timedelta(hours=hub.settings.centre_session_hours)


@router.get("/from-app")
async def from_app(visit: VisitDep, token: str = "") -> Response:
    """An org's app opens the centre with a customer token: the customer confirms, and sees that org's window."""
    claims = tokens.read(visit.hub.secret, token, visit.now)
    name = await visit.hub.run(lambda session: _org_name(session, claims)) if claims else None
    if name is None:
        return visit.anonymous(
            "message.html", status=400, title_key="link.invalid_title", body_key="link.invalid"
        )
    return visit.anonymous("confirm.html", action="/centre/from-app", token=token, org=name)


def _org_name(session: Session, claims: tokens.CustomerClaims) -> str | None:
    org = session.get(Org, claims.org_id)
    return org.name if org else None


@router.post("/from-app")
async def open_from_app(visit: VisitDep) -> Response:
    form = await visit.check_anonymous()
    claims = tokens.read(visit.hub.secret, _text(form.get("token")) or "", visit.now)
    hub = visit.hub

    def start(session: Session) -> tuple[signin.Started, str] | None:
        ref = session.get(SubjectRef, (claims.org_id, claims.ref)) if claims else None
        if ref is None:
            return None
        started = signin.start_session(
            session,
            secret=hub.secret,
            subject_id=ref.subject_id,
            org_id=ref.org_id,
            lifetime=_lifetime(hub),
            now=visit.now,
        )
        return started, "/centre"

    return await visit.sign_in(start)


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


def _zone(mine: Mapping[str, StoredFact]) -> ZoneInfo:
    zone = mine.get("time_zone")
    return ZoneInfo(str(zone.value["value"])) if zone else ZoneInfo("UTC")


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
    field, value = _text(form.get("field")) or "", _text(form.get("value")) or ""
    now = visit.now

    def work(session: Session, viewer: Viewer) -> str:
        mine = centre.declared(centre.facts(session, viewer, now))
        current = dict(mine["context"].value) if "context" in mine else {}
        if field == "clear":
            changes = [Change("context", None)]
        else:
            changes = context_service.context_changes(
                _next_context(current, field, value, now, _zone(mine)), now
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
        raise Invalid("field", "choose something to change")
    return ContextPut.model_validate(kept)


def _dnd_until(choice: str, now: datetime, zone: ZoneInfo) -> datetime | None:
    if choice == "off":
        return None
    if choice in ("1h", "3h"):
        return now + timedelta(hours=int(choice[0]))
    if choice == "tomorrow":
        local = now.astimezone(zone)
        return datetime.combine(local.date() + timedelta(days=1), time(8, 0), tzinfo=zone)
    raise Invalid("value", "choose how long")


@router.post("/personas")
async def add_persona(visit: VisitDep) -> Response:
    form = await visit.request.form()
    label = (_text(form.get("label")) or "").strip()
    key = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:64] or "persona"
    interests = [t.strip().lower() for t in (_text(form.get("interests")) or "").split(",") if t.strip()]
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
        return {"views": views, "questions": questions, "purposes": CATALOGUE}

    return build


@router.get("/businesses")
async def businesses_page(visit: VisitDep) -> Response:
    return await visit.page("businesses.html", _businesses(visit))


@router.post("/businesses/{org_id}/sharing")
async def set_sharing(org_id: str, visit: VisitDep) -> Response:
    org = _uuid(org_id)
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


@router.post("/businesses/{org_id}/answer")
async def answer_question(org_id: str, visit: VisitDep) -> Response:
    org = _uuid(org_id)
    form = await visit.request.form()
    option = None if form.get("decline") else _text(form.get("option"))

    def work(session: Session, viewer: Viewer) -> str:
        found = centre.business(session, viewer, org)
        if option is None and not form.get("decline"):
            raise Invalid("option", "choose an answer, or decline")
        outcome, _ = profiling_service.answer(
            session,
            org=found.org,
            ref=found.ref,
            question_id=_text(form.get("question_id")) or "",
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
    org = _uuid(org_id)
    form = await visit.request.form()
    decision = _text(form.get("decision"))
    picked = [c for c in form.getlist("channels") if isinstance(c, str)]

    def work(session: Session, viewer: Viewer) -> str:
        if decision not in ("grant", "withdraw"):
            raise Invalid("decision", "grant or withdraw")
        channels = [Channel(c) for c in picked if c in CHANNELS]
        if decision == "grant" and not channels and purpose != "analytics":
            raise Invalid("channels", "choose at least one way to be contacted")
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
    record, issuer = _uuid(record_id), visit.hub.settings.public_url

    def unit(session: Session) -> dict[str, Any]:
        return centre.receipt(session, visit._viewer(session), record, issuer)

    document = await visit._guarded(unit)
    body = {"receipt": document, "jws": sign_receipt(document, visit.hub.keys)}
    return _download(body, f"receipt-{record_id}.json")


def _download(body: dict[str, Any], filename: str) -> Response:
    return Response(
        json.dumps(body, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={**HEADERS, "Content-Disposition": f'attachment; filename="{quote(filename)}"'},
    )


# ---- preferences ---------------------------------------------------------------------------------


def _preferences(visit: Visit) -> Callable[[Session, Viewer], dict[str, Any]]:
    def build(session: Session, viewer: Viewer) -> dict[str, Any]:
        mine = centre.declared(centre.facts(session, viewer, visit.now))
        return {
            "interests": {
                k.partition(":")[2]: f.value["affinity"]
                for k, f in sorted(mine.items())
                if k.startswith("interest:")
            },
            "channels": {
                c.value: (mine[f"channel:{c.value}"].value if f"channel:{c.value}" in mine else None)
                for c in Channel
            },
            "quiet_hours": mine["quiet_hours"].value if "quiet_hours" in mine else None,
            "time_zone": mine["time_zone"].value["value"] if "time_zone" in mine else "",
            "life_events": {
                k.partition(":")[2]: f.value for k, f in sorted(mine.items()) if k.startswith("life_event:")
            },
            "novelty": mine["novelty"].value["value"] if "novelty" in mine else None,
            "zones": sorted(z for z in time_zones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))),
        }

    return build


@router.get("/preferences")
async def preferences_page(visit: VisitDep) -> Response:
    return await visit.page("preferences.html", _preferences(visit))


def _preference_form(
    visit: Visit, patch: Callable[[Mapping[str, Any], ZoneInfo], dict[str, Any]]
) -> Callable[[], Awaitable[Response]]:
    async def handle() -> Response:
        form = await visit.request.form()
        now = visit.now

        def work(session: Session, viewer: Viewer) -> str:
            mine = centre.declared(centre.facts(session, viewer, now))
            body = PreferencesPatch.model_validate(patch(form, _zone(mine)))
            centre.declare(
                session, viewer, context_service.preference_changes(body, now), visit.hub.notary, now
            )
            return "/centre/preferences?done=saved"

        return await visit.act(work, template="preferences.html", build=_preferences(visit))

    return handle


@router.post("/preferences/interests")
async def set_interest(visit: VisitDep) -> Response:
    def patch(form: Mapping[str, Any], _zone: ZoneInfo) -> dict[str, Any]:
        topic = (_text(form.get("topic")) or "").strip().lower()
        choice = _text(form.get("affinity"))
        if choice not in (*AFFINITY, "remove"):
            raise Invalid("affinity", "choose like, dislike, never or remove")
        return {"interests": {topic: AFFINITY.get(choice or "")}}

    return await _preference_form(visit, patch)()


@router.post("/preferences/channels")
async def set_channels(visit: VisitDep) -> Response:
    def patch(form: Mapping[str, Any], _zone: ZoneInfo) -> dict[str, Any]:
        channels = {}
        for channel in Channel:
            limit = (_text(form.get(f"limit-{channel.value}")) or "").strip()
            channels[channel.value] = {
                "allowed": form.get(f"allowed-{channel.value}") == "on",
                "max_per_week": int(limit) if limit.isdigit() else (limit or None),
            }
        return {"channels": channels}

    return await _preference_form(visit, patch)()


@router.post("/preferences/quiet-hours")
async def set_quiet_hours(visit: VisitDep) -> Response:
    def patch(form: Mapping[str, Any], _zone: ZoneInfo) -> dict[str, Any]:
        if form.get("clear"):
            return {"quiet_hours": None}
        zone = (_text(form.get("time_zone")) or "").strip()
        return {
            "quiet_hours": {"start": _text(form.get("start")), "end": _text(form.get("end"))},
            **({"time_zone": zone} if zone else {}),
        }

    return await _preference_form(visit, patch)()


@router.post("/preferences/life-events")
async def add_life_event(visit: VisitDep) -> Response:
    def patch(form: Mapping[str, Any], zone: ZoneInfo) -> dict[str, Any]:
        label = (_text(form.get("label")) or "").strip()
        key = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:64] or "event"
        until = _text(form.get("until")) or ""
        try:
            day = datetime.fromisoformat(until).date()
        except ValueError:
            raise Invalid("life_events.until", "a date, e.g. 2027-03-01") from None
        return {
            "life_events": {
                key: {
                    "label": label,
                    "topics": [
                        t.strip().lower() for t in (_text(form.get("topics")) or "").split(",") if t.strip()
                    ],
                    "until": datetime.combine(day, time(0, 0), tzinfo=zone).isoformat(),
                }
            }
        }

    return await _preference_form(visit, patch)()


@router.post("/preferences/life-events/{key}/remove")
async def remove_life_event(key: str, visit: VisitDep) -> Response:
    return await _preference_form(visit, lambda form, zone: {"life_events": {key: None}})()


@router.post("/preferences/surprise")
async def set_surprise(visit: VisitDep) -> Response:
    def patch(form: Mapping[str, Any], _zone: ZoneInfo) -> dict[str, Any]:
        choice = _text(form.get("novelty")) or ""
        if choice not in NOVELTY:
            raise Invalid("novelty", "choose never, sometimes or often")
        return {"novelty": NOVELTY[choice]}

    return await _preference_form(visit, patch)()


# ---- my data -------------------------------------------------------------------------------------


def _data(visit: Visit) -> Callable[[Session, Viewer], dict[str, Any]]:
    def build(session: Session, viewer: Viewer) -> dict[str, Any]:
        return {"erasure": centre.erasure_requested(session, viewer)}

    return build


@router.get("/data")
async def data_page(visit: VisitDep) -> Response:
    return await visit.page("data.html", _data(visit))


@router.get("/data/export")
async def export_data(visit: VisitDep) -> Response:
    hub, now = visit.hub, visit.now

    def unit(session: Session) -> dict[str, Any]:
        viewer = visit._viewer(session)
        return centre.export(session, viewer, now, issuer=hub.settings.public_url, keys=hub.keys)

    document = await visit._guarded(unit)
    return _download(document, f"harken-my-data-{now:%Y-%m-%d}.json")


@router.post("/data/erase")
async def request_erasure(visit: VisitDep) -> Response:
    form = await visit.request.form()

    def work(session: Session, viewer: Viewer) -> str:
        if form.get("confirm") != "on":
            raise Invalid("confirm", "tick the box to confirm")
        centre.request_erasure(session, viewer, notary=visit.hub.notary, now=visit.now)
        # Erased, the customer's sessions are gone with everything else; through an org's window, not.
        return "/centre/data?done=erasure" if viewer.org_id else "/centre/sign-in?done=erased"

    return await visit.act(work, template="data.html", build=_data(visit))


@router.api_route("/{rest:path}", methods=["GET", "POST"])
async def unknown(rest: str) -> Response:
    raise PageError(404, "error.not_found")


def install(app: FastAPI) -> None:
    """Mount the centre: its static files, its pages, and its errors as pages rather than JSON."""
    app.mount("/centre/static", static, name="centre-static")
    app.include_router(router)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(f"/centre/sign-in?next={quote(safe_next(exc.next_path))}", status_code=303)

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError) -> Response:
        visit = Visit(request.app.state.hub, request)
        return visit.anonymous("message.html", status=exc.status, title_key="error.title", body_key=exc.key)
