"""The Python client against the real app in-process, on both databases: typed answers, problems as
HarkenError, retries that reuse their Idempotency-Key (a write retried after a lost response is done
once), no retry on other 4xx, and webhook verification (the Standard Webhooks vector, tampering)."""

from __future__ import annotations

import base64
import enum
import json
import typing
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from harken import client as harken_client
from harken.client import (
    Candidate,
    ConsentRead,
    DecisionRead,
    Harken,
    HarkenError,
    SharedWithYou,
    SubjectRead,
    WebhookVerificationError,
    verify_webhook,
)
from harken.consent.schemas import Channel, Method, Status
from harken.context.schemas import EventType
from harken.credentials import sdjwt
from harken.decisions.schemas import FeedbackKind
from harken.jws import jwk_of, keys_from_jwks
from harken.ledger.receipts import verify_receipt
from harken.webhooks import api as webhooks_api
from harken.webhooks import signing
from harken.webhooks.schemas import EventType as WebhookEventType
from tests.centre_client import Visitor
from tests.factories import T0, FixedClock, make_org

BASE = "http://testserver"
VECTOR = json.loads((Path(__file__).parent / "vectors" / "standard-webhooks.json").read_text())

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def api_key(session: Session) -> str:
    return make_org(session, "Chapter & Verse")[1]


@pytest.fixture
def waits() -> list[float]:
    return []


def to_app(client: TestClient) -> Handler:
    """Hand an httpx request to the app in-process (the TestClient is an httpx2 client, so it cannot be
    the Harken client's own `http`) and its answer back."""

    def app(request: httpx.Request) -> httpx.Response:
        answer = client.request(
            request.method, str(request.url), headers=request.headers.multi_items(), content=request.content
        )
        return httpx.Response(
            answer.status_code, headers=answer.headers.multi_items(), content=answer.content
        )

    return app


def scripted(
    client: TestClient,
    api_key: str,
    waits: list[float],
    script: Callable[[httpx.Request, Handler], httpx.Response],
) -> Harken:
    """A Harken client whose every request goes through `script`, which may fail it before or after
    handing it to the app."""
    app = to_app(client)
    transport = httpx.MockTransport(lambda request: script(request, app))
    return Harken(BASE, api_key, transport=transport, sleep=waits.append)


@pytest.fixture
def harken(client: TestClient, api_key: str, waits: list[float]) -> Iterator[Harken]:
    with scripted(client, api_key, waits, lambda request, app: app(request)) as connected:
        yield connected


# ---- the org API, typed ---------------------------------------------------------------------------


def test_register_consent_decide_receipt_and_export(harken: Harken) -> None:
    first = harken.register("priya", email="priya@example.com")
    assert isinstance(first, SubjectRead) and first.created and first.ref == "priya"
    assert not harken.register("priya").created

    consent = harken.record_consent(
        "priya", "marketing", "granted", ["email", Channel.sms], evidence={"form": "checkout-7"}
    )
    assert isinstance(consent, ConsentRead)
    assert (consent.status, consent.channels, consent.method) == (
        Status.granted,
        ["email", "sms"],
        Method.api,
    )
    [state] = harken.consents("priya").consents
    assert (state.purpose, state.status, state.record.id) == ("marketing", "granted", consent.id)
    assert [r.id for r in harken.consent_history("priya").items] == [consent.id]

    signed = harken.receipt(consent.id)
    assert verify_receipt(signed.jws, keys_from_jwks(harken.jwks()))["record_id"] == str(consent.id)
    assert harken.receipt_proof(consent.id).entry.seq == consent.ledger.seq

    [datum] = harken.patch_preferences("priya", provenance="observed", interests={"tea": 0.9})
    assert (datum.field, datum.value, datum.provenance) == ("interest:tea", {"affinity": 0.9}, "observed")
    offer = harken.put_offer("tea-sampler", "Tea sampler", topics=["tea"], channels=["email"])
    assert (offer.id, offer.topics, offer.suppress_days) == ("tea-sampler", ["tea"], 30)
    assert harken.offer("tea-sampler") == offer
    decision = harken.decide("priya", "marketing", ["email", "sms"], offer_ids=["tea-sampler"])
    assert isinstance(decision, DecisionRead)
    assert (decision.allowed, decision.channel, decision.offer) == (True, "email", "tea-sampler"), decision
    harken.feedback(decision.decision_id, "accepted")
    inline: list[Candidate | dict[str, typing.Any]] = [
        Candidate(id="tea-tin", title="Tea tin", topics=["tea"]),
        {"id": "mug", "title": "Mug"},
    ]
    ranked = harken.decide("priya", "marketing", ["email"], candidates=inline, at=T0 + timedelta(days=1))
    assert {r.offer_id for r in ranked.ranking} == {"tea-tin", "mug"}

    assert harken.event("priya", "purchase", item="isbn-1", topics=["thrillers"]).item == "isbn-1"
    assert harken.patch_preferences("priya", provenance="inferred", interests={"tea": None}) == []
    assert harken.patch_preferences("priya", provenance="observed", time_zone="Europe/London")[0].value == {
        "value": "Europe/London"
    }
    assert harken.patch_preferences("priya", provenance="observed", time_zone=None) == []  # removed
    [context] = harken.put_context("priya", provenance="observed", situation="travelling", topics=["tea"])
    assert context.field == "context" and context.value["situation"] == "travelling"

    view = harken.customer("priya")
    assert view.ref == "priya" and [(p.purpose, p.status) for p in view.purposes] == [
        ("marketing", "granted")
    ]
    assert harken.customer_token("priya", ttl_seconds=600).token.startswith("hc_")

    exported = harken.export("priya")
    assert exported["scope"] == "Chapter & Verse"
    assert [c["id"] for c in exported["consents"]] == [str(consent.id)]
    assert exported["events"][0]["item"] == "isbn-1"


