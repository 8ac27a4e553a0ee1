"""The Preference Centre's "My assistants" page (every grant for the person's own agents: its scopes,
businesses, expiry, what it did and when; revoke at once) and the consent screen an agent's OAuth
request lands on (`/oauth/authorize` sends the browser here). A grant is made only by the person's answer
to an agent's request — here, or from their own app (`/v1/me/grant-requests/{id}`): an agent without
OAuth has nothing to hold a grant with."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.centre.visit import HEADERS, Visit, VisitDep, path_id, text_field
from harken.errors import NotFound
from harken.grants import oauth
from harken.grants import service as grants
from harken.orgs.models import Org
from harken.subjects.viewer import Viewer

router = APIRouter(prefix="/centre", include_in_schema=False)


def _assistants(visit: Visit) -> Callable[[Session, Viewer], dict[str, Any]]:
    def build(session: Session, viewer: Viewer) -> dict[str, Any]:
        return {"grants": grants.grants_of(session, viewer), "now": visit.now}

    return build


@router.get("/assistants")
async def assistants_page(visit: VisitDep) -> Response:
    return await visit.page("assistants.html", _assistants(visit))


@router.post("/assistants/{grant_id}/revoke")
async def revoke_assistant(grant_id: str, visit: VisitDep) -> Response:
    """Revoke a grant: the agent's next call is refused, its refresh tokens with it. Another person's
    grant is not found."""
    found = path_id(grant_id)

    def work(session: Session, viewer: Viewer) -> str:
        grants.revoke(session, viewer, found, visit.hub.notary, visit.now)
        return "/centre/assistants?done=revoked"

    return await visit.act(work, template="assistants.html", build=_assistants(visit))


# ---- the consent screen ----------------------------------------------------------------------------


def _request(visit: Visit, request_id: uuid.UUID) -> Callable[[Session, Viewer], dict[str, Any]]:
    def build(session: Session, viewer: Viewer) -> dict[str, Any]:
        found = oauth.pending(session, request_id, visit.now)
        linked = grants.linked_orgs(session, viewer)
        names = session.execute(select(Org.id, Org.name).where(Org.id.in_(linked)).order_by(Org.name)).all()
        return {
            "request_id": str(request_id),
            "client": found.client.name,
            "returns_to": urlsplit(found.request.redirect_uri).netloc,
            "scopes": found.request.scopes,
            "expiries": list(grants.EXPIRIES),
            "businesses": [{"id": str(i), "name": n} for i, n in names],
        }

    return build


def _allowing(response: Response, redirect_uri: str | None) -> Response:
    """The consent screen's form ends in a redirect to the agent: its origin joins `form-action`, which
    browsers also apply to where a form's answer redirects."""
    if redirect_uri:
        parts = urlsplit(redirect_uri)
        policy = HEADERS["Content-Security-Policy"].replace(
            "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}"
        )
        response.headers["Content-Security-Policy"] = policy
    return response


async def _redirect_uri(visit: Visit, request_id: uuid.UUID) -> str | None:
    def read(session: Session) -> str | None:
        try:
            return oauth.pending(session, request_id, visit.now).request.redirect_uri
        except NotFound:
            return None

    return await visit.hub.run(read)


@router.get("/authorize/{request_id}")
async def authorize_page(request_id: str, visit: VisitDep) -> Response:
    found = path_id(request_id)
    page = await visit.page("authorize.html", _request(visit, found))
    return _allowing(page, await _redirect_uri(visit, found))


@router.post("/authorize/{request_id}")
async def authorize(request_id: str, visit: VisitDep) -> Response:
    """Approve (a grant with what the person chose, and a code for the agent) or decline; either way the
    browser goes back to the agent's redirect URI."""
    found = path_id(request_id)
    form = await visit.request.form()
    redirect_uri = await _redirect_uri(visit, found)

    def work(session: Session, viewer: Viewer) -> str:
        if text_field(form.get("decision")) != "approve":
            return oauth.deny(session, found, visit.now)
        orgs = None
        if text_field(form.get("businesses")) == "some":
            orgs = [path_id(v) for v in form.getlist("orgs") if isinstance(v, str)]
        choice = oauth.Choice(
            name=text_field(form.get("name")) or "",
            scopes=[v for v in form.getlist("scopes") if isinstance(v, str)],
            expiry=text_field(form.get("expiry")) or "",
            orgs=orgs,
        )
        return oauth.approve(session, viewer, found, choice, visit.hub.notary, visit.now)

    answer = await visit.act(work, template="authorize.html", build=_request(visit, found))
    return _allowing(answer, redirect_uri)
