"""The Python client and the server's `/openapi.json` agree: every public call of `harken.client.Harken`
is made here once, and the request it sends must be an operation the server serves (method and path),
with only the query parameters and body fields that operation declares (and every body field it
requires), and the model the client reads the answer into must have exactly the fields of the
operation's response. A call added to the client without a row here fails too."""

from __future__ import annotations

import collections.abc
import inspect
import re
import types
import typing
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from harken.app import create_app
from harken.client import Harken, HarkenError
from harken.client.wire import Wire
from harken.config import Settings
from tests.conftest import Database

ID = uuid.UUID(int=1)
AT = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

CALLS: dict[str, Callable[[Harken], object]] = {
    "purposes": lambda h: h.purposes(),
    "put_notice": lambda h: h.put_notice("marketing", "May we?", locale="en"),
    "notice": lambda h: h.notice("marketing", version=2),
    "notices": lambda h: next(h.notices("marketing", page_size=10)),
    "record_consent": lambda h: h.record_consent(
        "cust-1",
        "marketing",
        "granted",
        ["email"],
        notice_version=1,
        method="api",
        captured_at=AT,
        expires_at=AT,
        evidence={"form": "checkout"},
    ),
    "consents": lambda h: h.consents("cust-1"),
    "consent_history": lambda h: h.consent_history("cust-1", purpose="marketing", limit=10, cursor="5"),
    "receipt": lambda h: h.receipt(ID),
    "receipt_proof": lambda h: h.receipt_proof(ID),
    "jwks": lambda h: h.jwks(),
    "share": lambda h: h.share(ID),
    "credential_nonce": lambda h: h.credential_nonce(),
    "verify_credential": lambda h: h.verify_credential("x~", "n"),
    "put_offer": lambda h: h.put_offer(
        "lounge",
        "Lounge",
        topics=["travel"],
        personas=["parent"],
        channels=["email"],
        purpose="marketing",
        sensitive=False,
        item="lounge-pass",
        situations=["travelling"],
        countries=["PT"],
        locales=["en"],
        suppress_days=7,
    ),
    "offer": lambda h: h.offer("lounge"),
    "offers": lambda h: next(h.offers(page_size=10)),
    "decide": lambda h: h.decide("cust-1", "marketing", ["email"], offer_ids=["lounge"], at=AT),
    "feedback": lambda h: h.feedback(ID, "accepted"),
    "put_question": lambda h: h.put_question(
        "q",
        text={"en": "Tea?"},
        fills="interest:tea",
        options=[{"id": "y", "label": {"en": "Yes"}}],
        intrusiveness=1,
    ),
    "next_question": lambda h: h.next_question("cust-1", locale="en"),
    "answer": lambda h: h.answer("cust-1", "q", "y", declined=False),
    "subscribe": lambda h: h.subscribe("https://hooks.example.com/in", ["consent.updated"]),
    "webhooks": lambda h: h.webhooks(),
    "unsubscribe": lambda h: h.unsubscribe(ID),
    "deliveries": lambda h: h.deliveries(endpoint_id=ID, status="pending", limit=10),
    "replay": lambda h: h.replay(ID),
    "replay_range": lambda h: h.replay_range(ID, AT, AT),
    "register": lambda h: h.register("cust-1", email="priya@example.com"),
    "customer": lambda h: h.customer("cust-1"),
    "customers": lambda h: next(h.customers(page_size=10)),
    "erase": lambda h: h.erase("cust-1"),
    "customer_token": lambda h: h.customer_token("cust-1", ttl_seconds=600),
    "export": lambda h: h.export("cust-1"),
    "put_context": lambda h: h.put_context(
        "cust-1",
        provenance="observed",
        persona="parent",
        intent="buying",
        situation="home",
        topics=["tea"],
        do_not_disturb_until=AT,
        valid_until=AT,
    ),
    "patch_preferences": lambda h: h.patch_preferences(
        "cust-1",
        provenance="inferred",
        interests={"tea": 0.5},
        channels={"sms": {"allowed": False}},
        quiet_hours={"start": "22:00", "end": "07:00"},
        time_zone="Europe/Lisbon",
        locale="en",
        country="PT",
        life_events={"moving": None},
        novelty=0.5,
    ),
    "event": lambda h: h.event(
        "cust-1", "purchase", item="tea", topics=["tea"], gift=True, offer_id="lounge", occurred_at=AT
    ),
    "terms_proffers": lambda h: h.terms_proffers("proffered"),
    "terms_record": lambda h: h.terms_record(ID),
    "accept_terms": lambda h: h.accept_terms(ID),
    "offer_terms_alternative": lambda h: h.offer_terms_alternative(ID, "GS-ONLY"),
    "decline_terms": lambda h: h.decline_terms(ID),
    "accepted_terms": lambda h: h.accepted_terms(),
    "publish_terms": lambda h: h.publish_terms(["SD-BASE"]),
}
# What a call returns that is not the model it reads: the response fields it reads.
READS = {"replay_range": {"deliveries"}}
NOT_HTTP = {"verify_webhook", "verify_terms_record"}  # offline: check a webhook's or a record's signature


def calls() -> list[str]:
    return sorted(
        n for n in dir(Harken) if not n.startswith("_") and n not in dir(Wire) and n not in NOT_HTTP
    )


def test_every_call_of_the_client_is_checked() -> None:
    assert calls() == sorted(CALLS)