def test_a_share_and_a_credential_the_customer_shows_are_read_and_verified(
    harken: Harken, client: TestClient, clock: FixedClock, visitor: Callable[..., Visitor]
) -> None:
    """The org's side of the travel pass: the share it was told of, read with its fields only; a
    credential verified against a nonce from the hub; a revoked one refused, its problem type named.
    The person makes both with a token of their own (an org's customer token may not)."""
    harken.register("priya", email="priya@example.com")
    browser = visitor()
    browser.sign_in("priya@example.com")
    me = {"Authorization": f"Bearer {browser.person_token()}"}
    [org] = client.get("/v1/me/directory", headers=me).json()
    until = (clock() + timedelta(days=1)).isoformat()
    trip = {"flight": "LH903", "arrives_at": "2026-11-02T21:40:00+01:00", "party_size": 2}
    grant = {"org": org["id"], "purpose": "service", "fields": ["trip.arrives_at"]}
    made = client.post(
        "/v1/me/shares", headers=me, json={"trip": trip, "grants": [grant], "expires_at": until}
    )
    shared = harken.share(made.json()["id"])
    assert isinstance(shared, SharedWithYou)
    assert (shared.ref, shared.purpose, shared.data) == (
        "priya",
        "service",
        {"trip.arrives_at": trip["arrives_at"]},
    )

    wallet = Ed25519PrivateKey.generate()
    issued = client.post(
        "/v1/me/credentials",
        headers=me,
        json={
            "trip": trip,
            "fields": ["trip.flight", "trip.arrives_at"],
            "expires_at": until,
            "holder_jwk": jwk_of(wallet.public_key()),
        },
    ).json()

    def shown() -> tuple[str, str]:
        asked = harken.credential_nonce()
        presentation = sdjwt.present(
            issued["credential"],
            disclose=["trip.arrives_at"],
            holder_key=wallet,
            audience=asked.audience,
            nonce=asked.nonce,
            iat=int(clock().timestamp()),
        )
        return presentation, asked.nonce

    verified = harken.verify_credential(*shown())
    assert verified.claims["trip"] == {"arrives_at": trip["arrives_at"]}
    assert verified.disclosed == ["trip", "trip.arrives_at"]  # the trip object is a disclosure too

    presentation, nonce = shown()
    harken.verify_credential(presentation, nonce)
    with pytest.raises(HarkenError) as replayed:
        harken.verify_credential(presentation, nonce)
    assert replayed.value.type == "/problems/credential-replayed"

    assert client.delete(f"/v1/me/credentials/{issued['id']}", headers=me).status_code == 204
    with pytest.raises(HarkenError) as revoked:
        harken.verify_credential(*shown())
    assert (revoked.value.status, revoked.value.type) == (422, "/problems/credential-revoked")


