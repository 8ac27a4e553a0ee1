"""Signing in to the Preference Centre: by a magic link mailed to the customer, or from an org's app
with a customer token; and signing out."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email.message import EmailMessage

from fastapi import APIRouter, BackgroundTasks
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from harken import authority
from harken.authority import Authority, Tier
from harken.centre import i18n, signin
from harken.centre.visit import DONE, VisitDep, safe_next, text_field
from harken.deps import Hub
from harken.edge.address import client_address
from harken.errors import Unauthenticated
from harken.orgs.models import Org
from harken.subjects import service as subject_service
from harken.subjects.models import Token

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")

router = APIRouter(prefix="/centre", include_in_schema=False)

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
    email = (text_field(form.get("email")) or "").strip()
    next_path = safe_next(text_field(form.get("next")))
    if len(email) > 254 or not EMAIL.match(email):
        return visit.anonymous(
            "sign_in.html",
            status=422,
            next=next_path,
            email=email,
            errors={"email": ("sign_in.email_invalid", {})},
        )
    ip = client_address(visit.request, visit.hub.settings)  # X-Forwarded-For only from named proxies
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
    token = text_field(form.get("token")) or ""
    hub = visit.hub

    def start(session: Session) -> tuple[signin.Started, str] | None:
        link = signin.use_link(session, token, visit.now)
        if link is None or link.token_sha256 is None:
            return None
        # Following the link proved control of the address: this is the verified person.
        person = subject_service.verified_person(session, email_digest=link.email_digest, now=visit.now)
        started = signin.start_session(
            session,
            secret=hub.secret,
            subject_id=person.id,
            org_id=None,
            lifetime=_lifetime(hub),
            now=visit.now,
        )
        pending = any(not c.linked for c in subject_service.claims(session, person_id=person.id))
        return started, "/centre/businesses" if pending else safe_next(link.next_path)

    return await visit.sign_in(start)


def _lifetime(hub: Hub) -> timedelta:
    return timedelta(hours=hub.settings.centre_session_hours)


@router.get("/from-app")
async def from_app(visit: VisitDep, token: str = "") -> Response:
    """An org's app opens the centre with a customer token: the customer confirms, and sees that org's
    window, for no longer than the token lives."""
    name = await visit.hub.run(lambda session: _org_name(session, visit.hub, token, visit.now))
    if name is None:
        return visit.anonymous(
            "message.html", status=400, title_key="link.invalid_title", body_key="link.invalid"
        )
    return visit.anonymous("confirm.html", action="/centre/from-app", token=token, org=name)


def _customer_token(session: Session, hub: Hub, token: str, now: datetime) -> Authority | None:
    try:
        found = authority.authenticate(session, secret=hub.secret, bearer=token, now=now)
    except Unauthenticated:
        return None
    return found if found.tier == Tier.customer else None


def _org_name(session: Session, hub: Hub, token: str, now: datetime) -> str | None:
    found = _customer_token(session, hub, token, now)
    return session.get_one(Org, found.org_id).name if found else None


@router.post("/from-app")
async def open_from_app(visit: VisitDep) -> Response:
    form = await visit.check_anonymous()
    token = text_field(form.get("token")) or ""
    hub = visit.hub

    def start(session: Session) -> tuple[signin.Started, str] | None:
        found = _customer_token(session, hub, token, visit.now)
        if found is None or found.subject_id is None or found.token_id is None:
            return None
        started = signin.start_session(
            session,
            secret=hub.secret,
            subject_id=found.subject_id,
            org_id=found.org_id,
            lifetime=_lifetime(hub),
            now=visit.now,
            token=session.get_one(Token, found.token_id),
        )
        return started, "/centre"

    return await visit.sign_in(start)
