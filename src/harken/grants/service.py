"""The person's grants for their own agents: what each may do (its scopes, its businesses), what it
did, revoking one; and the window an agent's call opens onto its person. How an agent gets a grant is
the OAuth authorization server's (`harken.grants.oauth`); whether its token is still live,
`authority._live_agent`'s, in each call's own transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from harken.authority import DELEGABLE, Authority, Forbidden
from harken.errors import NotFound
from harken.grants.models import Grant, GrantAct, GrantRequest, GrantToken
from harken.ledger import service as ledger_service
from harken.ledger.service import Notary
from harken.orgs.models import Org
from harken.subjects.models import SubjectRef
from harken.subjects.viewer import Viewer

SCOPES = tuple(str(p) for p in DELEGABLE)
EXPIRIES = {
    "1d": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
CHAIN = "centre"  # the person's own acts (a grant made or revoked) are entered in the centre's chain
# Their agents' acts, every call, spread by person over chains of the hub's own (`agents.0` … `agents.7`),
# so that agents acting for different people do not queue on one chain's head.
ACT_CHAINS = 8


def acts_chain(subject_id: uuid.UUID) -> str:
    """The chain where an agent's acts for this person are entered: always the same one for them."""
    return f"agents.{subject_id.int % ACT_CHAINS}"


def linked_orgs(session: Session, viewer: Viewer) -> list[uuid.UUID]:
    rows = session.execute(
        select(SubjectRef.org_id).where(SubjectRef.subject_id.in_(viewer.subject_ids)).distinct()
    )
    return [org_id for (org_id,) in rows]


def revoke_access(session: Session, token_id: uuid.UUID, now: datetime) -> None:
    """An agent lets go of the access token it calls with (`DELETE /v1/me/token`)."""
    session.execute(
        update(GrantToken)
        .where(GrantToken.id == token_id, GrantToken.kind == "access", GrantToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_grant_row(session: Session, grant_id: uuid.UUID, now: datetime, *, why: str) -> None:
    """Revoke a grant and every token it issued: the next call with any of them is refused."""
    session.execute(
        update(Grant)
        .where(Grant.id == grant_id, Grant.revoked_at.is_(None))
        .values(revoked_at=now, revoked_why=why)
    )
    session.execute(
        update(GrantToken)
        .where(GrantToken.grant_id == grant_id, GrantToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


# ---- the person's grants -----------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantView:
    grant: Grant
    businesses: list[str]
    acts: list[GrantAct]

    @property
    def live(self) -> bool:
        return self.grant.revoked_at is None

    def expired(self, now: datetime) -> bool:
        return self.grant.expires_at <= now


def grants_of(session: Session, viewer: Viewer, *, acts: int = 20) -> list[GrantView]:
    """The person's grants, newest first, each with the businesses it is limited to and its latest acts."""
    found = session.scalars(
        select(Grant).where(Grant.subject_id == viewer.subject_id).order_by(Grant.created_at.desc(), Grant.id)
    ).all()
    names = dict(session.execute(select(Org.id, Org.name)).all()) if any(g.orgs for g in found) else {}
    return [
        GrantView(
            grant,
            sorted(names.get(uuid.UUID(o), "?") for o in grant.orgs or []),
            list(
                session.scalars(
                    select(GrantAct)
                    .where(GrantAct.grant_id == grant.id)
                    .order_by(GrantAct.at.desc())
                    .limit(acts)
                )
            ),
        )
        for grant in found
    ]


def acts(session: Session, viewer: Viewer, *, limit: int) -> list[tuple[str, str, datetime]]:
    """What the person's agents did, newest first, as (agent name, act, when): for the person's access
    log. A business's window (a customer token) sees none of it."""
    if viewer.org_id is not None:
        return []
    rows = session.execute(
        select(Grant.name, GrantAct.act, GrantAct.at)
        .join(GrantAct, GrantAct.grant_id == Grant.id)
        .where(Grant.subject_id == viewer.subject_id)
        .order_by(GrantAct.at.desc())
        .limit(limit)
    )
    return [(name, act, at) for name, act, at in rows]


def revoke(session: Session, viewer: Viewer, grant_id: uuid.UUID, notary: Notary, now: datetime) -> None:
    """The person revokes one of their grants; NotFound for anyone else's."""
    if viewer.org_id is not None:
        raise Forbidden("only the verified person may revoke an agent's grant")
    grant = session.get(Grant, grant_id)
    if grant is None or grant.subject_id != viewer.subject_id:
        raise NotFound("no such grant")
    if grant.revoked_at is None:
        revoke_grant_row(session, grant.id, now, why="person")
        enter(session, notary, "grant.revoked", grant, now)


# ---- acting through a grant --------------------------------------------------------------------------


def window(session: Session, found: Authority, full: Viewer) -> Viewer:
    """The window an agent's call opens onto its person: limited to the grant's businesses, if it names
    any."""
    if found.orgs is None:
        return Viewer(full.subject_id, None, "", full.subject_ids, agent=found.agent)
    allowed = set(found.orgs)
    held = session.execute(
        select(SubjectRef.subject_id).where(
            SubjectRef.subject_id.in_(full.subject_ids), or_(*(SubjectRef.org_id == o for o in allowed))
        )
    )
    subjects = tuple(dict.fromkeys(s for (s,) in held))
    return Viewer(
        full.subject_id, None, "", subjects or (full.subject_id,), orgs=found.orgs, agent=found.agent
    )


def record(session: Session, found: Authority, act: str, notary: Notary, now: datetime) -> None:
    """An agent's act, done: in the person's list of what the agent did, and in the ledger. Called last
    in the act's transaction, so the ledger's head is held only from here to the commit."""
    assert found.grant_id is not None and found.subject_id is not None
    session.add(GrantAct(grant_id=found.grant_id, at=now, act=act[:200]))
    ledger_service.append(
        session,
        notary=notary,
        chain_id=acts_chain(found.subject_id),
        type="agent.acted",
        data={"subject": str(found.subject_id), "grant": str(found.grant_id), "act": act[:200]},
        at=now,
    )


def enter(session: Session, notary: Notary, kind: str, grant: Grant, now: datetime, **extra: Any) -> None:
    ledger_service.append(
        session,
        notary=notary,
        chain_id=CHAIN,
        type=kind,
        data={"subject": str(grant.subject_id), "grant": str(grant.id), "client": grant.client_id, **extra},
        at=now,
    )


def forget(session: Session, *, subject_id: uuid.UUID) -> None:
    """The person is erased: their grants go, with the names they gave their agents, what each agent
    did, its tokens and any code not yet traded. (The ledger's entries name ids and scopes only.)"""
    grants = select(Grant.id).where(Grant.subject_id == subject_id).scalar_subquery()
    for model in (GrantAct, GrantToken, GrantRequest):
        session.execute(delete(model).where(model.grant_id.in_(grants)))
    session.execute(delete(Grant).where(Grant.subject_id == subject_id))
