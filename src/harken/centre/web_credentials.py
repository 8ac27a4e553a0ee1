"""The Preference Centre's Credentials page (the travel pass carried off the hub): what each credential
the customer holds carries, when it was issued and runs out, whether it still holds; and revoking one.
Every change goes through `harken.credentials.service`, so the credential's status list says so to every
verifier. Issuing needs the holder's wallet key, so credentials are issued from the wallet's app (API)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.orm import Session

from harken.authority import Power
from harken.centre.visit import Visit, VisitDep, path_id
from harken.credentials import service as credentials_service
from harken.subjects.viewer import Viewer

router = APIRouter(prefix="/centre", include_in_schema=False)


def _credentials(visit: Visit) -> Callable[[Session, Viewer], dict[str, Any]]:
    """The page: the customer's credentials (through a business's app: those issued there), newest first."""

    def build(session: Session, viewer: Viewer) -> dict[str, Any]:
        return {
            "credentials": credentials_service.listed(
                session,
                subject_id=viewer.subject_id,
                window_org_id=viewer.org_id,
                issuer=visit.hub.issuer,
                now=visit.now,
            ),
            "now": visit.now,
        }

    return build


@router.get("/credentials")
async def credentials_page(visit: VisitDep) -> Response:
    return await visit.page("credentials.html", _credentials(visit))


@router.post("/credentials/{credential_id}/revoke")
async def revoke_credential(credential_id: str, visit: VisitDep) -> Response:
    """Revoke in its status list (at once for the hub, within the list's cache time for others); twice is
    once; another customer's credential, or one from another app's window, is not found."""
    found = path_id(credential_id)

    def work(session: Session, viewer: Viewer) -> str:
        viewer.require(Power.credentials)  # as DELETE /v1/me/credentials/...: a business's app may not
        credentials_service.revoke(
            session,
            subject_id=viewer.subject_id,
            window_org_id=viewer.org_id,
            credential_id=found,
            notary=visit.hub.notary,
            now=visit.now,
        )
        return "/centre/credentials?done=revoked"

    return await visit.act(work, template="credentials.html", build=_credentials(visit))