def test_refs_are_sent_percent_encoded(harken: Harken) -> None:
    assert harken.register("c:42@shop+eu").ref == "c:42@shop+eu"
    assert harken.record_consent("c:42@shop+eu", "analytics", "denied").ref == "c:42@shop+eu"
    assert harken.customer("c:42@shop+eu").purposes[0].status == "denied"


def test_notices_purposes_and_profiling(harken: Harken) -> None:
    assert "marketing" in {p.key for p in harken.purposes()}
    notice = harken.put_notice("marketing", "We will email you offers.")
    assert harken.notice("marketing", version=notice.version) == notice
    harken.register("sam")
    assert harken.record_consent("sam", "marketing", "granted", ["email"]).notice is not None

    harken.put_question(
        "q-tea",
        text={"en": "Do you like tea?"},
        fills="interest:tea",
        options=[
            {"id": "yes", "label": {"en": "Yes"}, "value": {"affinity": 0.8}},
            {"id": "no", "label": {"en": "No"}, "value": {"affinity": -0.8}},
        ],
        intrusiveness=1,
    )
    asked = harken.next_question("sam", locale="en")
    assert asked is not None and (asked.question_id, asked.text) == ("q-tea", "Do you like tea?")
    assert harken.answer("sam", "q-tea", "yes").declared == "interest:tea"
    assert harken.next_question("sam") is None


def test_webhook_endpoints_and_deliveries(harken: Harken) -> None:
    created = harken.subscribe("https://hooks.example.com/harken", ["consent.updated"])
    assert created.secret.startswith("whsec_") and created.events == ["consent.updated"]
    assert [e.id for e in harken.webhooks()] == [created.id]
    harken.register("priya")
    harken.record_consent("priya", "marketing", "granted", ["email"])

    [delivery] = harken.deliveries(endpoint_id=created.id, status="pending")
    assert (delivery.type, delivery.endpoint_id) == ("consent.updated", created.id)
    again = harken.replay(delivery.id)
    assert again.webhook_id == delivery.webhook_id and again.id != delivery.id
    assert harken.replay_range(created.id, T0 - timedelta(hours=1), T0 + timedelta(hours=1)) == 1
    harken.unsubscribe(created.id)
    assert harken.webhooks()[0].disabled_at is not None


def test_lists_are_iterated_a_page_at_a_time(client: TestClient, api_key: str, waits: list[float]) -> None:
    asked: list[str] = []

    def counted(request: httpx.Request, app: Handler) -> httpx.Response:
        if request.method == "GET":
            asked.append(request.url.path)
        return app(request)

    with scripted(client, api_key, waits, counted) as harken:
        for n in (3, 1, 2, 5, 4):
            harken.put_offer(f"offer-{n}", f"Offer {n}")
            harken.register(f"cust-{n}")
        for text in ("one", "two", "three"):
            harken.put_notice("marketing", text)
        harken.put_notice("analytics", "counted")

        offers = harken.offers(page_size=2)
        assert asked == []  # nothing is asked before the iteration starts
        assert [o.id for o in offers] == [f"offer-{n}" for n in range(1, 6)]
        assert asked == ["/v1/offers"] * 3
        assert [c.ref for c in harken.customers(page_size=4)] == [f"cust-{n}" for n in range(1, 6)]
        assert [(n.purpose, n.version) for n in harken.notices()] == [
            ("analytics", 1),
            ("marketing", 1),
            ("marketing", 2),
            ("marketing", 3),
        ]
        assert [n.text for n in harken.notices("marketing", page_size=1)] == ["one", "two", "three"]


def test_erasure_ends_the_relationship_for_good(harken: Harken) -> None:
    harken.register("priya")
    harken.record_consent("priya", "marketing", "granted", ["email"])
    erased = harken.erase("priya")
    assert (erased.scope, erased.businesses) == ("this-business", ["Chapter & Verse"])
    [listed] = harken.customers()
    assert (listed.ref, listed.erased) == ("priya", True)
    assert harken.erase("priya") == erased  # again: nothing more to erase
    with pytest.raises(HarkenError) as again:
        harken.register("priya")
    assert again.value.status == 410
    assert again.value.problem["status"] == 410 and again.value.problem["type"] == again.value.type


# ---- problems -------------------------------------------------------------------------------------


