"""A synchronous Python client for Harken's org API, and webhook verification for the org's receiver.

    from harken.client import Harken, HarkenError, verify_webhook

    with Harken("https://harken.example.com", api_key="hk_...") as harken:
        harken.register("cust-1042", email="priya@example.com")
        consent = harken.record_consent("cust-1042", "marketing", "granted", channels=["email"])
        decision = harken.decide("cust-1042", "marketing", ["email", "sms"], offer_ids=["tea-sampler"])
        if decision.allowed:
            send(decision.channel, decision.offer)          # then tell Harken how it went:
            harken.feedback(decision.decision_id, "accepted")
        try:
            harken.record_consent("cust-1042", "newsletters", "granted")
        except HarkenError as problem:                      # RFC 9457: status, title, detail, errors
            print(problem.status, problem.fields)           # 422 {'path.purpose': "Input should be ..."}

    # In the endpoint that receives Harken's webhooks (the raw body, before any JSON parsing):
    event = verify_webhook(secret, request_body, request_headers)  # raises WebhookVerificationError

Every method returns the server's own response model (pydantic), so responses are typed and in step
with the server. Each POST and PUT carries a fresh `Idempotency-Key`, the same on each of its retries:
a write retried after a lost response is done once. A call is tried up to `max_attempts` times (3) on
connection errors, timeouts, 409 (the same key still in flight), 429 and 5xx, with exponential backoff
and jitter, waiting `Retry-After` when the server sends one; any other 4xx is raised at once as a
`HarkenError`, and so is the last answer when attempts run out. A connection error still failing
after the last attempt is raised as httpx raised it. PATCH and DELETE carry no key (the hub reads it
on POST and PUT only) and are retried as they are: the same preferences set again, or an endpoint
deleted again, leave the same state (a PATCH that had landed is recorded, and notified, twice).
"""

from __future__ import annotations

import enum
import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Final, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

import harken
from harken.consent.schemas import (
    Channel,
    ConsentPage,
    ConsentRead,
    ConsentStates,
    Method,
    NoticeRead,
    PurposeRead,
    ReceiptProof,
    SignedReceipt,
    Status,
)
from harken.context.schemas import Datum, EventRead, EventType, Provenance, SubjectView
from harken.credentials.schemas import NonceRead, PresentationVerified
from harken.decisions.schemas import Candidate, DecisionRead, FeedbackKind, OfferRead
from harken.errors import FieldProblem
from harken.profiling.schemas import AnswerRead, NextQuestion, Option, QuestionRead
from harken.shares.schemas import SharedWithYou
from harken.subjects.schemas import SessionRead, SubjectRead
from harken.webhooks.schemas import AttemptRead, DeliveryRead, EndpointCreated, EndpointRead, Replayed
from harken.webhooks.signing import WebhookVerificationError
from harken.webhooks.signing import verify as verify_webhook

__all__ = [
    "AnswerRead",
    "AttemptRead",
    "Candidate",
    "ConsentPage",
    "ConsentRead",
    "ConsentStates",
    "Datum",
    "DecisionRead",
    "DeliveryRead",
    "EndpointCreated",
    "EndpointRead",
    "EventRead",
    "FieldProblem",
    "Harken",
    "HarkenError",
    "NextQuestion",
    "NonceRead",
    "NoticeRead",
    "OfferRead",
    "Option",
    "PresentationVerified",
    "PurposeRead",
    "QuestionRead",
    "ReceiptProof",
    "SessionRead",
    "SharedWithYou",
    "SignedReceipt",
    "SubjectRead",
    "SubjectView",
    "WebhookVerificationError",
    "verify_webhook",
]

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

# The values a caller writes as constants; the server's enums are accepted as well.
StatusName = Literal["granted", "denied", "withdrawn"]
ChannelName = Literal["email", "sms", "push", "phone", "post", "in-app"]
MethodName = Literal["preference-centre", "api", "import", "gpc"]
OrgProvenanceName = Literal["observed", "inferred"]
EventTypeName = Literal["purchase", "offer.shown", "offer.accepted", "offer.dismissed"]
FeedbackName = Literal["accepted", "dismissed", "not-relevant", "opted-out"]
WebhookEventName = Literal[
    "consent.updated", "preferences.updated", "context.updated", "share.updated", "subject.erased"
]
DeliveryStatusName = Literal["pending", "delivered", "dead", "disabled"]


