from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session
from starlette.types import Scope

from harken import fastpath, paging
from harken.consent import proof
from harken.consent import service as consent_service
from harken.consent.models import ConsentRecord, Notice
from harken.consent.purposes import CATALOGUE, PurposeKey
from harken.consent.schemas import (
    ConsentPage,
    ConsentPut,
    ConsentRead,
    ConsentState,
    ConsentStates,
    LedgerPosition,
    NoticePage,
    NoticePut,
    NoticeRead,
    NoticeRef,
    PurposePath,
    PurposeRead,
    ReceiptProof,
    SignedCheckpoint,
    SignedReceipt,
)
from harken.deps import Now
from harken.errors import PROBLEM_RESPONSES, Invalid
from harken.ledger import service as ledger_service
from harken.ledger.receipts import sign_receipt
from harken.orgs.api import Call, OrgCall
from harken.orgs.models import Org
from harken.subjects.schemas import Ref

router = APIRouter(tags=["consent"], responses=PROBLEM_RESPONSES)


@router.get("/v1/purposes", response_model=list[PurposeRead])
async def list_purposes() -> list[PurposeRead]:
    """The purpose catalogue, with legal bases and W3C DPV identifiers."""
    return [PurposeRead.model_validate(p, from_attributes=True) for p in CATALOGUE.values()]


@router.put("/v1/notices/{purpose}", response_model=NoticeRead, responses={201: {"model": NoticeRead}})
async def put_notice(
    purpose: PurposePath, body: NoticePut, call: Call, now: Now, response: Response
) -> NoticeRead:
    """Store the notice text as the next version (201); the latest text again changes nothing (200)."""

    def work(session: Session, org: Org) -> tuple[NoticeRead, bool]:
        notice, created = consent_service.put_notice(
            session, org=org, purpose=purpose, text=body.text, locale=body.locale, now=now
        )
        return _notice(notice), created

    notice, created = await call(work)
    response.status_code = 201 if created else 200
    return notice


@router.get("/v1/notices", response_model=NoticePage)
async def list_notices(
    call: Call,
    request: Request,
    response: Response,
    purpose: PurposeKey | None = None,
    limit: paging.Limit = 100,
    cursor: paging.Cursor = None,
) -> NoticePage:
    """Every version of your notices (or of one purpose's), in (purpose, version) order, a page at a time
    (`next_cursor`, and a `Link: rel="next"` header)."""
    after = paging.decode(cursor, "notices", str, int)

    def work(session: Session, org: Org) -> NoticePage:
        key = (after[0], after[1]) if after else None
        found = consent_service.notices(session, org=org, purpose=purpose, after=key, limit=limit)
        items = [_notice(n) for n in found[:limit]]
        last = items[-1] if len(found) > limit else None
        return NoticePage(
            items=items, next_cursor=paging.encode("notices", last.purpose, last.version) if last else None
        )

    page = await call(work)
    paging.link_next(request, response, page.next_cursor)
    return page


@router.get("/v1/notices/{purpose}", response_model=NoticeRead)
async def get_notice(
    purpose: PurposePath, call: Call, version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
) -> NoticeRead:
    """The latest notice for a purpose, or the given version."""
    return await call(
        lambda session, org: _notice(
            consent_service.notice(session, org=org, purpose=purpose, version=version)
        )
    )


@router.put(
    "/v1/subjects/{ref}/consents/{purpose}",
    response_model=ConsentRead,
    responses={
        201: {"model": ConsentRead, "description": "Recorded: a new record, ledger entry and receipt"}
    },
)
async def record_consent(
    ref: Ref, purpose: PurposePath, body: ConsentPut, call: Call, now: Now, response: Response
) -> ConsentRead:
    """Record a consent decision captured at your touchpoint. Durable and in the ledger on return (201);
    the decision already in force, sent again, is returned as it stands (200)."""
    consent, created = await _record(call, ref, purpose, body, now)
    response.status_code = 201 if created else 200
    return consent


async def _record(
    call: OrgCall, ref: str, purpose: str, body: ConsentPut, now: datetime
) -> tuple[ConsentRead, bool]:
    def work(session: Session, org: Org) -> tuple[ConsentRead, bool]:
        recorded = consent_service.record(
            session, org=org, ref=ref, purpose=purpose, change=body, notary=call.hub.notary, now=now
        )
        consent = recorded.record
        return _read(session, [consent], ref, {(consent.chain, consent.seq): recorded.ledger_hash})[
            0
        ], recorded.created

    return await call(work)


_REF, _PURPOSE = TypeAdapter(Ref), TypeAdapter(PurposeKey)


async def _record_fast(scope: Scope, body: ConsentPut) -> Response | None:
    """`record_consent` on the fast path (`harken.fastpath`): None leaves what the route's own checks
    would refuse (a ref or purpose they reject, a caller that is not an org) to the FastAPI route."""
    call = OrgCall.of(scope)
    try:
        ref = _REF.validate_python(scope["path_params"]["ref"])
        purpose = _PURPOSE.validate_python(scope["path_params"]["purpose"])
    except ValidationError:
        return None
    if call is None:
        return None
    consent, created = await _record(call, ref, purpose, body, call.hub.clock())
    content = consent.__pydantic_serializer__.to_json(consent)
    return Response(content, status_code=201 if created else 200, media_type="application/json")