def test_problems_are_raised_with_their_fields(harken: Harken) -> None:
    with pytest.raises(HarkenError) as unknown:
        harken.customer("nobody")
    assert (unknown.value.status, unknown.value.type) == (404, "/problems/not-found")

    with pytest.raises(HarkenError) as invalid:
        harken.register("priya", email="not an email")
    assert invalid.value.status == 422 and invalid.value.title == "Invalid request"
    assert list(invalid.value.fields) == ["body.email"]
    assert invalid.value.problem["errors"] == [
        {"field": "body.email", "message": invalid.value.fields["body.email"]}
    ]

    harken.register("priya")
    with pytest.raises(HarkenError) as purpose:
        harken.record_consent("priya", "newsletters", "granted")
    assert list(purpose.value.fields) == ["path.purpose"]
    assert "422 Invalid request: path.purpose" in str(purpose.value)


def test_an_unknown_api_key_is_a_401(client: TestClient) -> None:
    with (
        scripted(client, "hk_unknown", [], lambda r, app: app(r)) as stranger,
        pytest.raises(HarkenError) as refused,
    ):
        stranger.consents("priya")
    assert refused.value.status == 401


# ---- retries and idempotency keys -----------------------------------------------------------------


def test_a_write_retried_after_connection_errors_is_sent_with_one_key(
    client: TestClient, api_key: str, waits: list[float]
) -> None:
    seen: list[httpx.Request] = []

    def flaky(request: httpx.Request, app: Handler) -> httpx.Response:
        seen.append(request)
        if len(seen) <= 2:
            raise httpx.ConnectError("connection refused", request=request)
        return app(request)

    with scripted(client, api_key, waits, flaky) as harken:
        assert harken.register("priya").created
    assert len(seen) == 3
    keys = {request.headers["idempotency-key"] for request in seen}
    assert len(keys) == 1 and len(keys.pop()) == 36  # a uuid4
    assert len({request.content for request in seen}) == 1
    assert len(waits) == 2 and 0.25 <= waits[0] <= 0.5 and 0.5 <= waits[1] <= 1.0  # backoff, jittered


def test_a_write_whose_answer_was_lost_is_done_once(
    client: TestClient, api_key: str, waits: list[float]
) -> None:
    answers: list[httpx.Response] = []

    def lossy(request: httpx.Request, app: Handler) -> httpx.Response:
        answers.append(app(request))
        if len(answers) == 1:
            raise httpx.ReadTimeout("the answer never came", request=request)
        return answers[-1]

    with scripted(client, api_key, waits, lossy) as harken:
        harken.register("priya")
        answers.clear()
        consent = harken.record_consent("priya", "marketing", "granted", ["email"])
        assert [a.status_code for a in answers] == [201, 201]
        assert "idempotent-replayed" not in answers[0].headers
        assert answers[1].headers["idempotent-replayed"] == "true"
        assert [r.id for r in harken.consent_history("priya").items] == [consent.id]  # one record


def test_every_write_has_its_own_key_and_reads_have_none(
    client: TestClient, api_key: str, waits: list[float]
) -> None:
    seen: list[httpx.Request] = []

    def watch(request: httpx.Request, app: Handler) -> httpx.Response:
        seen.append(request)
        return app(request)

    with scripted(client, api_key, waits, watch) as harken:
        harken.register("priya")
        harken.register("priya")
        harken.consents("priya")
        harken.patch_preferences("priya", provenance="observed", novelty=0.5)
    first, second, read, patch = seen
    assert first.headers["idempotency-key"] != second.headers["idempotency-key"]
    assert "idempotency-key" not in read.headers and "idempotency-key" not in patch.headers
    assert first.headers["authorization"] == f"Bearer {api_key}"


def test_no_retry_on_a_422(client: TestClient, api_key: str, waits: list[float]) -> None:
    seen: list[httpx.Request] = []

    def count(request: httpx.Request, app: Handler) -> httpx.Response:
        seen.append(request)
        return app(request)

    with scripted(client, api_key, waits, count) as harken, pytest.raises(HarkenError) as refused:
        harken.register("priya", email="nope")
    assert refused.value.status == 422 and len(seen) == 1 and waits == []


def canned(*answers: httpx.Response) -> Callable[[httpx.Request, Handler], httpx.Response]:
    """Answer with these, then with the app."""
    queue = list(answers)
    return lambda request, app: queue.pop(0) if queue else app(request)


