"""Shares: made once by the customer for several businesses, each reading only its own fields for its own
purpose, until the share expires or the customer takes it back — checked on every read, so a revocation
holds at once on every process. Every grant, read and revocation is a ledger entry on the business's
chain (field names only, never values) and a `share.updated` webhook; every read is in the customer's
access log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harken.clock import rfc3339
from harken.context import service as context_service
from harken.context.schemas import Provenance
from harken.errors import Invalid, NotFound
from harken.ledger.service import Notary
from harken.orgs.models import Org
from harken.shares.lending import LIVE_FIELDS_SET, record
from harken.shares.models import Share, ShareGrant, ShareUse
from harken.shares.schemas import GrantRead, SharedWithYou, SharePost, ShareRead
from harken.subjects import vault
from harken.subjects.models import SubjectRef
from harken.subjects.service import person, person_subjects
from harken.terms import service as terms_service
from harken.webhooks import outbox
from harken.webhooks.schemas import EventType

LONGEST = timedelta(days=30)


def create(
    session: Session,
    *,
    subject_id: uuid.UUID,
    window_org_id: uuid.UUID | None,
    body: SharePost,
    notary: Notary,
    now: datetime,
) -> Share:
    """Share with each business of `body.grants` its fields, for its purpose, until `body.expires_at`."""
    if body.expires_at <= now:
        raise Invalid("expires_at", "must lie in the future")
    if body.expires_at > now + LONGEST:
        raise Invalid("expires_at", "at most 30 days ahead")
    trip = body.trip.model_dump(mode="json", exclude_none=True) if body.trip else {}
    wanted = select(Org).where(Org.id.in_([g.org for g in body.grants]))
    orgs = {org.id: org for org in session.execute(wanted).scalars()}
    people = person(session, subject_id)
    for i, grant in enumerate(body.grants):
        if grant.org not in orgs:
            raise Invalid(f"grants[{i}].org", "no such business on this hub (GET /v1/me/directory)")
        refused = terms_service.declined(session, org_id=grant.org, subject_ids=people)
        if refused:
            raise Invalid(
                f"grants[{i}].org",
                f"{orgs[grant.org].name} declined your terms ({', '.join(refused)}): it cannot be shared with "
                "under them (withdraw the proffer at DELETE /v1/me/terms/{id} to share anyway)",
            )
        for field in grant.fields:
            name = field.removeprefix("trip.")
            if name != field and name not in trip:
                raise Invalid(f"grants[{i}].fields", f"the trip does not say {name}")
    data_key = vault.data_key(session, subject_id, now=now)
    share = Share(
        id=uuid.uuid4(),
        subject_id=subject_id,
        window_org_id=window_org_id,
        created_at=now,
        expires_at=body.expires_at,
        revoked_at=None,
    )
    share.label = vault.seal(data_key, body.label, _sealed_as(share.id, "label")) if body.label else None
    share.trip = vault.seal(data_key, trip, _sealed_as(share.id, "trip")) if trip else None
    session.add(share)
    session.flush()
    for grant in body.grants:
        row = ShareGrant(share_id=share.id, org_id=grant.org, purpose=str(grant.purpose), fields=grant.fields)
        session.add(row)
        session.flush()
        org = orgs[grant.org]
        record(session, notary, org, share, "share.granted", now, purpose=row.purpose, fields=row.fields)
        _announce(session, org, share, row, now)
    return share


def revoke(
    session: Session,
    *,
    subject_id: uuid.UUID,
    window_org_id: uuid.UUID | None,
    share_id: uuid.UUID,
    org_id: uuid.UUID | None,
    notary: Notary,
    now: datetime,
) -> None:
    """Take the share back from one business (`org_id`) or from all of them. Revoking twice is once."""
    share = _mine(session, subject_id, window_org_id, share_id)
    grants = _grants(session, share.id)
    if org_id is not None:
        grants = [g for g in grants if g.org_id == org_id]
        if not grants:
            raise NotFound(f"share {share_id} is not shared with {org_id}")
    else:
        share.revoked_at = share.revoked_at or now
    for grant in grants:
        if grant.revoked_at is None:
            grant.revoked_at = now
            org = session.get_one(Org, grant.org_id)
            record(session, notary, org, share, "share.revoked", now)
            _announce(session, org, share, grant, now)
    session.flush()


def listed(
    session: Session, *, subject_id: uuid.UUID, window_org_id: uuid.UUID | None, now: datetime
) -> list[ShareRead]:
    """The person's shares (through a business's app: those made there), newest first."""
    query = (
        select(Share)
        .where(Share.subject_id.in_(person_subjects(subject_id)))
        .order_by(Share.created_at.desc())
    )
    if window_org_id is not None:
        query = query.where(Share.window_org_id == window_org_id)
    return shown(session, list(session.execute(query).scalars()), now=now)


def shown(session: Session, shares: list[Share], *, now: datetime) -> list[ShareRead]:
    """The shares (one person's) as the customer sees them: who may still read each, how often they did."""
    if not shares:
        return []
    counted = session.execute(
        select(ShareUse.share_id, ShareUse.org_id, func.count())
        .where(ShareUse.share_id.in_([s.id for s in shares]))
        .group_by(ShareUse.share_id, ShareUse.org_id)
    )
    reads = {(share_id, org_id): int(n) for share_id, org_id, n in counted}
    names = dict(session.execute(select(Org.id, Org.name)).all())
    return [
        ShareRead(
            id=share.id,
            label=vault.unseal(
                vault.data_key(session, share.subject_id), share.label, _sealed_as(share.id, "label")
            )
            if share.label
            else None,
            trip=vault.unseal(
                vault.data_key(session, share.subject_id), share.trip, _sealed_as(share.id, "trip")
            )
            if share.trip
            else None,
            created_at=share.created_at,
            expires_at=share.expires_at,
            revoked_at=share.revoked_at,
            grants=[
                GrantRead(
                    org=g.org_id,
                    org_name=names[g.org_id],
                    purpose=g.purpose,
                    fields=g.fields,
                    active=_active(share, g, now),
                    revoked_at=g.revoked_at,
                    reads=reads.get((share.id, g.org_id), 0),
                )
                for g in _grants(session, share.id)
            ],
        )
        for share in shares
    ]


def read(session: Session, *, org: Org, share_id: uuid.UUID, notary: Notary, now: datetime) -> SharedWithYou:
    """The share as `org` may see it: its fields' current values, for its purpose. Not found once it
    expired or was taken back, as for a share that never named the org. The read is recorded."""
    found = session.execute(
        select(Share, ShareGrant)
        .join(ShareGrant, ShareGrant.share_id == Share.id)
        .where(Share.id == share_id, ShareGrant.org_id == org.id)
    ).first()
    if found is None or not _active(*found, now):
        raise NotFound(f"no share {share_id}")
    share, grant = found
    values = _values(session, share, grant.fields, now)
    data = {field: values[field] for field in grant.fields if field in values}
    session.add(
        ShareUse(
            share_id=share.id, org_id=org.id, subject_id=share.subject_id, fields=sorted(data), used_at=now
        )
    )
    record(session, notary, org, share, "share.used", now, fields=sorted(data))
    return SharedWithYou(
        id=share.id,
        ref=_ref(session, org.id, share.subject_id),
        purpose=grant.purpose,
        fields=grant.fields,
        data=data,
        expires_at=share.expires_at,
    )


def list_uses(
    session: Session,
    *,
    subject_ids: Sequence[uuid.UUID],
    org_id: uuid.UUID | None,
    limit: int,
    window_org_id: uuid.UUID | None = None,
) -> list[tuple[ShareUse, str, str]]:
    """Who read the customer's shares, newest first, with the purpose each was granted for: through a
    business's app (`org_id`), that business's reads, and with `window_org_id` also the reads of the
    shares made through that app."""
    query = (
        select(ShareUse, Org.name, ShareGrant.purpose)
        .join(Org, Org.id == ShareUse.org_id)
        .join(ShareGrant, (ShareGrant.share_id == ShareUse.share_id) & (ShareGrant.org_id == ShareUse.org_id))
        .join(Share, Share.id == ShareUse.share_id)
        .where(ShareUse.subject_id.in_(subject_ids))
        .order_by(ShareUse.used_at.desc())
        .limit(limit)
    )
    if org_id is not None:
        read_by = ShareUse.org_id == org_id
        query = query.where(
            read_by if window_org_id is None else read_by | (Share.window_org_id == window_org_id)
        )
    return [(use, name, purpose) for use, name, purpose in session.execute(query)]


def _values(session: Session, share: Share, fields: list[str], now: datetime) -> dict[str, Any]:
    """The share's `fields` as they stand now: the trip's, and the live data the customer declared in
    the window the share was made in (the centre: anywhere). Only what `fields` names is opened."""
    values: dict[str, Any] = {}
    if share.trip and any(f.startswith("trip.") for f in fields):
        trip = vault.unseal(
            vault.data_key(session, share.subject_id), share.trip, _sealed_as(share.id, "trip")
        )
        values.update((f"trip.{name}", value) for name, value in trip.items())
    if not LIVE_FIELDS_SET.isdisjoint(fields):
        values.update(
            declared(session, subject_id=share.subject_id, window_org_id=share.window_org_id, now=now)
        )
    return values


def declared(
    session: Session, *, subject_id: uuid.UUID, window_org_id: uuid.UUID | None, now: datetime
) -> dict[str, Any]:
    """The live fields (context, persona, interests) as the customer declared them, the latest of each:
    through a business's app, what they declared there; in the centre, anywhere."""
    if window_org_id is None:
        rows = context_service.facts(session, subject_id=subject_id)
        rows = [r for r in rows if r.valid_until is None or r.valid_until > now]
    else:
        rows, _ = context_service.visible(session, subject_id=subject_id, org_id=window_org_id, now=now)
    values: dict[str, Any] = {}
    mine = [r for r in rows if r.provenance == Provenance.declared]
    for row in sorted(mine, key=lambda r: r.recorded_at):  # the latest wins
        kind, _, name = row.key.partition(":")
        if kind == "context":
            values["context"] = row.value
        elif kind == "persona":
            values.setdefault("persona", {})[name] = row.value
        elif kind == "interest":
            values.setdefault("interests", {})[name] = row.value["affinity"]
    return values


def _active(share: Share, grant: ShareGrant, now: datetime) -> bool:
    return share.revoked_at is None and grant.revoked_at is None and share.expires_at > now


def _mine(
    session: Session, subject_id: uuid.UUID, window_org_id: uuid.UUID | None, share_id: uuid.UUID
) -> Share:
    share = session.get(Share, share_id)
    if (
        share is None
        or share.subject_id not in person(session, subject_id)
        or window_org_id not in (None, share.window_org_id)
    ):
        raise NotFound(f"no share {share_id}")
    return share


def _grants(session: Session, share_id: uuid.UUID) -> list[ShareGrant]:
    return list(
        session.execute(
            select(ShareGrant).where(ShareGrant.share_id == share_id).order_by(ShareGrant.org_id)
        ).scalars()
    )


def _ref(session: Session, org_id: uuid.UUID, subject_id: uuid.UUID) -> str | None:
    return session.execute(
        select(SubjectRef.ref)
        .where(SubjectRef.org_id == org_id, SubjectRef.subject_id.in_(person_subjects(subject_id)))
        .order_by(SubjectRef.ref)
        .limit(1)
    ).scalar()


def _announce(session: Session, org: Org, share: Share, grant: ShareGrant, now: datetime) -> None:
    """`share.updated` to the business: the share's id (read it with GET /v1/shares/{id}), its fields
    and purpose, and whether it may read it; its ref for the customer only if it knows them."""
    outbox.emit(
        session,
        org_id=org.id,
        type=EventType.share_updated,
        subject_id=share.subject_id,
        data={
            "share": str(share.id),
            "ref": _ref(session, org.id, share.subject_id),
            "status": "revoked" if grant.revoked_at or share.revoked_at else "active",
            "purpose": grant.purpose,
            "fields": grant.fields,
            "expires_at": rfc3339(share.expires_at),
        },
        now=now,
    )


def _sealed_as(share_id: uuid.UUID, part: str) -> str:
    return f"share:{share_id}:{part}"
