"""Credentials over HTTP: the customer has them issued, lists and revokes them (`/v1/me/credentials`); the
hub publishes its status lists (`/v1/status-lists/{id}`, public); an org on the hub verifies a
presentation against a nonce it asked for (`/v1/credentials/...`)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from harken.authority import PERSON_ONLY
from harken.credentials import service
from harken.credentials.problems import PROBLEMS
from harken.credentials.schemas import (
    CredentialIssued,
    CredentialPost,
    CredentialRead,
    NonceRead,
    PresentationPost,
    PresentationVerified,
)
from harken.credentials.statuslist import TYP
from harken.deps import HubDep, Now
from harken.errors import PROBLEM_JSON, PROBLEM_RESPONSES, Problem
from harken.orgs.api import Call
from harken.subjects.api import MeCredentials
from harken.subjects.viewer import Viewer

router = APIRouter(tags=["credentials"], responses=PROBLEM_RESPONSES)
STATUS_LIST_MEDIA_TYPE = f"application/{TYP}"
_REFUSALS = sorted({slug for slug, _ in PROBLEMS.values()} | {"credential-nonce-unknown"})
_REFUSED: dict[int | str, dict[str, Any]] = {
    422: {
        "model": Problem,
        "content": {PROBLEM_JSON: {}},
        "description": "Refused: the problem's `type` is /problems/validation for a malformed request, or "
        f"names the rule the presentation broke: {', '.join(f'/problems/{s}' for s in _REFUSALS)}",
    }
}


@router.post(
    "/v1/me/credentials", response_model=CredentialIssued, status_code=201, tags=["me"], responses=PERSON_ONLY
)
async def issue_credential(body: CredentialPost, me: MeCredentials, now: Now) -> CredentialIssued:
    """Carry my context to any business, on this hub or not, as an SD-JWT VC signed by the hub: each field
    selectively disclosable, so I show each business only what it needs, bound to my wallet's key, until
    `expires_at` or until I revoke it. The hub keeps no copy: keep `credential`."""
    issuer = me.hub.issuer

    def work(session: Session, window: Viewer) -> CredentialIssued:
        return service.issue(
            session,
            subject_id=window.subject_id,
            window_org_id=window.org_id,
            body=body,
            keys=me.hub.keys,
            issuer=issuer,
            notary=me.hub.notary,
            now=now,
        )

    return await me(work)


@router.get("/v1/me/credentials", response_model=list[CredentialRead], tags=["me"], responses=PERSON_ONLY)
async def my_credentials(me: MeCredentials, now: Now) -> list[CredentialRead]:
    """The credentials issued to me through this app, newest first; never the credentials themselves."""
    issuer = me.hub.issuer
    return await me(
        lambda session, window: service.listed(
            session,
            subject_id=window.subject_id,
            window_org_id=window.org_id,
            issuer=issuer,
            now=now,
        )
    )


@router.delete("/v1/me/credentials/{credential_id}", status_code=204, tags=["me"], responses=PERSON_ONLY)
async def revoke_credential(credential_id: uuid.UUID, me: MeCredentials, now: Now) -> Response:
    """Revoke a credential: its status list says so from now on, and no verifier that reads it accepts it."""
    await me(
        lambda session, window: service.revoke(
            session,
            subject_id=window.subject_id,
            window_org_id=window.org_id,
            credential_id=credential_id,
            notary=me.hub.notary,
            now=now,
        )
    )
    return Response(status_code=204)


@router.get(
    "/v1/status-lists/{list_id}",
    response_class=Response,
    responses={
        200: {
            "content": {STATUS_LIST_MEDIA_TYPE: {"schema": {"type": "string"}}},
            "description": "A Status List Token signed by a key of /.well-known/jwks.json",
        }
    },
)
async def status_list(list_id: uuid.UUID, hub: HubDep, now: Now) -> Response:
    """Whether the credentials whose `status.status_list.uri` names this list still hold, as an IETF
    Token Status List Token (one bit each, 1: revoked). Public; cache it for at most its `ttl`."""
    issuer = hub.issuer
    token = await hub.run(
        lambda session: service.status_list_token(
            session, list_id=list_id, keys=hub.keys, issuer=issuer, now=now
        )
    )
    max_age = int(service.STATUS_TTL.total_seconds())
    return Response(
        token, media_type=STATUS_LIST_MEDIA_TYPE, headers={"Cache-Control": f"public, max-age={max_age}"}
    )


@router.post("/v1/credentials/nonces", response_model=NonceRead, status_code=201)
async def presentation_nonce(call: Call, now: Now) -> NonceRead:
    """A nonce to send the holder, with your `audience`: the presentation's key binding must name both.
    Used once, within five minutes."""
    issuer = call.hub.issuer
    return await call(lambda session, org: service.new_nonce(session, org=org, issuer=issuer, now=now))


@router.post("/v1/credentials/verify", response_model=PresentationVerified, responses=_REFUSED)
async def verify_presentation(body: PresentationPost, call: Call, now: Now) -> PresentationVerified:
    """Verify a presentation of a credential this hub issued: its signature and disclosures, its expiry,
    the holder's key binding to your audience and nonce (which this uses up), and that it was not
    revoked. Returns the claims the holder showed you and those always visible."""
    issuer = call.hub.issuer
    return await call(
        lambda session, org: service.verify(
            session, org=org, body=body, keys=call.hub.keys, issuer=issuer, now=now
        )
    )
