"""The org's offers, decisions with reasons, feedback — and the customer's access log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.datastructures import Headers
from starlette.types import Scope

from harken import fastpath, paging
from harken.centre.i18n import accepted
from harken.context.schemas import AccessEntry, Item
from harken.decisions import service as decision_service
from harken.decisions.models import Offer
from harken.decisions.reasons import explain, language, render
from harken.decisions.rules import RULES
from harken.decisions.schemas import (
    DataUsed,
    DecisionPost,
    DecisionRead,
    FeedbackPost,
    OfferPage,
    OfferPut,
    OfferRead,
    RankedRead,
    ReasonRead,
)
from harken.deps import Now
from harken.errors import PROBLEM_RESPONSES
from harken.grants import service as grants_service
from harken.learning import serving as learning
from harken.observe import metrics
from harken.orgs.api import Call, OrgCall
from harken.orgs.models import Org
from harken.shares import service as share_service
from harken.subjects.api import Me
from harken.subjects.viewer import Viewer

router = APIRouter(tags=["decisions"], responses=PROBLEM_RESPONSES)
# The language of the sentences in an answer: the first of Accept-Language they are written in, else English.
AcceptLanguage = Annotated[
    str | None, Header(description="The language of the sentences; English by default.")
]


def _language(accept_language: str | None, response: Response) -> str:
    chosen = language(accepted(accept_language))
    response.headers["Content-Language"] = chosen
    response.headers["Vary"] = "Accept-Language"  # RFC 9110 §12.5.5: the sentences depend on it
    return chosen


@router.put("/v1/offers/{offer_id}", response_model=OfferRead, responses={201: {"model": OfferRead}})
async def put_offer(offer_id: Item, body: OfferPut, call: Call, now: Now, response: Response) -> OfferRead:
    """Create (201) or replace (200) an offer in your catalogue."""

    def work(session: Session, org: Org) -> tuple[OfferRead, bool]:
        offer, created = decision_service.put_offer(session, org=org, offer_id=offer_id, body=body, now=now)
        return _offer(offer), created

    offer, created = await call(work)
    response.status_code = 201 if created else 200
    return offer


@router.get("/v1/offers", response_model=OfferPage)
async def list_offers(
    call: Call, request: Request, response: Response, limit: paging.Limit = 100, cursor: paging.Cursor = None
) -> OfferPage:
    """Your offers in id order, a page at a time (`next_cursor`, and a `Link: rel="next"` header)."""
    after = paging.decode(cursor, "offers", str)

    def work(session: Session, org: Org) -> OfferPage:
        found = decision_service.offers(session, org=org, after=after[0] if after else None, limit=limit)
        more = len(found) > limit
        items = [_offer(o) for o in found[:limit]]
        return OfferPage(items=items, next_cursor=paging.encode("offers", items[-1].id) if more else None)

    page = await call(work)
    paging.link_next(request, response, page.next_cursor)
    return page


@router.get("/v1/offers/{offer_id}", response_model=OfferRead)
async def get_offer(offer_id: Item, call: Call) -> OfferRead:
    return await call(
        lambda session, org: _offer(decision_service.get_offer(session, org=org, offer_id=offer_id))
    )


def _offer(offer: Offer) -> OfferRead:
    return OfferRead.model_validate({**offer.spec, "id": offer.id, "updated_at": offer.updated_at})


@router.post("/v1/decisions", response_model=DecisionRead)
async def post_decision(
    body: DecisionPost, call: Call, now: Now, response: Response, accept_language: AcceptLanguage = None
) -> DecisionRead:
    """May I contact this customer now, on which channel, with which of these offers? The answer comes
    with reasons, a sentence you may show, the data it used, and when to ask again. An unknown ref is
    "don't send" (`subject.unknown`), never an error. Sentences are in the language of Accept-Language
    (English, German, French), English by default."""
    said = _language(accept_language, response)
    return await _decide(call, body, now, said)


async def _post_decision_fast(scope: Scope, body: DecisionPost) -> Response | None:
    """`post_decision` on the fast path (`harken.fastpath`); None leaves a caller that is not an org
    to the FastAPI route, which refuses it."""
    call = OrgCall.of(scope)
    if call is None:
        return None
    said = language(accepted(Headers(scope=scope).get("accept-language")))  # as _language
    decision = await _decide(call, body, call.hub.clock(), said)
    content = decision.__pydantic_serializer__.to_json(decision)
    headers = {"Content-Language": said, "Vary": "Accept-Language"}
    return Response(content, media_type="application/json", headers=headers)


def fast_decisions(twin: APIRoute) -> fastpath.FastRoute[DecisionPost]:
    return fastpath.FastRoute(twin, DecisionPost.model_validate_json, _post_decision_fast)


async def _decide(call: OrgCall, body: DecisionPost, now: datetime, said: str) -> DecisionRead:
    def work(session: Session, org: Org) -> DecisionRead:
        scorer, cap = learning.policy(session, org)  # the org's live model and exploration cap, if any
        return _decision(
            decision_service.decide(
                session,
                org=org,
                body=body,
                notary=call.hub.notary,
                now=now,
                memory=call.hub.memory,
                clock=call.hub.clock,
                scorer_for=lambda _: scorer or RULES,
                explore_cap=cap,
            ),
            said,
        )

    return metrics.decided(await call(metrics.timed(work)))  # counted once committed


def _decision(decided: decision_service.Decided, said: str) -> DecisionRead:
    decision = decided.decision
    return DecisionRead(
        decision_id=str(decided.id),
        allowed=decision.allowed,
        channel=decision.channel,
        offer=decision.offer,
        ranking=[
            RankedRead(
                offer_id=r.offer_id,
                eligible=r.eligible,
                score=r.score,
                reasons=[ReasonRead(code=x.code, message=render(x, said)) for x in r.reasons],
            )
            for r in decision.ranking
        ],
        reasons=[ReasonRead(code=r.code, message=render(r, said)) for r in decision.reasons],
        explanation=explain(decision.explained, said),
        data_used=[DataUsed(field=f, provenance=p) for f, p in decision.data_used],
        retry_after=decision.retry_after,
        at=decided.at,
    )


@router.post("/v1/decisions/{decision_id}/feedback", status_code=204)
async def post_feedback(decision_id: uuid.UUID, body: FeedbackPost, call: Call, now: Now) -> Response:
    """What became of a decision. Dismissed or not relevant holds the offer back for its suppression
    window; opted-out records the customer's withdrawal of the decision's purpose (with a receipt)."""
    await call(
        lambda session, org: decision_service.feedback(
            session, org=org, decision_id=decision_id, kind=body.kind, notary=call.hub.notary, now=now
        )
    )
    return Response(status_code=204)


@router.get("/v1/me/access-log", response_model=list[AccessEntry], tags=["me"])
async def get_access_log(
    me: Me,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    accept_language: AcceptLanguage = None,
) -> list[AccessEntry]:
    """Who asked about me, when, for what purpose and channel, what they were told and why, and who read
    what I shared — newest first. Through a business's app: that business's questions and reads, and
    the reads of what I shared through it. Decisions are explained in the language of Accept-Language."""
    said = _language(accept_language, response)

    def work(session: Session, window: Viewer) -> list[AccessEntry]:
        subject_ids, org_id = window.subject_ids, window.org_id
        asked = [
            AccessEntry(
                decision_id=str(log.id),
                org=name,
                at=log.decided_at,
                purpose=log.purpose,
                channels=log.channels,
                allowed=log.allowed,
                channel=log.channel,
                offer=log.offer_id,
                reasons=log.reason_codes,
                fields=log.data_used,
                explanation=log.said(said),
            )
            for log, name in decision_service.access_log(
                session, subject_ids=subject_ids, org_id=org_id, limit=limit
            )
        ]
        read = [
            AccessEntry(
                kind="share.read",
                share=str(use.share_id),
                org=name,
                at=use.used_at,
                purpose=purpose,
                fields=use.fields,
                explanation=f"{name} read {', '.join(use.fields) or 'nothing'} of your share, for {purpose}.",
            )
            for use, name, purpose in share_service.list_uses(
                session, subject_ids=subject_ids, org_id=org_id, window_org_id=org_id, limit=limit
            )
        ]
        acted = [  # the person's own agents: "through <agent name>" (harken.grants)
            AccessEntry(
                kind="agent", agent=name, org="", at=at, purpose=act, explanation=f"Through {name}: {act}"
            )
            for name, act, at in grants_service.acts(session, window, limit=limit)
        ]
        return sorted(asked + read + acted, key=lambda entry: entry.at, reverse=True)[:limit]

    return await me(work)
