"""The console's front door: signing in by a mailed link, signing out, the overview, and its errors as
pages. The catalogue, customers, integrations and staff pages are in web_*.py."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from typing import Any

from fastapi import APIRouter, BackgroundTasks, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from harken.centre.visit import HEADERS
from harken.console import (
    charts,
    counts,
    signin,
    web_catalogue,
    web_customers,
    web_integrations,
    web_staff,
)
from harken.console import overview as numbers
from harken.console.models import Staff
from harken.console.visit import (
    NOT_FOUND,
    SESSION_COOKIE,
    PageError,
    SignInRequired,
    Visit,
    VisitDep,
    static,
    text_field,
)
from harken.deps import Hub
from harken.edge.address import client_address
from harken.errors import Invalid
from harken.orgs.models import Org

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
INVALID_LINK = "This sign-in link has expired or was used already. Ask for a new one."

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/sign-in")
async def sign_in_page(visit: VisitDep) -> Response:
    done = visit.request.query_params.get("done")
    return visit.anonymous(
        "sign_in.html", email="", notice="You are signed out." if done == "signed-out" else None
    )


@router.post("/sign-in")
async def request_link(visit: VisitDep, background: BackgroundTasks) -> Response:
    form = await visit.check_anonymous()
    email = (text_field(form.get("email")) or "").strip()
    if len(email) > 254 or not EMAIL.match(email):
        errors = {"email": "Enter an email address like name@example.com."}
        return visit.anonymous("sign_in.html", status=422, email=email, errors=errors)
    ip = client_address(visit.request, visit.hub.settings)
    hub = visit.hub

    def unit(session: Session) -> list[EmailMessage]:
        issued = signin.request_links(session, secret=hub.secret, email=email, ip=ip, now=visit.now)
        return [
            _link_message(hub, staff, session.get_one(Org, staff.org_id), token) for staff, token in issued
        ]

    try:
        messages = await hub.run(unit)
    except signin.RateLimited as limited:
        minutes = max(1, round(limited.retry_after.total_seconds() / 60))
        response = visit.anonymous(
            "message.html",
            status=429,
            title="Too many requests",
            message=f"Too many sign-in links were asked for. Try again in {minutes} minutes.",
        )
        response.headers["Retry-After"] = str(int(limited.retry_after.total_seconds()) + 1)
        return response
    for message in messages:  # sent after the answer, so an unknown address answers just as fast
        background.add_task(hub.mailer.send, message)
    return RedirectResponse("/console/sign-in/sent", status_code=303)


def _link_message(hub: Hub, staff: Staff, org: Org, token: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = hub.settings.mail_from
    message["To"] = staff.email
    message["Subject"] = f"Sign in to {org.name}'s Harken console"
    link = f"{hub.settings.public_url.rstrip('/')}/console/link/{token}"
    minutes = int(signin.LINK_LIFETIME.total_seconds() // 60)
    message.set_content(
        f"Open this link to sign in to {org.name}'s console as {staff.role}:\n\n{link}\n\n"
        f"It works once, for {minutes} minutes. If you did not ask for it, ignore this message."
    )
    return message


@router.get("/sign-in/sent")
async def link_sent(visit: VisitDep) -> Response:
    return visit.anonymous(
        "message.html",
        title="Check your email",
        message="If the address belongs to an organisation's staff, a sign-in link is on its way. "
        "It works once, for 15 minutes.",
    )


@router.get("/link/{token}")
async def open_link(token: str, visit: VisitDep) -> Response:
    """A button rather than signing in on GET: mail scanners that follow links cannot use it up."""
    staff = await visit.hub.run(lambda session: _named(session, token, visit))
    if staff is None:
        return visit.anonymous(
            "message.html", status=400, title="This link cannot be used", message=INVALID_LINK
        )
    return visit.anonymous("confirm.html", token=token, who=staff)


def _named(session: Session, token: str, visit: Visit) -> dict[str, str] | None:
    staff = signin.peek_link(session, token, visit.now)
    return {"email": staff.email, "org": session.get_one(Org, staff.org_id).name} if staff else None


@router.post("/link")
async def use_link(visit: VisitDep) -> Response:
    form = await visit.check_anonymous()
    token = text_field(form.get("token")) or ""
    old = visit.request.cookies.get(SESSION_COOKIE)
    hub = visit.hub

    def start(session: Session) -> signin.Started | None:
        if old:  # a new session every time: no fixation
            signin.end_session(session, secret=hub.secret, cookie=old, now=visit.now)
        staff = signin.use_link(session, token, visit.now)
        return signin.start_session(session, secret=hub.secret, staff=staff, now=visit.now) if staff else None

    started = await hub.run(start)
    if started is None:
        return visit.anonymous(
            "message.html", status=400, title="This link cannot be used", message=INVALID_LINK
        )
    response = RedirectResponse("/console", status_code=303)
    lifetime = int((started.session.expires_at - visit.now).total_seconds())
    visit.cookie(response, SESSION_COOKIE, started.cookie, max_age=lifetime)
    return response


@router.post("/sign-out")
async def sign_out(visit: VisitDep) -> Response:
    """Anyone signed in may sign out (a viewer too): it changes nothing of the org's."""
    form = await visit.request.form()
    visit.same_origin()
    cookie = visit.request.cookies.get(SESSION_COOKIE, "")

    def end(session: Session, staff: Staff, org: Org) -> None:
        if not signin.same_token(text_field(form.get("csrf")), visit.csrf or ""):
            raise PageError(403, "This form was not sent from this console's own page.")
        signin.end_session(session, secret=visit.hub.secret, cookie=cookie, now=visit.now)

    await visit.unit(end)
    response = RedirectResponse("/console/sign-in?done=signed-out", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


DEFAULT_DAYS = 30
RANGE_LABELS = {"since": "From", "until": "Up to (not including)"}


@dataclass(frozen=True)
class Range:
    """The days the overview's charts cover, [since, until), as asked for in the query or by default;
    `errors` names each field that was not a date, or a range the charts cannot draw."""

    since: date
    until: date
    entered: dict[str, str]
    errors: dict[str, str]

    @property
    def query(self) -> str:
        return f"since={self.since.isoformat()}&until={self.until.isoformat()}"


def asked_range(visit: Visit) -> Range:
    """`since` and `until` from the query, each an ISO date; by default the last DEFAULT_DAYS days up to
    and including today on the hub's clock (UTC), so `until` is tomorrow: a range never holds its `until`."""
    until = visit.now.date() + timedelta(days=1)
    default = {"since": until - timedelta(days=DEFAULT_DAYS), "until": until}
    entered: dict[str, str] = {}
    found: dict[str, date] = {}
    errors: dict[str, str] = {}
    for name in ("since", "until"):
        text = (visit.request.query_params.get(name) or "").strip()
        entered[name] = text or default[name].isoformat()
        try:
            found[name] = date.fromisoformat(text) if text else default[name]
        except ValueError:
            errors[name] = "Enter a date as year-month-day, like 2026-11-02."
    if not errors:
        try:
            numbers.span(found["since"], found["until"])
        except Invalid as refused:
            errors = {e.field: f"{e.message[:1].upper()}{e.message[1:]}." for e in refused.errors or []}
    if errors:
        return Range(default["since"], default["until"], entered, errors)
    return Range(found["since"], found["until"], entered, {})


@dataclass(frozen=True)
class Drawn:
    """One chart as the page shows it: its picture, its numbers, and where its CSV is."""

    chart: charts.Chart
    picture: str
    table: charts.TextTable
    csv: str


@router.get("")
async def overview(visit: VisitDep) -> Response:
    """The figures at a glance, then each chart over the range asked for: its picture (one SVG that scales
    to a phone's page and a wide one), its numbers as a table, and a CSV link. The charts' one stylesheet
    is allowed by a nonce of this answer alone."""
    asked = asked_range(visit)
    nonce = secrets.token_urlsafe(16)

    def build(session: Session, staff: Staff, org: Org) -> dict[str, Any]:
        page: dict[str, Any] = {
            "counts": counts.of(session, org),
            "range": asked,
            "entered": asked.entered,
            "range_errors": asked.errors,  # not `errors`: the page's summary of those says "Not saved"
            "labels": RANGE_LABELS,
            "drawn": (),
            "chart_style": charts.stylesheet(),
            "nonce": nonce,
        }
        if asked.errors:
            return page
        seen = numbers.overview(session, org_id=org.id, since=asked.since, until=asked.until, now=visit.now)
        page["drawn"] = tuple(_drawn(chart, asked) for chart in charts.charts(seen))
        return page

    response = await visit.page("overview.html", build, status=422 if asked.errors else 200)
    policy = HEADERS["Content-Security-Policy"].replace(
        "style-src 'self'", f"style-src 'self' 'nonce-{nonce}'"
    )
    response.headers["Content-Security-Policy"] = policy
    return response


def _drawn(chart: charts.Chart, asked: Range) -> Drawn:
    return Drawn(
        chart=chart,
        picture=charts.svg(chart, styled=False),
        table=charts.text_table(chart),
        csv=f"/console/overview/{chart.slug}.csv?{asked.query}",
    )


@router.get("/overview/{slug}.csv")
async def chart_csv(slug: str, visit: VisitDep) -> Response:
    """One chart's numbers as CSV, over the range asked for, for the staff member's own org. A bad range is
    the overview's page again, saying why; a chart the org's page does not show is a 404."""
    asked = asked_range(visit)
    if asked.errors:
        return await overview(visit)

    def read(session: Session, staff: Staff, org: Org) -> charts.Chart:
        seen = numbers.overview(session, org_id=org.id, since=asked.since, until=asked.until, now=visit.now)
        found = next((chart for chart in charts.charts(seen) if chart.slug == slug), None)
        if found is None:
            raise PageError(404, NOT_FOUND)
        return found

    chart = await visit.unit(read)
    return Response(
        charts.csv_text(chart),
        media_type="text/csv; charset=utf-8",
        headers={**HEADERS, "Content-Disposition": f'attachment; filename="{chart.csv_filename}"'},
    )


fallback = APIRouter(prefix="/console", include_in_schema=False)  # included last: unknown paths


@fallback.api_route("/{rest:path}", methods=["GET", "POST"])
async def unknown(rest: str) -> Response:
    raise PageError(404, "There is nothing here: the address may be mistyped.")


def install(app: FastAPI) -> None:
    """Mount the console: its static files, its pages, and its errors as pages rather than JSON."""
    app.mount("/console/static", static, name="console-static")
    for pages in (
        router,
        web_catalogue.router,
        web_customers.router,
        web_integrations.router,
        web_staff.router,
        fallback,
    ):
        app.include_router(pages)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse("/console/sign-in", status_code=303)

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError) -> Response:
        visit = Visit(request.app.state.hub, request)
        return visit.anonymous("message.html", status=exc.status, title=exc.title, message=exc.message)