def problem(status: int, slug: str, **headers: str) -> httpx.Response:
    body = {"type": f"/problems/{slug}", "title": slug, "status": status, "detail": slug}
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json", **headers})


def test_retry_after_is_honoured_on_429_and_503(client: TestClient, api_key: str, waits: list[float]) -> None:
    date = (datetime.now(UTC) + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    script = canned(
        problem(429, "slow-down", **{"Retry-After": "3"}),
        httpx.Response(503, text="<html>down for maintenance</html>", headers={"Retry-After": date}),
    )
    with scripted(client, api_key, waits, script) as harken:
        assert harken.register("priya").created
    assert waits[0] == 3 and 25 < waits[1] <= 30


def test_a_retry_after_too_long_is_raised_at_once(
    client: TestClient, api_key: str, waits: list[float]
) -> None:
    script = canned(problem(429, "slow-down", **{"Retry-After": "3600"}))
    with scripted(client, api_key, waits, script) as harken, pytest.raises(HarkenError) as limited:
        harken.register("priya")
    assert (limited.value.status, limited.value.retry_after, waits) == (429, 3600, [])


def test_a_key_in_flight_is_retried_other_conflicts_are_not(
    client: TestClient, api_key: str, waits: list[float]
) -> None:
    with scripted(client, api_key, waits, canned(problem(409, "idempotency-key-in-flight"))) as harken:
        assert harken.register("priya").created
    assert len(waits) == 1
    with (
        scripted(client, api_key, waits, canned(problem(409, "conflict"))) as harken,
        pytest.raises(HarkenError) as conflict,
    ):
        harken.register("sam")
    assert conflict.value.status == 409 and len(waits) == 1


def test_attempts_run_out(client: TestClient, api_key: str, waits: list[float]) -> None:
    errors = canned(*(httpx.Response(502, text="bad gateway") for _ in range(3)))
    with scripted(client, api_key, waits, errors) as harken, pytest.raises(HarkenError) as gateway:
        harken.consents("priya")
    assert (gateway.value.status, gateway.value.title, gateway.value.detail) == (
        502,
        "Bad Gateway",
        "bad gateway",
    )

    def refused(request: httpx.Request, app: Handler) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with scripted(client, api_key, waits, refused) as harken, pytest.raises(httpx.ConnectError):
        harken.consents("priya")
    assert len(waits) == 4
    with (
        Harken(
            BASE, api_key, transport=httpx.MockTransport(lambda r: refused(r, to_app(client))), max_attempts=1
        ) as once,
        pytest.raises(httpx.ConnectError),
    ):
        once.consents("priya")


# ---- webhook verification -------------------------------------------------------------------------


def vector_headers(**changes: str) -> dict[str, str]:
    return {
        "webhook-id": VECTOR["msg_id"],
        "webhook-timestamp": str(VECTOR["timestamp"]),
        "webhook-signature": VECTOR["signature"],
        **changes,
    }


VECTOR_NOW = datetime.fromtimestamp(VECTOR["timestamp"], UTC)
VECTOR_BODY = VECTOR["payload"].encode()


def test_the_standard_webhooks_vector_verifies() -> None:
    assert verify_webhook(VECTOR["secret"], VECTOR_BODY, vector_headers(), now=VECTOR_NOW) == {
        "test": 2432232314
    }
    assert Harken.verify_webhook(VECTOR["secret"], VECTOR_BODY, vector_headers(), now=VECTOR_NOW)
    capitalised = {name.title(): value for name, value in vector_headers().items()}
    assert verify_webhook(VECTOR["secret"], VECTOR_BODY, httpx.Headers(capitalised), now=VECTOR_NOW)
    several = vector_headers(**{"webhook-signature": f"v1,{'A' * 44} v2,xyz {VECTOR['signature']}"})
    assert verify_webhook(VECTOR["secret"], VECTOR_BODY, several, now=VECTOR_NOW)
    within = VECTOR_NOW + timedelta(minutes=4, seconds=59)
    assert verify_webhook(VECTOR["secret"], VECTOR_BODY, vector_headers(), now=within)


def test_what_harken_signs_verifies() -> None:
    secret, body = signing.new_secret(), b'{"type":"consent.updated","data":{}}'
    headers = signing.headers(secret, "msg_1", int(datetime.now(UTC).timestamp()), body)
    assert verify_webhook(secret, body, headers)["type"] == "consent.updated"


@pytest.mark.parametrize(
    ("secret", "body", "headers", "now", "reason"),
    [
        (VECTOR["secret"], b'{"test": 2432232315}', vector_headers(), VECTOR_NOW, "no matching signature"),
        (signing.new_secret(), VECTOR_BODY, vector_headers(), VECTOR_NOW, "no matching signature"),
        (
            VECTOR["secret"],
            VECTOR_BODY,
            vector_headers(**{"webhook-id": "msg_other"}),
            VECTOR_NOW,
            "signature",
        ),
        (VECTOR["secret"], VECTOR_BODY, vector_headers(), VECTOR_NOW + timedelta(minutes=6), "too old"),
        (VECTOR["secret"], VECTOR_BODY, vector_headers(), VECTOR_NOW - timedelta(minutes=6), "future"),
        (VECTOR["secret"], VECTOR_BODY, vector_headers(**{"webhook-timestamp": "soon"}), VECTOR_NOW, "Unix"),
        (
            VECTOR["secret"],
            VECTOR_BODY,
            vector_headers(**{"webhook-timestamp": "9" * 30}),
            VECTOR_NOW,
            "Unix",
        ),
        (VECTOR["secret"], VECTOR_BODY, vector_headers(**{"webhook-signature": ""}), VECTOR_NOW, "missing"),
        (
            VECTOR["secret"],
            VECTOR_BODY,
            vector_headers(**{"webhook-signature": VECTOR["signature"].replace("v1,", "v2,")}),
            VECTOR_NOW,
            "no matching signature",
        ),
        (
            VECTOR["secret"],
            VECTOR_BODY,
            vector_headers(**{"webhook-signature": "v1,not base64!"}),
            VECTOR_NOW,
            "no matching signature",
        ),
    ],
    ids=[
        "tampered body",
        "wrong secret",
        "other id",
        "old timestamp",
        "future timestamp",
        "timestamp not a number",
        "timestamp out of range",
        "no signature",
        "other version",
        "garbled signature",
    ],
)
def test_what_harken_did_not_sign_is_refused(
    secret: str, body: bytes, headers: dict[str, str], now: datetime, reason: str
) -> None:
    with pytest.raises(WebhookVerificationError, match=reason):
        verify_webhook(secret, body, headers, now=now)


def test_a_signed_body_that_is_not_an_object_is_refused() -> None:
    secret, body = signing.new_secret(), b"[1, 2]"
    headers = signing.headers(secret, "msg_1", VECTOR["timestamp"], body)
    with pytest.raises(WebhookVerificationError, match="object"):
        verify_webhook(secret, body, headers, now=VECTOR_NOW)


def test_a_malformed_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="whsec_"):
        verify_webhook("whsec_not*base64", VECTOR_BODY, vector_headers(), now=VECTOR_NOW)
    assert not issubclass(WebhookVerificationError, ValueError)
    assert base64.b64decode(VECTOR["secret"].removeprefix("whsec_"))  # the vector's is well formed


