"""Credentials on the hub: issued to a customer as SD-JWT VCs signed by the hub's key, revoked through the
hub's Token Status Lists, and verified for orgs on the hub against a nonce the hub gave them. The hub
keeps no credential, only where its status lives and which fields it carries; issuing and revoking are
ledger entries (field names only, never values)."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from harken.credentials import sdjwt, statuslist
from harken.credentials.models import Credential, PresentationNonce, StatusEntry, StatusList
from harken.credentials.problems import PROBLEMS
from harken.credentials.schemas import (
    CredentialIssued,
    CredentialPost,
    CredentialRead,
    NonceRead,
    PresentationPost,
    PresentationVerified,
    StatusReference,
)
from harken.credentials.sdjwt import CredentialProblem
from harken.db import DIALECT_INSERT
from harken.errors import HarkenError, Invalid, NotFound
from harken.jws import JWSProblem, PublicKey, jwk_of, public_key_from_jwk
from harken.ledger import service as ledger_service
from harken.ledger.keys import KeyRing
from harken.ledger.service import Notary
from harken.orgs.models import Org
from harken.shares import service as share_service
from harken.subjects.service import person, person_subjects

LONGEST = timedelta(days=30)
VCT = "urn:harken:vct:context:1"
# 2^14 places a list: a revoked bit hides among thousands, and the list token stays a few hundred bytes.
LIST_SIZE = 1 << 14
STATUS_TTL = timedelta(minutes=5)  # how long a verifier may cache a status list token
STATUS_VALID_FOR = timedelta(days=1)
NONCE_TTL = timedelta(minutes=5)
DRAWS = 8
STATUS_LISTS = "/v1/status-lists/"


class Refused(HarkenError):
    """A presentation an org asked the hub to verify breaks a rule; the problem type names which."""

    status_code = 422

    def __init__(self, slug: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.slug, self.title = slug, title

    @classmethod
    def because(cls, problem: CredentialProblem) -> Refused:
        slug, title = PROBLEMS[problem.code]
        return cls(slug, title, str(problem))


def issue(
    session: Session,
    *,
    subject_id: uuid.UUID,
    window_org_id: uuid.UUID | None,
    body: CredentialPost,
    keys: KeyRing,
    issuer: str,
    notary: Notary,
    now: datetime,
    list_size: int = LIST_SIZE,
) -> CredentialIssued:
    """An SD-JWT VC of the chosen fields, bound to `body.holder_jwk`, with a fresh place in a status list.
    Trip fields are the values given; live fields (context, persona, interests) are what the customer
    declared (through a business's app: there), as they stand now."""
    if body.expires_at <= now:
        raise Invalid("expires_at", "must lie in the future")
    if body.expires_at > now + LONGEST:
        raise Invalid("expires_at", "at most 30 days ahead")
    try:
        holder = jwk_of(public_key_from_jwk(body.holder_jwk))  # only the public members, normalised
    except JWSProblem as exc:
        raise Invalid("holder_jwk", str(exc)) from exc
    carried = _carried(session, subject_id, window_org_id, body, now)
    list_id, idx = allocate(session, size=list_size, now=now)
    credential = Credential(
        id=uuid.uuid4(),
        subject_id=subject_id,
        window_org_id=window_org_id,
        list_id=list_id,
        idx=idx,
        vct=VCT,
        fields=body.fields,
        issued_at=now,
        expires_at=body.expires_at,
        revoked_at=None,
    )
    session.add(credential)
    session.flush()
    status = StatusReference(idx=idx, uri=status_list_uri(issuer, list_id))
    claims = {
        "iss": issuer,
        "iat": int(now.timestamp()),
        "exp": int(body.expires_at.timestamp()),
        "vct": VCT,
        "cnf": {"jwk": holder},
        "status": {"status_list": status.model_dump()},
        **carried,
    }
    token = sdjwt.issue(claims, key=keys.active, kid=keys.active_kid)
    _record(session, notary, credential, "credential.issued", now, fields=credential.fields)
    return CredentialIssued(credential=token, **_read(credential, issuer, now).model_dump())


def listed(
    session: Session, *, subject_id: uuid.UUID, window_org_id: uuid.UUID | None, issuer: str, now: datetime
) -> list[CredentialRead]:
    """The customer's credentials (through a business's app: those issued there), newest first."""
    query = select(Credential).where(Credential.subject_id.in_(person_subjects(subject_id)))
    if window_org_id is not None:
        query = query.where(Credential.window_org_id == window_org_id)
    found = session.execute(query.order_by(Credential.issued_at.desc(), Credential.id)).scalars()
    return [_read(credential, issuer, now) for credential in found]


def revoke(
    session: Session,
    *,
    subject_id: uuid.UUID,
    window_org_id: uuid.UUID | None,
    credential_id: uuid.UUID,
    notary: Notary,
    now: datetime,
) -> None:
    """Set the credential's status to INVALID: every verifier that reads its status list from now on
    refuses it (the hub's own verification at once). Revoking twice is once."""
    credential = session.get(Credential, credential_id)
    if (
        credential is None
        or credential.subject_id not in person(session, subject_id)
        or window_org_id not in (None, credential.window_org_id)
    ):
        raise NotFound(f"no credential {credential_id}")
    if credential.revoked_at is not None:
        return
    credential.revoked_at = now
    _invalidate(session, credential)
    _record(session, notary, credential, "credential.revoked", now)
    session.flush()


def erase(session: Session, *, subject_id: uuid.UUID) -> None:
    """For erasure: every credential of the person revoked in its status list, and its row deleted. The
    status entries stay, INVALID, saying nothing of whose they were."""
    for credential in session.execute(
        select(Credential).where(Credential.subject_id == subject_id)
    ).scalars():
        _invalidate(session, credential)
    session.execute(delete(Credential).where(Credential.subject_id == subject_id))


def status_list_token(
    session: Session, *, list_id: uuid.UUID, keys: KeyRing, issuer: str, now: datetime
) -> str:
    """The list as a Status List Token signed by the hub's active key, valid for a day, cached at most
    STATUS_TTL."""
    found = session.get(StatusList, list_id)
    if found is None:
        raise NotFound(f"no status list {list_id}")
    statuses = [statuslist.VALID] * found.size
    changed = select(StatusEntry.idx, StatusEntry.status).where(
        StatusEntry.list_id == list_id, StatusEntry.status != statuslist.VALID
    )
    for idx, status in session.execute(changed):
        statuses[idx] = status
    return statuslist.token(
        uri=status_list_uri(issuer, list_id),
        statuses=statuses,
        bits=1,
        iat=int(now.timestamp()),
        exp=int((now + STATUS_VALID_FOR).timestamp()),
        ttl=int(STATUS_TTL.total_seconds()),
        key=keys.active,
        kid=keys.active_kid,
    )


def new_nonce(session: Session, *, org: Org, issuer: str, now: datetime) -> NonceRead:
    """A nonce for one presentation to `org`, usable once within NONCE_TTL; the org's expired ones go."""
    session.execute(
        delete(PresentationNonce).where(
            PresentationNonce.org_id == org.id, PresentationNonce.expires_at <= now
        )
    )
    row = PresentationNonce(nonce=secrets.token_urlsafe(32), org_id=org.id, expires_at=now + NONCE_TTL)
    session.add(row)
    session.flush()
    return NonceRead(nonce=row.nonce, audience=audience(issuer, org.id), expires_at=row.expires_at)


def verify(
    session: Session, *, org: Org, body: PresentationPost, keys: KeyRing, issuer: str, now: datetime
) -> PresentationVerified:
    """The presented claims, if the hub signed them, they hold now, the holder's key bound them to this
    org and to a nonce the hub gave it and nobody used, and the credential was not revoked; the nonce is
    then used up. Otherwise Refused, naming the rule broken."""
    nonce = session.get(PresentationNonce, body.nonce)
    if nonce is None or nonce.org_id != org.id or nonce.expires_at <= now:
        raise Refused(
            "credential-nonce-unknown",
            "Unknown nonce",
            "this nonce was not given to you or has expired: ask POST /v1/credentials/nonces for one",
        )
    if nonce.used_at is not None:
        raise Refused("credential-replayed", "The nonce was used", "this nonce has been used already")
    public: dict[str | None, PublicKey] = dict(keys.public.items())
    try:
        verified = sdjwt.verify(
            body.presentation,
            keys=public,
            now=int(now.timestamp()),
            audience=audience(issuer, org.id),
            nonce=body.nonce,
        )
        _check_status(session, verified.claims, issuer)
    except CredentialProblem as problem:
        raise Refused.because(problem) from problem
    used = session.connection().execute(
        update(PresentationNonce)
        .where(PresentationNonce.nonce == nonce.nonce, PresentationNonce.used_at.is_(None))
        .values(used_at=now)
        .returning(PresentationNonce.nonce)
    )
    if used.first() is None:  # another verification took it between our read and now
        raise Refused("credential-replayed", "The nonce was used", "this nonce has been used already")
    return PresentationVerified(claims=verified.claims, disclosed=list(verified.disclosed))


def audience(issuer: str, org_id: uuid.UUID) -> str:
    """An org's identifier as a verifier: the `aud` a presentation to it must carry."""
    return f"{issuer}/orgs/{org_id}"


def status_list_uri(issuer: str, list_id: uuid.UUID) -> str:
    return f"{issuer}{STATUS_LISTS}{list_id}"


def _check_status(session: Session, claims: dict[str, Any], issuer: str) -> None:
    """Read from the hub's own lists, not their cached tokens: a revocation holds at once here."""
    uri, idx = statuslist.reference(claims)
    prefix = f"{issuer}{STATUS_LISTS}"
    try:
        list_id = uuid.UUID(uri.removeprefix(prefix)) if uri.startswith(prefix) else None
    except ValueError:
        list_id = None
    entry = session.get(StatusEntry, (list_id, idx)) if list_id and idx < 1 << 31 else None  # INTEGER
    if entry is None:
        raise CredentialProblem("status-list", f"{uri} index {idx} is no status the hub keeps")
    if entry.status != statuslist.VALID:
        raise CredentialProblem("revoked", f"the credential was revoked ({uri} index {idx})")


def _carried(
    session: Session,
    subject_id: uuid.UUID,
    window_org_id: uuid.UUID | None,
    body: CredentialPost,
    now: datetime,
) -> dict[str, Any]:
    """The claims to carry, by field: trip fields nested under `trip`, live fields at the top."""
    trip = body.trip.model_dump(mode="json", exclude_none=True) if body.trip else {}
    live = share_service.declared(session, subject_id=subject_id, window_org_id=window_org_id, now=now)
    carried: dict[str, Any] = {}
    for field in body.fields:
        name = field.removeprefix("trip.")
        if name != field:
            if name not in trip:
                raise Invalid("fields", f"the trip does not say {name}")
            carried.setdefault("trip", {})[name] = trip[name]
        elif field in live:
            carried[field] = live[field]
        else:
            raise Invalid("fields", f"you have declared no {field} to carry")
    return carried


def allocate(session: Session, *, size: int, now: datetime) -> tuple[uuid.UUID, int]:
    """A free place in a list with room, drawn at random so that a place does not tell when its
    credential was issued; a new list of `size` places when none has room. Two issuers drawing one
    place: the insert of one is ignored (ON CONFLICT DO NOTHING, after the other commits) and it draws
    again."""
    insert = DIALECT_INSERT[session.get_bind().dialect.name]
    open_list = (
        select(StatusList).where(StatusList.full_at.is_(None)).order_by(StatusList.created_at).limit(1)
    )
    for _ in range(DRAWS):
        found = session.execute(open_list).scalar()
        if found is None:
            found = StatusList(id=uuid.uuid4(), size=size, created_at=now, full_at=None)
            session.add(found)
            session.flush()
        taken = set(session.execute(select(StatusEntry.idx).where(StatusEntry.list_id == found.id)).scalars())
        if len(taken) >= found.size:
            found.full_at = now
            session.flush()
            continue
        idx = secrets.choice([i for i in range(found.size) if i not in taken])
        placed = session.connection().execute(
            insert(StatusEntry)
            .values(list_id=found.id, idx=idx, status=statuslist.VALID)
            .on_conflict_do_nothing()
            .returning(StatusEntry.idx)  # a row: ours (rowcount is -1 on PostgreSQL here)
        )
        if placed.first() is not None:
            return found.id, idx
    raise RuntimeError(f"no free status list place after {DRAWS} draws")


def _invalidate(session: Session, credential: Credential) -> None:
    session.execute(
        update(StatusEntry)
        .where(StatusEntry.list_id == credential.list_id, StatusEntry.idx == credential.idx)
        .values(status=statuslist.INVALID)
    )


def _read(credential: Credential, issuer: str, now: datetime) -> CredentialRead:
    """Not from_attributes: `active` depends on the time, and `status` on where the hub publishes its lists."""
    return CredentialRead(
        id=credential.id,
        vct=credential.vct,
        fields=credential.fields,
        issued_at=credential.issued_at,
        expires_at=credential.expires_at,
        revoked_at=credential.revoked_at,
        active=credential.revoked_at is None and credential.expires_at > now,
        status=StatusReference(idx=credential.idx, uri=status_list_uri(issuer, credential.list_id)),
    )


def _record(
    session: Session, notary: Notary, credential: Credential, type: str, now: datetime, **data: Any
) -> None:
    """On the chain of the business whose app issued it; the hub's `credentials` chain for the centre."""
    window = credential.window_org_id
    ledger_service.append(
        session,
        notary=notary,
        chain_id=f"org:{window}" if window else "credentials",
        type=type,
        at=now,
        data={"credential": str(credential.id), "subject": str(credential.subject_id), **data},
    )
