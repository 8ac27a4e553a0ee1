"""How a request to the console is served: the staff member found from the session cookie inside the
request's own unit of work (so a removed member or an ended session is refused at once), the org only
ever the staff member's own, every form checked for its CSRF token and from the same origin, every
change by an admin only and written to the org's ledger chain with the staff member as its actor, and
errors as pages.

The console's pages call the org API's own route functions where it has them (`StaffCall`), so a
staff member sees exactly what the org's key would: the same minimised customer view, the same keys."""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, ClassVar, TypeVar
from urllib.parse import quote

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from sqlalchemy.orm import Session

from harken import cookies
from harken.authority import Authority, Forbidden, Tier
from harken.centre.visit import HEADERS  # the centre's security headers, Content-Security-Policy included
from harken.console import service as staff_service
from harken.console import signin
from harken.console.models import Staff
from harken.deps import Hub, HubDep
from harken.errors import Gone, HarkenError, Invalid, NotFound
from harken.orgs.api import OrgCall
from harken.orgs.models import Org

T = TypeVar("T")
static = StaticFiles(packages=[("harken.console", "static")])
templates = jinja2.Environment(
    loader=jinja2.PackageLoader("harken.console", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["when"] = lambda moment: moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""
templates.filters["quote"] = lambda text: quote(str(text), safe="")

PREFIX = "/console"
SESSION_COOKIE = "harken_console"
BROWSER_COOKIE = "harken_console_browser"
NAV = (
    ("/console", "Overview"),
    ("/console/offers", "Offers"),
    ("/console/notices", "Notices"),
    ("/console/questions", "Questions"),
    ("/console/customers", "Customers"),
    ("/console/webhooks", "Webhooks"),
    ("/console/keys", "API keys"),
    ("/console/ledger", "Ledger"),
    ("/console/staff", "Staff"),
)
# What a redirect's `done=` says on the page it lands on.
DONE = {
    "saved": "Saved.",
    "retired": "Retired: the offer is out of the catalogue.",
    "replayed": "Sent again: the delivery is queued.",
    "revoked": "Revoked: the very next call with that key is refused.",
    "added": "Added. They can sign in with their email address now.",
    "removed": "Removed. Their sessions have ended.",
    "signed-out": "You are signed out.",
}


class SignInRequired(Exception):
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class PageError(Exception):
    """A page that says what went wrong, with a status."""

    TITLES: ClassVar[dict[int, str]] = {
        400: "This link cannot be used",
        403: "Not allowed",
        404: "Not found",
        410: "Erased",
        429: "Too many requests",
    }

    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message

    @property
    def title(self) -> str:
        return self.TITLES.get(self.status, "Something went wrong")


NOT_FOUND = "There is nothing here: the address may be mistyped, or it is not your organisation's."
ADMINS_ONLY = "Only an admin of your organisation may change this. Your account may read everything."
CSRF_REFUSED = "This form was not sent from this console's own page. Go back, reload the page and try again."


class FormInvalid(Exception):
    """A refused form: each field's problem, shown beside it, with what was typed kept."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors


@dataclass(frozen=True)
class Write:
    """A change made from the console: entered in the org's chain as `console.<action>`, by the staff
    member, with `target` naming what it changed."""

    action: str
    target: dict[str, Any] = field(default_factory=dict)  # the work may add what it learnt


@dataclass
class Visit:
    """One request to the console."""

    hub: Hub
    request: Request
    csrf: str | None = None  # the session's, once `unit` found it

    @property
    def now(self) -> datetime:
        return self.hub.clock()

    def staff_in(self, session: Session) -> tuple[Staff, str]:
        """The signed-in staff member and their session's CSRF token; SignInRequired otherwise."""
        cookie = self.request.cookies.get(SESSION_COOKIE)
        found = (
            signin.find_session(session, secret=self.hub.secret, cookie=cookie, now=self.now)
            if cookie
            else None
        )
        if found is None:
            raise SignInRequired(self.request.url.path)
        return found[1], found[0].csrf

    async def unit(
        self, work: Callable[[Session, Staff, Org], T], write: Write | None = None, *, posted: bool = False
    ) -> T:
        """`work` on the signed-in staff member's own org, in one unit of work. A form (`posted`, and
        every write) is refused unless it carries the session's CSRF token and comes from this site
        (403); a write also unless the staff member is an admin (403), and is entered in the org's
        chain in the same transaction."""
        posted = posted or write is not None
        form = await self.request.form() if posted else None
        if posted:
            self.same_origin()

        def run(session: Session) -> T:
            staff, csrf = self.staff_in(session)
            self.csrf = csrf
            org = session.get_one(Org, staff.org_id)
            if form is not None and not signin.same_token(text_field(form.get("csrf")), csrf):
                raise PageError(403, CSRF_REFUSED)
            if write is not None and staff.role != "admin":
                raise PageError(403, ADMINS_ONLY)
            done = work(session, staff, org)
            if write is not None:
                staff_service.record(
                    session,
                    notary=self.hub.notary,
                    org=org,
                    type=f"console.{write.action}",
                    by=staff_service.actor(staff),
                    at=self.now,
                    **write.target,
                )
            return done

        return await self.guarded(self.hub.run(run))

    def call(self, write: Write | None = None) -> StaffCall:
        return StaffCall(self.hub, Authority(Tier.org), self, write)

    async def guarded(self, pending: Awaitable[T]) -> T:
        """The services' refusals as pages: another org's anything is the same 404 as nothing."""
        try:
            return await pending
        except ValidationError as error:
            raise FormInvalid(
                {".".join(str(p) for p in e["loc"][:1]) or "form": e["msg"] for e in error.errors()}
            ) from error
        except Invalid as error:
            raise FormInvalid({e.field.split(".")[0]: e.message for e in error.errors or []}) from error
        except NotFound as error:
            raise PageError(404, NOT_FOUND) from error
        except Gone as error:
            raise PageError(410, "This customer was erased: nothing about them is kept.") from error
        except Forbidden as error:
            raise PageError(403, ADMINS_ONLY) from error
        except HarkenError as error:
            raise FormInvalid({"form": error.detail}) from error

    async def page(
        self, template: str, build: Callable[[Session, Staff, Org], dict[str, Any]], *, status: int = 200
    ) -> HTMLResponse:
        """A signed-in page: its data read in one unit, for the staff member's own org only."""

        def work(session: Session, staff: Staff, org: Org) -> dict[str, Any]:
            return {"staff": staff, "org": org.name, "csrf": self.csrf, **build(session, staff, org)}

        context = await self.unit(work)
        done = self.request.query_params.get("done")
        context.setdefault("notice", DONE.get(done or ""))
        return self.render(template, status=status, **context)

    async def act(
        self,
        work: Callable[[Session, Staff, Org], str],
        write: Write,
        *,
        template: str,
        build: Callable[[Session, Staff, Org], dict[str, Any]],
    ) -> Response:
        """An admin's form: the work and its ledger entry in one unit, then a redirect to the page that
        shows the result; a refused form shows its page again, nothing saved, each field's problem by it."""
        return await self.then(self.unit(work, write), template=template, build=build)

    async def then(
        self,
        pending: Awaitable[str],
        *,
        template: str,
        build: Callable[[Session, Staff, Org], dict[str, Any]],
    ) -> Response:
        """Redirect to where `pending` says once done; a refused form is its page again (422)."""
        try:
            target = await pending
        except FormInvalid as refused:
            form = await self.request.form()
            kept = {"errors": refused.errors, "entered": form}
            return await self.page(template, lambda s, st, o: {**build(s, st, o), **kept}, status=422)
        return RedirectResponse(target, status_code=303)

    def same_origin(self) -> None:
        """Browsers name the page a form came from: a form posted from another site is refused."""
        headers, url = self.request.headers, self.request.url
        own = {f"{url.scheme}://{url.netloc}", self.hub.settings.public_url.rstrip("/")}
        if not cookies.same_origin(headers.get("origin"), headers.get("sec-fetch-site"), own):
            raise PageError(403, CSRF_REFUSED)

    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        for name, default in (
            ("staff", None),
            ("org", None),
            ("csrf", None),
            ("notice", None),
            ("entered", {}),
        ):
            context.setdefault(name, default)
        context.setdefault("errors", {})
        context.setdefault("labels", {})  # a field's name in the error summary, as its form labels it
        html = templates.get_template(template).render(nav=NAV, current=self._section(), **context)
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    def _section(self) -> str:
        """The navigation entry the page belongs to (an offer's page is under Offers)."""
        path = self.request.url.path
        return max((p for p, _ in NAV if path == p or path.startswith(f"{p}/")), key=len, default=path)

    # ---- before sign-in: CSRF bound to the browser's own cookie ----

    def anonymous(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        existing = self.request.cookies.get(BROWSER_COOKIE)
        fresh = not (existing and re.fullmatch(r"[A-Za-z0-9_-]{43}", existing))
        browser = secrets.token_urlsafe(32) if fresh or existing is None else existing
        response = self.render(
            template, status=status, csrf=signin.anonymous_csrf(self.hub.secret, browser), **context
        )
        if fresh:
            self.cookie(response, BROWSER_COOKIE, browser, max_age=86400)
        return response

    async def check_anonymous(self) -> Mapping[str, Any]:
        form = await self.request.form()
        self.same_origin()
        browser = self.request.cookies.get(BROWSER_COOKIE)
        if not browser or not signin.same_token(
            text_field(form.get("csrf")), signin.anonymous_csrf(self.hub.secret, browser)
        ):
            raise PageError(403, CSRF_REFUSED)
        return form

    def cookie(self, response: Response, name: str, value: str, *, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=PREFIX,
            httponly=True,
            samesite="lax",
            secure=self.hub.settings.public_url.startswith("https:"),
        )


@dataclass(frozen=True)
class StaffCall(OrgCall):
    """An org API route's unit of work run for a staff member: the org is the one the staff member's
    session belongs to (found in the same unit, `Visit.unit`), not one an API key names, so the console
    answers exactly what the API answers the org. `authority` is never read."""

    visit: Visit | None = None
    write: Write | None = None

    async def __call__(self, work: Callable[[Session, Org], T]) -> T:
        assert self.visit is not None
        return await self.visit.unit(lambda session, _staff, org: work(session, org), self.write)


async def get_visit(hub: HubDep, request: Request) -> Visit:
    return Visit(hub, request)


VisitDep = Annotated[Visit, Depends(get_visit)]


def text_field(value: object) -> str | None:
    return value if isinstance(value, str) else None