class _Unset(enum.Enum):
    UNSET = "UNSET"


UNSET: Final = _Unset.UNSET
"""An argument not given: the PATCH leaves that preference as it is (None removes it)."""


_DATA = TypeAdapter(list[Datum])
_PURPOSES = TypeAdapter(list[PurposeRead])
_ENDPOINTS = TypeAdapter(list[EndpointRead])
_DELIVERIES = TypeAdapter(list[DeliveryRead])
_DOCUMENT = TypeAdapter(dict[str, Any])
_FIELD_PROBLEMS = TypeAdapter(list[FieldProblem])


# ---- errors ---------------------------------------------------------------------------------------


class HarkenError(Exception):
    """An answer other than 2xx, as the server's RFC 9457 problem: `errors` names each wrong field."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        type: str = "about:blank",
        errors: Sequence[FieldProblem] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}" if detail else f"{status} {title}")
        self.status, self.title, self.detail, self.type = status, title, detail, type
        self.errors = list(errors)
        self.retry_after = retry_after
        """Seconds the server asked to wait before trying again (`Retry-After`), if it said."""

    @property
    def fields(self) -> dict[str, str]:
        """field → message, e.g. {"channels[0]": "Input should be 'email', 'sms', ..."}."""
        return {e.field: e.message for e in self.errors}

    @classmethod
    def from_response(cls, response: httpx.Response) -> HarkenError:
        retry_after = _retry_after(response.headers.get("retry-after"))
        try:
            problem = response.json()
        except ValueError:
            problem = None
        if not isinstance(problem, dict) or "title" not in problem:  # a proxy's page, not the hub's
            text = response.text.strip()[:500]
            return cls(
                response.status_code, response.reason_phrase or "HTTP error", text, retry_after=retry_after
            )
        try:
            errors = _FIELD_PROBLEMS.validate_python(problem.get("errors") or [])
        except ValidationError:
            errors = []
        return cls(
            response.status_code,
            str(problem["title"]),
            str(problem.get("detail", "")),
            type=str(problem.get("type", "about:blank")),
            errors=errors,
            retry_after=retry_after,
        )


def _retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header: delay-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


# ---- the client -----------------------------------------------------------------------------------

_WRITES = frozenset({"POST", "PUT"})  # the methods the hub's Idempotency-Key covers
_RETRYABLE_STATUS = frozenset({409, 429, 500, 502, 503, 504})
IN_FLIGHT = "/problems/idempotency-key-in-flight"


def _segment(value: object) -> str:
    """A path parameter, percent-encoded (refs may hold `:`, `@` and `+`)."""
    return quote(str(value), safe="")


def _given(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A request body without the fields left out (None for a PUT or POST, UNSET for a PATCH)."""
    return {name: value for name, value in fields.items() if value is not None and value is not UNSET}


