"""A synchronous Python client for Harken's org API, and webhook verification for the org's receiver.

    from harken.client import Harken, HarkenError, verify_webhook

    with Harken("https://harken.example.com", api_key="hk_...") as harken:
        harken.register("cust-1042", email="priya@example.com")
        consent = harken.record_consent("cust-1042", "marketing", "granted", channels=["email"])
        decision = harken.decide("cust-1042", "marketing", ["email", "sms"], offer_ids=["tea-sampler"])
        if decision.allowed:
            send(decision.channel, decision.offer)          # then tell Harken how it went:
            harken.feedback(decision.decision_id, "accepted")
        for customer in harken.customers():                 # every list is iterated a page at a time
            print(customer.ref, customer.last_change_at, customer.erased)
        harken.erase("cust-1042")                            # they asked you to forget them
        try:
            harken.record_consent("cust-1042", "newsletters", "granted")
        except HarkenError as problem:                      # RFC 9457: status, title, detail, errors
            print(problem.status, problem.fields)           # 422 {'path.purpose': "Input should be ..."}

    # In the endpoint that receives Harken's webhooks (the raw body, before any JSON parsing):
    event = verify_webhook(secret, request_body, request_headers)  # raises WebhookVerificationError

Every method returns the server's own response model (pydantic), so responses are typed and in step
with the server (tests/test_client_contract.py checks each call against the served /openapi.json);
the client needs nothing else of the server (an import-linter contract): its errors are its own,
`HarkenError` carrying the hub's whole RFC 9457 document as `problem`. Each POST and PUT carries a fresh `Idempotency-Key`, the same on each of its retries:
a write retried after a lost response is done once. A call is tried up to `max_attempts` times (3) on
connection errors, timeouts, 409 (the same key still in flight), 429 and 5xx, with exponential backoff
and jitter, waiting `Retry-After` when the server sends one; any other 4xx is raised at once as a
`HarkenError`, and so is the last answer when attempts run out. A connection error still failing
after the last attempt is raised as httpx raised it. PATCH and DELETE carry no key (the hub reads it
on POST and PUT only) and are retried as they are: the same preferences set again, or an endpoint
deleted again, leave the same state (a PATCH that had landed is recorded, and notified, twice).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from harken.client.catalogue import CatalogueCalls
from harken.client.customers import CustomerCalls, Erasure
from harken.client.terms import ProfferStateName, RecordProblem, TermsCalls, verify_terms_record
from harken.client.wire import (
    DOCUMENT,
    UNSET,
    ChannelName,
    DeliveryStatusName,
    EventTypeName,
    FeedbackName,
    FieldProblem,
    HarkenError,
    MethodName,
    OrgProvenanceName,
    StatusName,
    WebhookEventName,
    given,
    segment,
)
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
from harken.profiling.schemas import AnswerRead, NextQuestion, Option, QuestionRead
from harken.shares.schemas import SharedWithYou
from harken.subjects.schemas import SessionRead, SubjectListed, SubjectRead
from harken.terms.schemas import OrgTerms, ProfferPage, ProfferRead, SignedRecord
from harken.webhooks.schemas import AttemptRead, DeliveryRead, EndpointCreated, EndpointRead, Replayed
from harken.webhooks.signing import WebhookVerificationError
from harken.webhooks.signing import verify as verify_webhook

__all__ = [
    "UNSET",
    "AnswerRead",
    "AttemptRead",
    "Candidate",
    "ChannelName",
    "ConsentPage",
    "ConsentRead",
    "ConsentStates",
    "Datum",
    "DecisionRead",
    "DeliveryRead",
    "DeliveryStatusName",
    "EndpointCreated",
    "EndpointRead",
    "Erasure",
    "EventRead",
    "EventType",
    "EventTypeName",
    "FeedbackName",
    "FieldProblem",
    "Harken",
    "HarkenError",
    "MethodName",
    "NextQuestion",
    "NonceRead",
    "NoticeRead",
    "OfferRead",
    "Option",
    "OrgProvenanceName",
    "OrgTerms",
    "PresentationVerified",
    "ProfferPage",
    "ProfferRead",
    "ProfferStateName",
    "Provenance",
    "PurposeRead",
    "QuestionRead",
    "ReceiptProof",
    "RecordProblem",
    "SessionRead",
    "SharedWithYou",
    "SignedReceipt",
    "SignedRecord",
    "StatusName",
    "SubjectListed",
    "SubjectRead",
    "SubjectView",
    "WebhookEventName",
    "WebhookVerificationError",
    "verify_terms_record",
    "verify_webhook",
]


_PURPOSES = TypeAdapter(list[PurposeRead])
_ENDPOINTS = TypeAdapter(list[EndpointRead])
_DELIVERIES = TypeAdapter(list[DeliveryRead])


# ---- the client -----------------------------------------------------------------------------------


class Harken(CustomerCalls, CatalogueCalls, TermsCalls):
    """The org API of one Harken hub, with one org's API key (`hk_...`).

    `http`: an httpx.Client of your own (its transport, proxies, headers and timeouts), which
    `close()` leaves open. Otherwise the client makes one, with `transport` (e.g. an
    httpx.MockTransport in tests) and `timeout`. `max_attempts`: tries per call (1: no retries);
    `backoff`: the first retry's wait in seconds, doubled each time up to `max_backoff`, jittered;
    `max_retry_after`: the longest `Retry-After` honoured (a longer one is raised at once, as a
    HarkenError with `retry_after`); `sleep`: how to wait (tests pass a list's append).
    """

    def __repr__(self) -> str:
        return f"Harken({self.base_url!r})"

    verify_webhook = staticmethod(verify_webhook)  # also here, for those holding only the client

    # ---- consent ------------------------------------------------------------------------------

    def purposes(self) -> list[PurposeRead]:
        """The purpose catalogue, with legal bases and W3C DPV identifiers."""
        return _PURPOSES.validate_json(self._send("GET", "/v1/purposes").content)

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
        body = given(
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
        path = f"/v1/subjects/{segment(ref)}/consents/{segment(purpose)}"
        return self._model(ConsentRead, "PUT", path, body)

    def consents(self, ref: str) -> ConsentStates:
        """The decision in force per purpose (`expired` once its expiry has passed)."""
        return self._model(ConsentStates, "GET", f"/v1/subjects/{segment(ref)}/consents")

    def consent_history(
        self, ref: str, *, purpose: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> ConsentPage:
        """Every consent record, newest first, a page at a time: pass the page's `next_cursor` as
        `cursor` for the next one (None at the end)."""
        params = given({"purpose": purpose, "limit": limit, "cursor": cursor})
        path = f"/v1/subjects/{segment(ref)}/consents/history"
        return self._model(ConsentPage, "GET", path, params=params)

    def receipt(self, record_id: uuid.UUID | str) -> SignedReceipt:
        """A consent record's receipt, signed by the hub: verify its `jws` offline against `jwks()`."""
        return self._model(SignedReceipt, "GET", f"/v1/receipts/{segment(record_id)}")

    def receipt_proof(self, record_id: uuid.UUID | str) -> ReceiptProof:
        """Proof that the receipt's ledger entry is in the chain under a checkpoint the hub signed."""
        return self._model(ReceiptProof, "GET", f"/v1/receipts/{segment(record_id)}/proof")

    def jwks(self) -> dict[str, Any]:
        """The hub's public signing keys (JWKS), which receipts and checkpoints verify against."""
        return DOCUMENT.validate_json(self._send("GET", "/.well-known/jwks.json").content)

    # ---- what customers share with you, and credentials they show ----------------------------------

    def share(self, share_id: uuid.UUID | str) -> SharedWithYou:
        """What a customer shares with you (its id came in `share.updated`): only your fields, for your
        purpose, while the share lasts; once it expired or was taken back, a 404 HarkenError."""
        return self._model(SharedWithYou, "GET", f"/v1/shares/{segment(share_id)}")

    def credential_nonce(self) -> NonceRead:
        """A single-use nonce and your audience, for the customer's wallet to bind a presentation to."""
        return self._model(NonceRead, "POST", "/v1/credentials/nonces")

    def verify_credential(self, presentation: str, nonce: str) -> PresentationVerified:
        """The claims a customer's credential shows you, verified by the hub (signature, expiry, key
        binding to your audience and `nonce`, disclosures, revocation); a refusal is a 422 HarkenError
        whose `type` names the rule broken (/problems/credential-revoked …)."""
        body = {"presentation": presentation, "nonce": nonce}
        return self._model(PresentationVerified, "POST", "/v1/credentials/verify", body)

    # ---- decisions ---------------------------------------------------------------------------

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
        body = given(
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
        self._send("POST", f"/v1/decisions/{segment(decision_id)}/feedback", {"kind": kind})

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
        return self._model(QuestionRead, "PUT", f"/v1/questions/{segment(question_id)}", body)

    def next_question(self, ref: str, locale: str | None = None) -> NextQuestion | None:
        """The one question to put to this customer now (recorded as asked), or None: let them be."""
        params = {"locale": locale} if locale is not None else None
        response = self._send("GET", f"/v1/subjects/{segment(ref)}/next-question", params=params)
        return None if response.status_code == 204 else NextQuestion.model_validate_json(response.content)

    def answer(
        self, ref: str, question_id: str, option: str | None = None, *, declined: bool = False
    ) -> AnswerRead:
        """The customer's answer to an asked question (declared data), or that they declined it."""
        body = given({"question_id": question_id, "option": option, "declined": declined})
        return self._model(AnswerRead, "POST", f"/v1/subjects/{segment(ref)}/answers", body)

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
        self._send("DELETE", f"/v1/webhooks/{segment(endpoint_id)}")

    def deliveries(
        self,
        *,
        endpoint_id: uuid.UUID | str | None = None,
        status: DeliveryStatusName | None = None,
        limit: int = 100,
    ) -> list[DeliveryRead]:
        """Your deliveries, newest first, each with every attempt."""
        params = given({"endpoint_id": endpoint_id, "status": status, "limit": limit})
        return _DELIVERIES.validate_json(self._send("GET", "/v1/webhooks/deliveries", params=params).content)

    def replay(self, delivery_id: uuid.UUID | str) -> DeliveryRead:
        """Send a delivery's event again (the same `webhook-id`)."""
        path = f"/v1/webhooks/deliveries/{segment(delivery_id)}/replay"
        return self._model(DeliveryRead, "POST", path)

    def replay_range(self, endpoint_id: uuid.UUID | str, since: datetime, until: datetime) -> int:
        """Send again every event of an endpoint created in [since, until); returns how many."""
        path = f"/v1/webhooks/{segment(endpoint_id)}/replay"
        return self._model(Replayed, "POST", path, {"since": since, "until": until}).deliveries