def fast_consents(twin: APIRoute) -> fastpath.FastRoute[ConsentPut]:
    return fastpath.FastRoute(twin, ConsentPut.model_validate_json, _record_fast)


@router.get("/v1/subjects/{ref}/consents", response_model=ConsentStates)
async def current_consents(ref: Ref, call: Call, now: Now) -> ConsentStates:
    """The decision in force per purpose; `expired` once its expiry has passed."""

    def work(session: Session, org: Org) -> ConsentStates:
        records = consent_service.current(session, org=org, ref=ref)
        reads = _read(session, records, ref)
        return ConsentStates(
            ref=ref,
            at=now,
            consents=[
                ConsentState(
                    purpose=r.purpose,
                    status=consent_service.effective_status(r, now),
                    channels=read.channels,
                    record=read,
                )
                for r, read in zip(records, reads, strict=True)
            ],
        )

    return await call(work)


@router.get("/v1/subjects/{ref}/consents/history", response_model=ConsentPage)
async def consent_history(
    ref: Ref,
    call: Call,
    purpose: PurposeKey | None = None,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
    cursor: Annotated[
        str | None, Query(max_length=20, description="`next_cursor` of the previous page")
    ] = None,
) -> ConsentPage:
    """Every record, newest first."""
    if cursor is not None and not (cursor.isdigit() and 0 < int(cursor) < 2**63):
        raise Invalid("cursor", "pass the `next_cursor` of the previous page unchanged")

    def work(session: Session, org: Org) -> ConsentPage:
        records, next_seq = consent_service.history(
            session,
            org=org,
            ref=ref,
            purpose=purpose,
            limit=limit or call.hub.settings.history_page_size,
            before_seq=int(cursor) if cursor else None,
        )
        return ConsentPage(
            items=_read(session, records, ref), next_cursor=str(next_seq) if next_seq else None
        )

    return await call(work)


@router.get("/v1/receipts/{receipt_id}", response_model=SignedReceipt)
async def get_receipt(receipt_id: uuid.UUID, call: Call) -> SignedReceipt:
    """The record's receipt, signed by the hub (verify with /.well-known/jwks.json, offline)."""

    def work(session: Session, org: Org) -> SignedReceipt:
        consent, ref = consent_service.find_record(session, org=org, record_id=receipt_id)
        document = proof.receipt_document(
            session, org=org, consent=consent, ref=ref, issuer=call.hub.settings.public_url
        )
        return SignedReceipt(receipt=document, jws=sign_receipt(document, call.hub.keys))

    return await call(work)


@router.get("/v1/receipts/{receipt_id}/proof", response_model=ReceiptProof)
async def get_receipt_proof(receipt_id: uuid.UUID, call: Call, now: Now) -> ReceiptProof:
    """Proof that the receipt's ledger entry is still in the chain under a signed checkpoint:
    check it with `harken receipt verify FILE --jwks JWKS --proof PROOF`."""

    def work(session: Session, org: Org) -> ReceiptProof:
        consent, _ = consent_service.find_record(session, org=org, record_id=receipt_id)
        digests, checkpoint = ledger_service.proof(
            session, notary=call.hub.notary, chain_id=consent.chain, seq=consent.seq, at=now
        )
        entry_hash = consent_service.ledger_hashes(session, [consent])[(consent.chain, consent.seq)]
        return ReceiptProof(
            entry=LedgerPosition(chain=consent.chain, seq=consent.seq, hash=entry_hash),
            digests=digests,
            checkpoint=SignedCheckpoint(
                chain=checkpoint.chain, seq=checkpoint.seq, hash=checkpoint.hash, jws=checkpoint.jws
            ),
        )

    return await call(work)


def _notice(notice: Notice) -> NoticeRead:
    return NoticeRead.model_validate(notice, from_attributes=True)


def _read(  # not from_attributes: the ledger position, evidence and receipt link are looked up or built
    session: Session, records: list[ConsentRecord], ref: str, hashes: dict[tuple[str, int], str] | None = None
) -> list[ConsentRead]:
    hashes = hashes or consent_service.ledger_hashes(session, records)
    return [
        ConsentRead(
            id=r.id,
            ref=ref,
            purpose=r.purpose,
            status=r.status,
            channels=r.channels,
            notice=NoticeRef(version=r.notice_version, sha256=r.notice_sha256)
            if r.notice_version is not None and r.notice_sha256
            else None,
            method=r.method,
            captured_at=r.captured_at,
            expires_at=r.expires_at,
            recorded_at=r.recorded_at,
            evidence=consent_service.evidence(session, r),
            ledger=LedgerPosition(chain=r.chain, seq=r.seq, hash=hashes[(r.chain, r.seq)]),
            receipt=f"/v1/receipts/{r.id}",
        )
        for r in records
    ]