@pytest.fixture(scope="module")
def document(settings: Settings, database: Database) -> dict[str, Any]:
    """The server's OpenAPI document, as `/openapi.json` serves it."""
    served: dict[str, Any] = create_app(settings, engine=database.engine).openapi()
    return served


def sent(name: str) -> httpx.Request:
    """The request a call sends (the hub answers 418 here, which the client raises at once)."""
    requests: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(418, json={"type": "about:blank", "title": "No", "status": 418})

    with (
        Harken("http://hub", "hk_x", transport=httpx.MockTransport(refuse), max_attempts=1) as harken,
        pytest.raises(HarkenError),
    ):
        CALLS[name](harken)
    [request] = requests
    return request


def operation(document: dict[str, Any], request: httpx.Request) -> dict[str, Any]:
    for template, operations in document["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, request.url.raw_path.decode().split("?")[0]):
            found = operations.get(request.method.lower())
            if found is not None:
                return found  # type: ignore[no-any-return]
    raise AssertionError(f"the server serves no {request.method} {request.url.path}")


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with its $ref followed and a nullable anyOf reduced to its one non-null choice."""
    while True:
        if "$ref" in schema:
            schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        elif "anyOf" in schema:
            [schema] = [s for s in schema["anyOf"] if s.get("type") != "null"]
        else:
            return schema


def fields(model: type[BaseModel]) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


def read_model(name: str) -> tuple[str, Any]:
    """How a call reads its answer: ("model", M), ("list", M), ("pages", M), ("none", None) or ("document", None)."""
    returned = typing.get_type_hints(getattr(Harken, name))["return"]
    origin, args = typing.get_origin(returned), typing.get_args(returned)
    if returned is type(None):
        return "none", None
    if origin in (types.UnionType, typing.Union):  # `M | None`: None on 204
        [returned] = [a for a in args if a is not type(None)]
        origin, args = typing.get_origin(returned), typing.get_args(returned)
    if origin is list:
        return "list", args[0]
    if origin is collections.abc.Iterator:
        return "pages", args[0]
    if origin is dict:
        return "document", None
    assert inspect.isclass(returned) and issubclass(returned, BaseModel), (name, returned)
    return "model", returned


@pytest.mark.parametrize("name", sorted(CALLS))
def test_the_client_s_call_is_what_the_server_serves(name: str, document: dict[str, Any]) -> None:
    request = sent(name)
    found = operation(document, request)
    declared = {p["name"] for p in found.get("parameters", []) if p["in"] == "query"}
    assert set(request.url.params) <= declared, f"{name} sends query parameters the server does not declare"
    if request.content:
        schema = resolve(document, found["requestBody"]["content"]["application/json"]["schema"])
        body = httpx.Response(200, content=request.content).json()
        assert set(body) <= set(schema["properties"]), f"{name} sends fields the server does not take"
        assert set(schema.get("required", [])) <= set(body), f"{name} leaves out fields the server requires"
    else:
        assert "requestBody" not in found or not found["requestBody"].get("required"), name

    answers = {code: a for code, a in found["responses"].items() if code.startswith("2")}
    kind, model = ("reads", None) if name in READS else read_model(name)
    if kind == "none" or name == "next_question":
        assert "204" in answers, f"{name} expects no content; the server does not answer 204"
    if kind == "none":
        return
    content = next(a["content"]["application/json"]["schema"] for a in answers.values() if "content" in a)
    schema = resolve(document, content)
    if name in READS:
        assert READS[name] <= set(schema["properties"]), name
    elif kind == "list" and model is not None:
        assert schema["type"] == "array"
        assert fields(model) == set(resolve(document, schema["items"])["properties"]), name
    elif kind == "pages" and model is not None:
        assert {"items", "next_cursor"} <= set(schema["properties"]), name
        item = resolve(document, schema["properties"]["items"]["items"])
        assert fields(model) == set(item["properties"]), name
    elif kind == "model" and model is not None:
        assert fields(model) == set(schema["properties"]), (
            f"{name} reads {model.__name__}, not what the server answers"
        )
    else:
        assert schema.get("type") == "object", name


def test_a_drift_in_what_the_client_reads_is_caught(
    document: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above fails when the client reads an answer into a model with a field the server does not send."""

    class Narrower(BaseModel):
        scope: str
        businesses: list[str]
        when: str

    monkeypatch.setattr(Harken.erase, "__annotations__", {"ref": "str", "return": Narrower})
    with pytest.raises(AssertionError, match="reads Narrower"):
        test_the_client_s_call_is_what_the_server_serves("erase", document)


@pytest.mark.parametrize(
    ("call", "caught"),
    [
        (
            lambda h: h._send("PUT", "/v1/notices/marketing", {"txt": "May we?"}),
            "sends fields the server does not take",
        ),
        (
            lambda h: h._send("PUT", "/v1/notices/marketing", {"locale": "en"}),
            "leaves out fields the server requires",
        ),
        (
            lambda h: h._send("GET", "/v1/offers", params={"page": 2}),
            "sends query parameters the server does not declare",
        ),
        (lambda h: h._send("GET", "/v1/offer/lounge"), "the server serves no GET /v1/offer/lounge"),
    ],
    ids=["body-field", "required-field", "query-parameter", "path"],
)
def test_a_drift_in_what_the_client_sends_is_caught(
    call: Callable[[Harken], object], caught: str, document: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(CALLS, "put_notice", call)
    with pytest.raises(AssertionError, match=caught):
        test_the_client_s_call_is_what_the_server_serves("put_notice", document)
