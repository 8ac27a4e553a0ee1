from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from harken.deps import DbSession
from harken.orgs import service as org_service
from harken.orgs.models import Org

_bearer = HTTPBearer(
    auto_error=False, description="An org API key (`hk_…`), as printed by `harken org create`."
)


def current_org(
    session: DbSession, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Org:
    return org_service.authenticate(session, credentials.credentials if credentials else None)


CurrentOrg = Annotated[Org, Depends(current_org)]