class Harken:
    """The org API of one Harken hub, with one org's API key (`hk_...`).

    `http`: an httpx.Client of your own (its transport, proxies, headers and timeouts), which
    `close()` leaves open. Otherwise the client makes one, with `transport` (e.g. an
    httpx.MockTransport in tests) and `timeout`. `max_attempts`: tries per call (1: no retries);
    `backoff`: the first retry's wait in seconds, doubled each time up to `max_backoff`, jittered;
    `max_retry_after`: the longest `Retry-After` honoured (a longer one is raised at once, as a
    HarkenError with `retry_after`); `sleep`: how to wait (tests pass a list's append).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx.Timeout = 10.0,
        transport: httpx.BaseTransport | None = None,
        http: httpx.Client | None = None,
        max_attempts: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_retry_after: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if http is not None and transport is not None:
            raise ValueError("give either http (a client of your own) or transport, not both")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(transport=transport, timeout=timeout)
        self.max_attempts, self.backoff, self.max_backoff = max_attempts, backoff, max_backoff
        self.max_retry_after = max_retry_after
        self._sleep = sleep

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Harken:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Harken({self.base_url!r})"

    @staticmethod
    def verify_webhook(
        secret: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        tolerance: timedelta = timedelta(minutes=5),
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """`harken.client.verify_webhook`: the payload of a webhook Harken signed, or
        WebhookVerificationError."""
        return verify_webhook(secret, body, headers, tolerance=tolerance, now=now)

    # ---- customers ---------------------------------------------------------------------------

    def register(self, ref: str, email: str | None = None) -> SubjectRead:
        """Register a customer under your own ref (`created` is False if it already was). The email,
        if they gave it, links them to the same person at other businesses (kept only as a digest)."""
        body = {"email": email} if email is not None else None
        return self._model(SubjectRead, "PUT", f"/v1/subjects/{_segment(ref)}", body)

    def customer(self, ref: str) -> SubjectView:
        """What you may see of your customer: their consents and the data your purposes need."""
        return self._model(SubjectView, "GET", f"/v1/subjects/{_segment(ref)}")

    def customer_token(self, ref: str, ttl_seconds: int = 900) -> SessionRead:
        """A short-lived customer token (`hc_...`, 60 to 3600 s) for your app to embed their own controls."""
        path = f"/v1/subjects/{_segment(ref)}/sessions"
        return self._model(SessionRead, "POST", path, {"ttl_seconds": ttl_seconds})

    def export(self, ref: str) -> dict[str, Any]:
        """Everything you hold about the customer or they share with you, with signed receipts: the
        document to hand them when they ask for their data."""
        return _DOCUMENT.validate_json(self._send("GET", f"/v1/subjects/{_segment(ref)}/export").content)

    # ---- context, preferences and events (observed or inferred: only the customer declares) -------

    def put_context(
        self,
        ref: str,
        *,
        provenance: Provenance | OrgProvenanceName,
        persona: str | None = None,
        intent: str | None = None,
        situation: str | None = None,
        topics: Sequence[str] = (),
        do_not_disturb_until: datetime | None = None,
        valid_until: datetime | None = None,
    ) -> list[Datum]:
        """The customer's context right now, as you observed or inferred it (replaces your previous
        one; expires at `valid_until`, by default in 4 hours). `intent`: browsing, buying,
        researching, in-a-rush, need-help; `situation`: home, work, commuting, travelling, out."""
        body = _given(
            {
                "provenance": provenance,
                "persona": persona,
                "intent": intent,
                "situation": situation,
                "topics": list(topics),
                "do_not_disturb_until": do_not_disturb_until,
                "valid_until": valid_until,
            }
        )
        return _DATA.validate_json(self._send("PUT", f"/v1/subjects/{_segment(ref)}/context", body).content)

    def patch_preferences(
        self,
        ref: str,
        *,
        provenance: Provenance | OrgProvenanceName,
        interests: Mapping[str, float | None] | _Unset = UNSET,
        channels: Mapping[Channel | ChannelName, Mapping[str, Any] | None] | _Unset = UNSET,
        quiet_hours: Mapping[str, str] | _Unset | None = UNSET,
        time_zone: str | _Unset | None = UNSET,
        locale: str | _Unset | None = UNSET,
        country: str | _Unset | None = UNSET,
        life_events: Mapping[str, Mapping[str, Any] | None] | _Unset = UNSET,
        novelty: float | _Unset | None = UNSET,
    ) -> list[Datum]:
        """Change preferences you observed or inferred: an argument given sets the value, None removes
        it, one left out stays. Maps change per entry the same way: interests={"golf": 0.4,
        "tennis": None}; channels={"sms": {"allowed": False}}; quiet_hours={"start": "22:00",
        "end": "07:00"}; life_events={"moving": {"label": ..., "topics": [...], "until": ...}}."""
        body = _given(
            {
                "provenance": provenance,
                "interests": interests,
                "channels": channels,
                "life_events": life_events,
            }
        )
        for name, value in (
            ("quiet_hours", quiet_hours),
            ("time_zone", time_zone),
            ("locale", locale),
            ("country", country),
            ("novelty", novelty),
        ):
            if value is not UNSET:
                body[name] = value  # None included: it removes the preference
        path = f"/v1/subjects/{_segment(ref)}/preferences"
        return _DATA.validate_json(self._send("PATCH", path, body).content)

    def event(
        self,
        ref: str,
        type: EventType | EventTypeName,
        *,
        item: str | None = None,
        topics: Sequence[str] = (),
        gift: bool = False,
        offer_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> EventRead:
        """A purchase, or an offer shown, accepted or dismissed. A gift never counts as the buyer's
        interest."""
        body = _given(
            {
                "type": type,
                "item": item,
                "topics": list(topics),
                "gift": gift,
                "offer_id": offer_id,
                "occurred_at": occurred_at,
            }
        )
        return self._model(EventRead, "POST", f"/v1/subjects/{_segment(ref)}/events", body)

    # ---- consent ------------------------------------------------------------------------------

    def purposes(self) -> list[PurposeRead]:
        """The purpose catalogue, with legal bases and W3C DPV identifiers."""
        return _PURPOSES.validate_json(self._send("GET", "/v1/purposes").content)

    def put_notice(self, purpose: str, text: str, locale: str = "en") -> NoticeRead:
        """Store the notice text shown for a purpose as its next version (the latest text again: no change)."""
        return self._model(
            NoticeRead, "PUT", f"/v1/notices/{_segment(purpose)}", {"text": text, "locale": locale}
        )

    def notice(self, purpose: str, version: int | None = None) -> NoticeRead:
        """The latest notice for a purpose, or the given version."""
        params = {"version": version} if version is not None else None
        return self._model(NoticeRead, "GET", f"/v1/notices/{_segment(purpose)}", params=params)

    def record_consent(
        self,
        ref: str,
        purpose: str,
        status: Status | StatusName,
        channels: Sequence[Channel | ChannelName] = (),
        *,
        notice_version: int | None = None,
        method: Method | MethodName | None = None,
        captured_at: datetime | None = None,
        expires_at: datetime | None = None,
        evidence: Mapping[str, Any] | None = None,
    ) -> ConsentRead:
        """Record a consent decision the customer made at your touchpoint: in the ledger on return,
        with a receipt (`receipt(record.id)`). The decision already in force is returned as it is."""
        body = _given(
            {
                "status": status,
                "channels": list(channels),
                "notice_version": notice_version,
                "method": method,
                "captured_at": captured_at,
                "expires_at": expires_at,
                "evidence": evidence,
            }
        )
        path = f"/v1/subjects/{_segment(ref)}/consents/{_segment(purpose)}"
        return self._model(ConsentRead, "PUT", path, body)

    def consents(self, ref: str) -> ConsentStates:
        """The decision in force per purpose (`expired` once its expiry has passed)."""
        return self._model(ConsentStates, "GET", f"/v1/subjects/{_segment(ref)}/consents")

    def consent_history(
        self, ref: str, *, purpose: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> ConsentPage:
        """Every consent record, newest first, a page at a time: pass the page's `next_cursor` as
        `cursor` for the next one (None at the end)."""
        params = _given({"purpose": purpose, "limit": limit, "cursor": cursor})
        path = f"/v1/subjects/{_segment(ref)}/consents/history"
        return self._model(ConsentPage, "GET", path, params=params)

    def receipt(self, record_id: uuid.UUID | str) -> SignedReceipt:
        """A consent record's receipt, signed by the hub: verify its `jws` offline against `jwks()`."""
        return self._model(SignedReceipt, "GET", f"/v1/receipts/{_segment(record_id)}")

    def receipt_proof(self, record_id: uuid.UUID | str) -> ReceiptProof:
        """Proof that the receipt's ledger entry is in the chain under a checkpoint the hub signed."""
        return self._model(ReceiptProof, "GET", f"/v1/receipts/{_segment(record_id)}/proof")

    def jwks(self) -> dict[str, Any]:
        """The hub's public signing keys (JWKS), which receipts and checkpoints verify against."""
        return _DOCUMENT.validate_json(self._send("GET", "/.well-known/jwks.json").content)

    # ---- what customers share with you, and credentials they show ----------------------------------

    def share(self, share_id: uuid.UUID | str) -> SharedWithYou:
        """What a customer shares with you (its id came in `share.updated`): only your fields, for your
        purpose, while the share lasts; once it expired or was taken back, a 404 HarkenError."""
        return self._model(SharedWithYou, "GET", f"/v1/shares/{_segment(share_id)}")

    def credential_nonce(self) -> NonceRead:
        """A single-use nonce and your audience, for the customer's wallet to bind a presentation to."""
        return self._model(NonceRead, "POST", "/v1/credentials/nonces")

    def verify_credential(self, presentation: str, nonce: str) -> PresentationVerified:
        """The claims a customer's credential shows you, verified by the hub (signature, expiry, key
        binding to your audience and `nonce`, disclosures, revocation); a refusal is a 422 HarkenError
        whose `type` names the rule broken (/problems/credential-revoked …)."""
        body = {"presentation": presentation, "nonce": nonce}
        return self._model(PresentationVerified, "POST", "/v1/credentials/verify", body)

    # ---- offers and decisions -----------------------------------------------------------------

    def put_offer(
        self,
        offer_id: str,
        title: str,
        *,
        topics: Sequence[str] = (),
        personas: Sequence[str] = (),
        channels: Sequence[Channel | ChannelName] = (),
        purpose: str | None = None,
        sensitive: bool = False,
        item: str | None = None,
        situations: Sequence[str] = (),
        countries: Sequence[str] = (),
        locales: Sequence[str] = (),
        suppress_days: int = 30,
    ) -> OfferRead:
        """Create or replace an offer in your catalogue (an empty list means any)."""
        body = _given(
            {
                "title": title,
                "topics": list(topics),
                "personas": list(personas),
                "channels": list(channels),
                "purpose": purpose,
                "sensitive": sensitive,
                "item": item,
                "situations": list(situations),
                "countries": list(countries),
                "locales": list(locales),
                "suppress_days": suppress_days,
            }
        )
        return self._model(OfferRead, "PUT", f"/v1/offers/{_segment(offer_id)}", body)

    def offer(self, offer_id: str) -> OfferRead:
        return self._model(OfferRead, "GET", f"/v1/offers/{_segment(offer_id)}")

    def decide(
        self,
        ref: str,
        purpose: str,
        channels: Sequence[Channel | ChannelName],
        *,
        offer_ids: Sequence[str] | None = None,
        candidates: Sequence[Candidate | Mapping[str, Any]] | None = None,
        at: datetime | None = None,
    ) -> DecisionRead:
        """May I contact this customer now, on which of these channels (in your order of preference),
        with which offer? Give your catalogue's `offer_ids` or inline `candidates`. The answer comes
        with reasons, a sentence you may show them, the data used and when to ask again. An unknown
        ref is "don't send" (`subject.unknown`), not an error."""
        body = _given(
            {
                "subject": ref,
                "purpose": purpose,
                "channels": list(channels),
                "offer_ids": None if offer_ids is None else list(offer_ids),
                "candidates": None if candidates is None else list(candidates),
                "at": at,
            }
        )
        return self._model(DecisionRead, "POST", "/v1/decisions", body)

    def feedback(self, decision_id: uuid.UUID | str, kind: FeedbackKind | FeedbackName) -> None:
        """What became of a decision: dismissed or not-relevant holds its offer back; opted-out
        withdraws the decision's purpose (with a receipt)."""
        self._send("POST", f"/v1/decisions/{_segment(decision_id)}/feedback", {"kind": kind})

    # ---- progressive profiling ----------------------------------------------------------------

    def put_question(
        self,
        question_id: str,
        *,
        text: Mapping[str, str],
        fills: str,
        options: Sequence[Option | Mapping[str, Any]],
        intrusiveness: int,
    ) -> QuestionRead:
        """Create or replace a question in your bank: `text` per locale, the datum it `fills`
        (e.g. "interest:hiking"), its options and how personal it is (1 to 5)."""
        body = {"text": text, "fills": fills, "options": list(options), "intrusiveness": intrusiveness}
        return self._model(QuestionRead, "PUT", f"/v1/questions/{_segment(question_id)}", body)

    def next_question(self, ref: str, locale: str | None = None) -> NextQuestion | None:
        """The one question to put to this customer now (recorded as asked), or None: let them be."""
        params = {"locale": locale} if locale is not None else None
        response = self._send("GET", f"/v1/subjects/{_segment(ref)}/next-question", params=params)
        return None if response.status_code == 204 else NextQuestion.model_validate_json(response.content)

    def answer(
        self, ref: str, question_id: str, option: str | None = None, *, declined: bool = False
    ) -> AnswerRead:
        """The customer's answer to an asked question (declared data), or that they declined it."""
        body = _given({"question_id": question_id, "option": option, "declined": declined})
        return self._model(AnswerRead, "POST", f"/v1/subjects/{_segment(ref)}/answers", body)

    # ---- webhooks -----------------------------------------------------------------------------

    def subscribe(self, url: str, events: Sequence[WebhookEventName]) -> EndpointCreated:
        """Subscribe an endpoint to event types. Keep the `secret`: it is shown only now, and
        `verify_webhook` needs it."""
        return self._model(EndpointCreated, "POST", "/v1/webhooks", {"url": url, "events": list(events)})

    def webhooks(self) -> list[EndpointRead]:
        """Your endpoints."""
        return _ENDPOINTS.validate_json(self._send("GET", "/v1/webhooks").content)

    def unsubscribe(self, endpoint_id: uuid.UUID | str) -> None:
        """Stop sending to an endpoint (its deliveries stay readable)."""
        self._send("DELETE", f"/v1/webhooks/{_segment(endpoint_id)}")

    def deliveries(
        self,
        *,
        endpoint_id: uuid.UUID | str | None = None,
        status: DeliveryStatusName | None = None,
        limit: int = 100,
    ) -> list[DeliveryRead]:
        """Your deliveries, newest first, each with every attempt."""
        params = _given({"endpoint_id": endpoint_id, "status": status, "limit": limit})
        return _DELIVERIES.validate_json(self._send("GET", "/v1/webhooks/deliveries", params=params).content)

    def replay(self, delivery_id: uuid.UUID | str) -> DeliveryRead:
        """Send a delivery's event again (the same `webhook-id`)."""
        path = f"/v1/webhooks/deliveries/{_segment(delivery_id)}/replay"
        return self._model(DeliveryRead, "POST", path)

    def replay_range(self, endpoint_id: uuid.UUID | str, since: datetime, until: datetime) -> int:
        """Send again every event of an endpoint created in [since, until); returns how many."""
        path = f"/v1/webhooks/{_segment(endpoint_id)}/replay"
        return self._model(Replayed, "POST", path, {"since": since, "until": until}).deliveries

    # ---- the wire -----------------------------------------------------------------------------

    def _model(
        self,
        model: type[M],
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> M:
        return model.model_validate_json(self._send(method, path, body, params=params).content)

    def _send(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """One call, tried up to max_attempts times; the body is encoded once, so that every attempt
        sends the same bytes under the same Idempotency-Key."""
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            "User-Agent": f"harken-python/{harken.__version__}",
        }
        content = None
        if body is not None:
            content = json.dumps(to_jsonable_python(body), separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        if method in _WRITES:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        query = {name: str(to_jsonable_python(value)) for name, value in (params or {}).items()}
        url = self.base_url + path
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self.max_attempts
            try:
                response = self._http.request(method, url, content=content, headers=headers, params=query)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as failure:
                if last:
                    raise
                wait = self._backoff(attempt)
                log.warning("%s %s: %r; attempt %d again in %.2f s", method, path, failure, attempt + 1, wait)
                self._sleep(wait)
                continue
            if response.is_success:
                return response
            error = HarkenError.from_response(response)
            if last or not _retryable(error):
                raise error
            if error.retry_after is not None:
                if error.retry_after > self.max_retry_after:
                    raise error
                wait = error.retry_after
            else:
                wait = self._backoff(attempt)
            log.warning("%s %s: %s; attempt %d again in %.2f s", method, path, error, attempt + 1, wait)
            self._sleep(wait)

    def _backoff(self, attempt: int) -> float:
        """Exponential, capped, with jitter: between half and all of backoff * 2**(attempt - 1)."""
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)


def _retryable(error: HarkenError) -> bool:
    if error.status == 409:
        return error.type == IN_FLIGHT  # the same Idempotency-Key still running: its answer is coming
    return error.status in _RETRYABLE_STATUS
