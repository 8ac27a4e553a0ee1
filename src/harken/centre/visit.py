"""How a request to the Preference Centre is served: the customer found from the session cookie in the
page's own unit of work, forms checked for their CSRF token (the session's, or before sign-in one bound
to the browser's cookie) and refused without it, pages rendered in the customer's language, errors as
pages."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from sqlalchemy.orm import Session

from harken import cookies
from harken.authority import Forbidden
from harken.centre import i18n, signin
from harken.centre import service as centre
from harken.centre.forms import FormInvalid, problems
from harken.consent.schemas import Channel
from harken.context.schemas import Situation
from harken.context.service import StoredFact
from harken.deps import Hub, HubDep
from harken.errors import HarkenError, Invalid, NotFound
from harken.orgs.models import Org
from harken.subjects.viewer import Viewer, viewer

T = TypeVar("T")
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
templates.filters["shared_name"] = lambda field, t: t(f"shared.{field}")
templates.filters["channel_names"] = lambda channels, t: ", ".join(t(f"channel.{c}") for c in channels)

SESSION_COOKIE = "harken_centre"
BROWSER_COOKIE = "harken_browser"
LANG_COOKIE = "harken_lang"
NAV = (
    ("/centre", "nav.now"),
    ("/centre/businesses", "nav.businesses"),
    ("/centre/consents", "nav.consents"),
    ("/centre/shares", "nav.shares"),
    ("/centre/terms", "nav.terms"),
    ("/centre/credentials", "nav.credentials"),
    ("/centre/assistants", "nav.assistants"),
    ("/centre/preferences", "nav.preferences"),
    ("/centre/data", "nav.data"),
)
DONE = (
    "saved",
    "proffered",
    "withdrawn",
    "context",
    "consent",
    "sharing",
    "shared",
    "unshared",
    "revoked",
    "answered",
    "declined",
    "erasure",
    "erased",
    "signed-out",
    "linked",
    "refused",
    "unlinked",
)
NEXT_PATH = re.compile(r"/centre(/[A-Za-z0-9_-]+)*")
NEXT_QUERY = re.compile(r"[A-Za-z0-9_=&-]*")
# The kinds of datum (the part of a key before ":"), each with its name in every catalogue.
KINDS = (
    "context",
    "persona",
    "interest",
    "channel",
    "situation_channels",
    "quiet_hours",
    "time_zone",
    "locale",
    "country",
    "life_event",
    "novelty",
)
CHANNELS = frozenset(c.value for c in Channel)
SITUATIONS = frozenset(s.value for s in Situation)
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
    if kind == "situation_channels" and name in SITUATIONS:
        name = t(f"situation.{name}")
    return f"{label}: {name}" if name else label


class SignInRequired(Exception):
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class PageError(Exception):
    """A page that says what went wrong, in the customer's language, with a status."""

    def __init__(self, status: int, key: str) -> None:
        self.status, self.key = status, key


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a plain path inside the centre (no dots, no other host), else home."""
    path, _, query = (value or "").partition("?")
    if len(value or "") > 200 or not NEXT_PATH.fullmatch(path) or not NEXT_QUERY.fullmatch(query):
        return "/centre"
    return value or "/centre"


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

    def viewer_in(self, session: Session) -> Viewer:
        cookie = self.request.cookies.get(SESSION_COOKIE)
        found = (
            signin.find_session(session, secret=self.hub.secret, cookie=cookie, now=self.now)
            if cookie
            else None
        )
        if found is None:
            raise SignInRequired(self.request.url.path)
        return viewer(session, found.subject_id, found.org_id, found.csrf)

    async def page(
        self, template: str, build: Callable[[Session, Viewer], dict[str, Any]], *, status: int = 200
    ) -> HTMLResponse:
        """A signed-in page: its data and the customer's own language and clock, read in one unit."""

        def unit(session: Session) -> tuple[Viewer, dict[str, Any], dict[str, StoredFact]]:
            viewer = self.viewer_in(session)
            mine = centre.declared(centre.facts(session, viewer, self.now))
            context = build(session, viewer)
            if viewer.org_id is not None:
                context.setdefault("window", session.get_one(Org, viewer.org_id).name)
            return viewer, context, mine

        viewer, context, mine = await self.guarded(unit)
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
        self.same_origin()

        def unit(session: Session) -> str:
            viewer = self.viewer_in(session)
            if not signin.same_token(text_field(form.get("csrf")), viewer.csrf):
                raise PageError(403, "error.csrf")
            return work(session, viewer)

        try:
            target = await self.guarded(unit)
        except FormInvalid as refused:
            # The page again, nothing saved: each problem by its field, and what was typed kept.
            kept = {"errors": refused.errors, "entered": form, "refused": self.request.url.path}
            return await self.page(template, lambda s, v: {**build(s, v), **kept}, status=422)
        return RedirectResponse(target, status_code=303)

    async def guarded(self, unit: Callable[[Session], T]) -> T:
        try:
            return await self.hub.run(unit)
        except (ValidationError, Invalid) as error:
            raise FormInvalid(problems(error)) from error
        except NotFound as error:
            raise PageError(404, "error.not_found") from error
        except Forbidden as error:
            raise PageError(403, "error.person_only") from error
        except HarkenError as error:
            raise FormInvalid({"form": ("error.refused", {})}) from error

    def same_origin(self) -> None:
        """Browsers name the page a form came from: a form posted from another site is refused."""
        headers, url = self.request.headers, self.request.url
        own = {f"{url.scheme}://{url.netloc}", self.hub.settings.public_url.rstrip("/")}
        if not cookies.same_origin(headers.get("origin"), headers.get("sec-fetch-site"), own):
            raise PageError(403, "error.csrf")

    def render(self, template: str, t: i18n.Translator, *, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("viewer", None)
        context.setdefault("csrf", None)
        context.setdefault("notice", None)
        context.setdefault("window", None)
        context.setdefault("entered", {})
        context.setdefault("refused", None)
        # Each refused field's message in the customer's language: (catalogue key, its values); one
        # about a business's part of a form names the business.
        context["errors"] = {
            name: f"{values['business']}: {t(key, **values)}" if "business" in values else t(key, **values)
            for name, (key, values) in context.get("errors", {}).items()
        }
        html = templates.get_template(template).render(
            t=t,
            lang=t.locale,
            locales=i18n.NAMES,
            nav=NAV,
            current=self._page_path(),
            **context,
        )
        # The language may be the browser's Accept-Language (`translator`): say so, so that no cache
        # gives this page to a browser asking in another. Cookie need not be named: pages are no-store.
        response = HTMLResponse(html, status_code=status, headers={**HEADERS, "Vary": "Accept-Language"})
        chosen = self.request.query_params.get("lang")
        if chosen in i18n.LOCALES:
            self._cookie(response, LANG_COOKIE, chosen, max_age=365 * 86400)
        return response

    def _page_path(self) -> str:
        """The page shown: a form refused at /centre/preferences/quiet-hours shows Preferences again, so
        the navigation marks it and the language links go to it rather than to the form's action."""
        path = self.request.url.path
        if self.request.method == "GET":
            return path
        return max((p for p, _ in NAV if path == p or path.startswith(f"{p}/")), key=len, default=path)

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
        self.same_origin()
        browser = self.request.cookies.get(BROWSER_COOKIE)
        if not browser or not signin.same_token(
            text_field(form.get("csrf")), signin.anonymous_csrf(self.hub.secret, browser)
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


def path_id(value: str) -> uuid.UUID:
    """An id from the address bar; anything that is not one is simply not here."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise PageError(404, "error.not_found") from None


def text_field(value: object) -> str | None:
    return value if isinstance(value, str) else None


def customer_zone(mine: Mapping[str, StoredFact]) -> ZoneInfo:
    zone = mine.get("time_zone")
    return ZoneInfo(str(zone.value["value"])) if zone else ZoneInfo("UTC")


def download(body: dict[str, Any], filename: str) -> Response:
    return Response(
        json.dumps(body, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={**HEADERS, "Content-Disposition": f'attachment; filename="{quote(filename)}"'},
    )
