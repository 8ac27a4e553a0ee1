"""What a person's shares lend an org's decisions: the live grants (`live_grants`, `lends_any`) and the
facts they lend (`lends_fact`), all reads; and `record_use`, the one write: each use recorded as a read,
as GET /v1/shares/{id} records one. Read on every decision that a share lends to."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from harken.context.schemas import Provenance
from harken.context.service import StoredFact
from harken.ledger import service as ledger_service
from harken.ledger.service import Notary
from harken.orgs.models import Org
from harken.shares.models import Share, ShareGrant, ShareUse
from harken.shares.schemas import LIVE_FIELDS
from harken.subjects.service import person_subjects

LIVE_FIELDS_SET = frozenset(LIVE_FIELDS)


class Lend(NamedTuple):
    """An active grant of live fields, as a decision needs it (Core, not the ORM: it is read on every
    decision)."""

    id: uuid.UUID  # the share's
    subject_id: uuid.UUID
    window_org_id: uuid.UUID | None
    fields: list[str]


Lent = Sequence[Lend]
_FIELD_OF_KIND = {"context": "context", "persona": "persona", "interest": "interests"}


def live_grants(
    session: Session, *, org_id: uuid.UUID, subject_id: uuid.UUID, purpose: str, now: datetime
) -> Lent:
    """The org's active grants of the person's live fields for `purpose`: what its decisions for that
    purpose may use. A share for another purpose lends nothing to them."""
    found = session.connection().execute(
        _LIVE_GRANTS, {"subject_id": subject_id, "org_id": org_id, "purpose": purpose, "now": now}
    )
    return [Lend(*row) for row in found if not LIVE_FIELDS_SET.isdisjoint(row.fields)]


# A grant still live: of a share of the person's, to this org, neither revoked nor expired.
_LIVE_GRANT = (
    Share.subject_id.in_(person_subjects(bindparam("subject_id"))),
    Share.revoked_at.is_(None),
    Share.expires_at > bindparam("now"),
    ShareGrant.org_id == bindparam("org_id"),
    ShareGrant.revoked_at.is_(None),
)
_LIVE_GRANTS = (
    select(Share.id, Share.subject_id, Share.window_org_id, ShareGrant.fields)
    .join(ShareGrant, ShareGrant.share_id == Share.id)
    .where(*_LIVE_GRANT, ShareGrant.purpose == bindparam("purpose"))
)


def lends_any(session: Session, *, org_id: uuid.UUID, subject_id: uuid.UUID, now: datetime) -> bool:
    """Whether any share of the person's grants the org something, for any purpose."""
    found = session.connection().execute(_LENDS_ANY, {"subject_id": subject_id, "org_id": org_id, "now": now})
    return found.first() is not None


_LENDS_ANY = select(Share.id).join(ShareGrant, ShareGrant.share_id == Share.id).where(*_LIVE_GRANT).limit(1)


def lends_fact(grants: Lent, row: StoredFact) -> bool:
    """Whether the grants lend this fact: declared, of a field a grant names, and declared where that
    share was made (a share made in the centre: anywhere), as GET /v1/shares/{id} reads it."""
    field = _FIELD_OF_KIND.get(row.key.partition(":")[0])
    return (
        field is not None
        and row.provenance == Provenance.declared
        and any(
            field in lend.fields and (lend.window_org_id is None or row.source == str(lend.window_org_id))
            for lend in grants
        )
    )


def record_use(
    session: Session, *, org: Org, grants: Lent, fields: set[str], notary: Notary, now: datetime
) -> None:
    """A decision used `fields` (share field names): a read of each share lending them, recorded as
    GET /v1/shares/{id} records one."""
    for lend in grants:
        read = sorted(fields.intersection(lend.fields))
        if read:
            session.add(
                ShareUse(
                    share_id=lend.id, org_id=org.id, subject_id=lend.subject_id, fields=read, used_at=now
                )
            )
            record(session, notary, org, lend, "share.used", now, fields=read, by="decision")


def record(
    session: Session, notary: Notary, org: Org, share: Share | Lend, type: str, now: datetime, **data: Any
) -> None:
    """A share's act (made, revoked, read, used) in the org's ledger chain."""
    ledger_service.append(
        session,
        notary=notary,
        chain_id=org.chain,
        type=type,
        at=now,
        data={"share": str(share.id), "subject": str(share.subject_id), "org": str(org.id), **data},
    )