# ---- the client's shapes are the server's ---------------------------------------------------------


def test_the_client_reads_webhooks_in_the_servers_own_shapes() -> None:
    for shape in ("EndpointRead", "EndpointCreated", "AttemptRead", "DeliveryRead"):
        assert getattr(harken_client, shape) is getattr(webhooks_api, shape)


@pytest.mark.parametrize(
    ("names", "server"),
    [
        (harken_client.StatusName, Status),
        (harken_client.ChannelName, Channel),
        (harken_client.MethodName, Method),
        (harken_client.EventTypeName, EventType),
        (harken_client.FeedbackName, FeedbackKind),
        (harken_client.WebhookEventName, WebhookEventType),
    ],
)
def test_literal_names_are_the_servers_enums(names: object, server: type[enum.Enum]) -> None:
    assert set(typing.get_args(names)) == {member.value for member in server}


def test_an_http_client_of_your_own_is_used_and_left_open(client: TestClient, api_key: str) -> None:
    own = httpx.Client(transport=httpx.MockTransport(to_app(client)), headers={"X-Trace": "t-1"})
    with Harken(BASE + "/", api_key, http=own) as harken:
        assert harken.register("priya").created
    assert not own.is_closed
    own.close()
    with pytest.raises(ValueError, match="not both"):
        Harken(BASE, api_key, http=own, transport=httpx.MockTransport(to_app(client)))
