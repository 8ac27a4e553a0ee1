"""The isolation matrix: every org and `/v1/me` endpoint, called with every kind of credential, about
the customer of another business, of one that merely claims the same email, and of the verified
person who linked it. Nothing any of them does reaches another business's customer, and each call
gets exactly what its tier allows: 401 without a credential or with the wrong kind, 403 for a power
its tier lacks, 404 for what is another's, 2xx otherwise.

The table `ROUTES` names every endpoint's authority; `test_every_endpoint_is_in_the_matrix` fails
when an endpoint is added without a row here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from harken.grants.service import SCOPES
from tests.centre_client import Visitor
from tests.factories import auth, make_org
from tests.grants.agent import Agent, bearer

EMAIL = "alice@example.com"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    tier: str  # public | operator | org | customer (a customer token's window) | person (verified only)
    body: Any = None
    # What org B gets when the path names org A's things; None: B acts on its own namesake (allowed).
    foreign: int | None = 404
    # Whether the person's own agent (an `ha_…` token of a grant with every scope) may: None, as its
    # tier says (a customer's route yes, the verified person's no).
    agent: bool | None = None

    @property
    def delegable(self) -> bool:
        return self.tier == "customer" if self.agent is None else self.agent


ROUTES = [
    Route("GET", "/v1/purposes", "public"),
    Route("GET", "/.well-known/jwks.json", "public"),
    Route("GET", "/v1/status-lists/{list_id}", "public"),
    Route("GET", "/healthz", "public"),
    Route("GET", "/readyz", "public"),
    # The operator's, by HARKEN_METRICS_TOKEN or address, never by an org's or a customer's credential:
    # tests/observe/test_metrics.py.
    Route("GET", "/metrics", "operator"),
    # Anyone: the hub's own chains; an org key adds that org's own chain, and another org's is the 404 of
    # a chain that does not exist: test_the_signed_heads_show_an_org_only_its_own_chain.
    Route("GET", "/v1/ledger/heads", "public"),
    Route("GET", "/.well-known/oauth-authorization-server", "public"),
    Route("GET", "/.well-known/oauth-protected-resource", "public"),
    Route("GET", "/.well-known/oauth-protected-resource/mcp", "public"),
    Route("POST", "/oauth/register", "public"),
    Route("GET", "/v1/keys", "org", foreign=None),
    Route("POST", "/v1/keys", "org", foreign=None),
    Route("DELETE", "/v1/keys/{key_id}", "org"),
    Route("POST", "/v1/keys/{key_id}/rotate", "org", {"grace_seconds": 0}),
    Route("PUT", "/v1/subjects/{ref}", "org", {}, foreign=None),
    Route("GET", "/v1/subjects", "org", foreign=None),
    Route("GET", "/v1/subjects/{ref}", "org"),
    Route("GET", "/v1/subjects/{ref}/export", "org"),
    Route("POST", "/v1/subjects/{ref}/sessions", "org", {}),
    Route("DELETE", "/v1/subjects/{ref}/sessions", "org"),
    Route("PUT", "/v1/subjects/{ref}/consents/{purpose}", "org", {"status": "withdrawn"}),
    Route("GET", "/v1/subjects/{ref}/consents", "org"),
    Route("GET", "/v1/subjects/{ref}/consents/history", "org"),
    Route("PUT", "/v1/subjects/{ref}/context", "org", {"situation": "home", "provenance": "observed"}),
    Route(
        "PATCH",
        "/v1/subjects/{ref}/preferences",
        "org",
        {"interests": {"golf": 0.5}, "provenance": "inferred"},
    ),
    Route("POST", "/v1/subjects/{ref}/events", "org", {"type": "purchase", "item": "x", "topics": ["golf"]}),
    Route("GET", "/v1/subjects/{ref}/next-question", "org"),
    Route("POST", "/v1/subjects/{ref}/answers", "org", {"question_id": "q", "declined": True}),
    Route("DELETE", "/v1/subjects/{ref}", "org"),
    Route("PUT", "/v1/notices/{purpose}", "org", {"text": "May we?"}, foreign=None),
    Route("GET", "/v1/notices", "org", foreign=None),
    Route("GET", "/v1/notices/{purpose}", "org"),
    Route("GET", "/v1/receipts/{receipt_id}", "org"),
    Route("GET", "/v1/receipts/{receipt_id}/proof", "org"),
    Route("PUT", "/v1/offers/{offer_id}", "org", {"title": "Lounge", "topics": ["travel"]}, foreign=None),
    Route("GET", "/v1/offers", "org", foreign=None),
    Route("GET", "/v1/offers/{offer_id}", "org"),
    Route(
        "POST",
        "/v1/decisions",
        "org",
        {
            "subject": "{ref}",
            "purpose": "marketing",
            "channels": ["email"],
            "candidates": [{"id": "x", "topics": ["travel"]}],
        },
        foreign=None,
    ),
    Route("POST", "/v1/decisions/{decision_id}/feedback", "org", {"kind": "opted-out"}),
    Route(
        "PUT",
        "/v1/questions/{question_id}",
        "org",
        {
            "text": {"en": "Where to?"},
            "declares": "interest",
            "options": [{"id": "sea", "label": {"en": "Sea"}, "topics": ["sea"]}],
        },
        foreign=None,
    ),
    Route("GET", "/v1/webhooks", "org", foreign=None),
    Route(
        "POST",
        "/v1/webhooks",
        "org",
        {"url": "https://hooks.example.com/in", "events": ["consent.updated"]},
        foreign=None,
    ),
    Route("DELETE", "/v1/webhooks/{endpoint_id}", "org"),
    Route("GET", "/v1/webhooks/deliveries", "org", foreign=None),
    Route("POST", "/v1/webhooks/deliveries/{delivery_id}/replay", "org"),
    Route(
        "POST",
        "/v1/webhooks/{endpoint_id}/replay",
        "org",
        {"since": "2026-11-01T00:00:00Z", "until": "2026-11-02T00:00:00Z"},
    ),
    Route("GET", "/v1/shares/{share_id}", "org"),
    Route("POST", "/v1/credentials/nonces", "org", foreign=None),
    Route("POST", "/v1/credentials/verify", "org", {"presentation": "x~", "nonce": "n"}, foreign=None),
    Route("GET", "/v1/me", "customer"),
    Route("GET", "/v1/me/export", "customer"),
    Route("GET", "/v1/me/access-log", "customer"),
    Route("GET", "/v1/me/directory", "customer"),
    Route("PUT", "/v1/me/context", "customer", {"do_not_disturb_until": "2026-11-02T20:00:00Z"}),
    Route("DELETE", "/v1/me/context", "customer"),
    Route("PUT", "/v1/me/personas/{key}", "customer", {"label": "Runner", "interests": ["running"]}),
    Route("DELETE", "/v1/me/personas/{key}", "customer"),
    Route("PATCH", "/v1/me/preferences", "customer", {"interests": {"travel": -1}}),
    Route("DELETE", "/v1/me/token", "customer"),
    Route("DELETE", "/v1/me", "customer", agent=False),
    Route("PUT", "/v1/me/sharing/{org_id}", "person", {"profile": True, "purchases": True}),
    Route("PUT", "/v1/me/consents/{org_id}/{purpose}", "customer", {"status": "withdrawn"}),
    Route("POST", "/v1/me/tokens", "person", {}),
    Route("GET", "/v1/me/shares", "person", agent=True),
    Route(
        "POST",
        "/v1/me/shares",
        "person",
        {
            "grants": [{"org": "{org_id}", "purpose": "service", "fields": ["context"]}],
            "expires_at": "2026-11-03T08:00:00Z",
        },
        agent=True,
    ),
    Route("DELETE", "/v1/me/shares/{share_id}", "person", agent=True),
    Route("DELETE", "/v1/me/shares/{share_id}/orgs/{org_id}", "person", agent=True),
    Route("GET", "/v1/me/credentials", "person"),
    Route("POST", "/v1/me/credentials", "person", {}),
    Route("DELETE", "/v1/me/credentials/{credential_id}", "person"),
    Route("GET", "/.well-known/myterms", "public"),
    Route("GET", "/.well-known/myterms/{org_id}", "public"),
    Route("GET", "/v1/me/terms", "customer"),
    Route("POST", "/v1/me/terms", "person", {"agreement": "NO-AI", "orgs": ["{org_id}"]}, agent=True),
    Route("GET", "/v1/me/terms/{proffer_id}", "customer"),
    Route("DELETE", "/v1/me/terms/{proffer_id}", "person", agent=True),
    Route("GET", "/v1/terms/proffers", "org", foreign=None),
    Route("GET", "/v1/terms/proffers/{proffer_id}", "org"),
    Route("POST", "/v1/terms/proffers/{proffer_id}/accept", "org"),
    Route("POST", "/v1/terms/proffers/{proffer_id}/alternative", "org", {"agreement": "SD-BASE"}),
    Route("POST", "/v1/terms/proffers/{proffer_id}/decline", "org"),
    Route("GET", "/v1/terms/accepted", "org", foreign=None),
    Route("PUT", "/v1/terms/accepted", "org", {"agreements": ["NO-AI"]}, foreign=None),
    Route("GET", "/v1/me/grants", "person"),
    Route("DELETE", "/v1/me/grants/{grant_id}", "person"),
    Route("GET", "/v1/me/grant-requests/{request_id}", "person"),
    Route("POST", "/v1/me/grant-requests/{request_id}", "person", {"decision": "deny"}),
]


def test_every_endpoint_is_in_the_matrix(client: TestClient) -> None:
    served = {
        (method.upper(), path)
        for path, operations in client.app.openapi()["paths"].items()  # type: ignore[attr-defined]
        for method in operations
    }
    assert served == {(r.method, r.path) for r in ROUTES}


class World:
    """Org A (an airline) and its customer alice, who proved her address and linked A; org B (a rival)
    that registered its own ref `victim` with alice's address (a claim she never confirmed)."""

    def __init__(self, client: TestClient, session: Session, visitor: Callable[..., Visitor]) -> None:
        self.client = client
        a, key_a = make_org(session, "Skyway Airlines")
        b, key_b = make_org(session, "Rival Rail")
        self.a, self.b = auth(key_a), auth(key_b)
        self.org_a, self.org_b = str(a.id), str(b.id)
        self.call(self.a, "PUT", "/v1/notices/marketing", {"text": "May we email you about flights?"})
        self.call(self.a, "PUT", "/v1/subjects/alice", {"email": EMAIL})
        granted = self.call(
            self.a,
            "PUT",
            "/v1/subjects/alice/consents/marketing",
            {"status": "granted", "channels": ["email"]},
        )
        self.receipt_id = granted["id"]
        self.call(self.a, "PUT", "/v1/offers/lounge", {"title": "Lounge", "topics": ["travel"]})
        self.tok_a = self.token(self.a, "alice")
        self.call(
            self.tok_a,
            "PATCH",
            "/v1/me/preferences",
            {"interests": {"travel": 1}, "time_zone": "Europe/Lisbon"},
        )
        self.call(self.tok_a, "PUT", "/v1/me/personas/parent", {"label": "Parent", "interests": ["travel"]})
        self.decision_id = self.decide()["decision_id"]
        hook = {"url": "https://hooks.skyway.example/harken", "events": ["consent.updated"]}
        self.endpoint_id = self.call(self.a, "POST", "/v1/webhooks", hook)["id"]
        browser = visitor()
        browser.sign_in(EMAIL, confirm=False)
        assert browser.confirm_claims() == [f"/centre/links/{self.org_a}/confirm"]
        self.browser = browser
        # B claims her address after she linked A; she never confirms it.
        self.call(self.b, "PUT", "/v1/subjects/victim", {"email": EMAIL})
        self.tok_b = self.token(self.b, "victim")

    def call(
        self, headers: dict[str, str], method: str, path: str, body: Any = None, status: int | None = None
    ) -> Any:
        response = self.client.request(method, path, headers=headers, json=body)
        assert (response.status_code < 400) if status is None else response.status_code == status, (
            method,
            path,
            response.status_code,
            response.text,
        )
        return response.json() if response.content else None

    def agent_token(self) -> tuple[dict[str, str], str]:
        """An access token of alice's own agent, granted every scope at every business she linked; and
        its grant's id."""
        tokens = Agent.register(self.client).connect(self.browser, scope=" ".join(SCOPES))
        person = auth(self.browser.person_token())
        grant_id = self.call(person, "GET", "/v1/me/grants")[0]["id"]
        return bearer(tokens), grant_id

    def token(self, org: dict[str, str], ref: str) -> dict[str, str]:
        return auth(self.call(org, "POST", f"/v1/subjects/{ref}/sessions")["token"])

    def decide(self) -> Any:
        body = {"subject": "alice", "purpose": "marketing", "channels": ["email"], "offer_ids": ["lounge"]}
        return self.call(self.a, "POST", "/v1/decisions", body)

    def seen_by_a(self) -> Any:
        """Everything A sees of alice, and what it would be told about her now."""
        decision = self.decide()
        return (
            self.call(self.a, "GET", "/v1/subjects/alice"),
            self.call(self.a, "GET", "/v1/subjects/alice/consents"),
            (decision["allowed"], [r["code"] for r in decision["reasons"]], decision["ranking"]),
        )


@pytest.fixture
def world(client: TestClient, session: Session, visitor: Callable[..., Visitor]) -> Iterator[World]:
    yield World(client, session, visitor)


def test_an_email_a_business_asserts_links_nothing(world: World) -> None:
    """Attack 1: B registers its own ref with A's customer's email and acts through a token it mints."""
    before = world.seen_by_a()
    # B's token cannot open what alice declared elsewhere...
    refused = world.client.put(
        f"/v1/me/sharing/{world.org_b}", headers=world.tok_b, json={"profile": True, "purchases": True}
    )
    assert refused.status_code == 403 and refused.json()["type"] == "/problems/insufficient-authority"
    # ...sees none of it...
    view = world.call(world.b, "GET", "/v1/subjects/victim")
    assert view["data"] == [] and view["purchases_shared"] is False
    me = world.call(world.tok_b, "GET", "/v1/me")
    assert me["data"] == [] and me["org"] == "Rival Rail"
    # ...and what it writes through its token stays with B.
    world.call(world.tok_b, "PUT", "/v1/me/context", {"do_not_disturb_until": "2026-11-02T20:00:00Z"})
    world.call(world.tok_b, "PATCH", "/v1/me/preferences", {"interests": {"travel": -1}})
    assert world.seen_by_a() == before
    assert world.decide()["allowed"] is True


def test_a_business_cannot_erase_another_business_s_customer(world: World) -> None:
    """Attack 2: B registers a ref with the email of A's customer, then erases it."""
    before = world.seen_by_a()
    erased = world.call(world.b, "DELETE", "/v1/subjects/victim")
    assert erased == {"scope": "this-business", "businesses": ["Rival Rail"]}
    assert world.seen_by_a() == before
    world.call(
        world.a, "PUT", "/v1/subjects/alice/consents/marketing", {"status": "granted", "channels": ["email"]}
    )
    assert "subject.erased" not in [r["code"] for r in world.decide()["reasons"]]


def test_a_business_s_lists_hold_only_its_own(world: World) -> None:
    """B lists its customers, offers and notices: none of A's, though both know alice's address."""
    assert [s["ref"] for s in world.call(world.b, "GET", "/v1/subjects")["items"]] == ["victim"]
    assert world.call(world.b, "GET", "/v1/offers")["items"] == []
    assert world.call(world.b, "GET", "/v1/notices")["items"] == []
    assert [s["ref"] for s in world.call(world.a, "GET", "/v1/subjects")["items"]] == ["alice"]
    assert [o["id"] for o in world.call(world.a, "GET", "/v1/offers")["items"]] == ["lounge"]
    for path in ("/v1/subjects", "/v1/offers", "/v1/notices"):  # a customer's token lists nothing
        assert world.client.get(path, headers=world.tok_a).status_code == 401


def test_an_erased_ref_cannot_poison_an_email(world: World) -> None:
    """Attack 3: B erases a ref, then gives it someone's email; A registers a customer with that email."""
    world.call(world.b, "PUT", "/v1/subjects/bait")
    world.call(world.b, "DELETE", "/v1/subjects/bait")
    poisoned = world.client.put("/v1/subjects/bait", headers=world.b, json={"email": "bob@example.com"})
    assert poisoned.status_code == 410
    world.call(world.a, "PUT", "/v1/subjects/bob", {"email": "bob@example.com"})
    world.call(
        world.a, "PUT", "/v1/subjects/bob/consents/marketing", {"status": "granted", "channels": ["email"]}
    )
    body = {"subject": "bob", "purpose": "marketing", "channels": ["email"], "offer_ids": ["lounge"]}
    decision = world.call(world.a, "POST", "/v1/decisions", body)
    assert "subject.erased" not in [r["code"] for r in decision["reasons"]]


def test_the_verified_person_sees_what_they_linked_and_only_they_can_share_it(world: World) -> None:
    person = auth(world.browser.person_token())
    me = world.call(person, "GET", "/v1/me")
    assert me["org"] is None
    assert {d["field"] for d in me["data"]} >= {"interest:travel", "time_zone", "persona:parent"}
    assert {c["org"] for c in me["consents"]} == {"Skyway Airlines"}  # never B's unconfirmed ref
    # Sharing with B is refused: B's ref is not linked to her (the same 404 as a business that does not exist).
    world.call(
        person, "PUT", f"/v1/me/sharing/{world.org_b}", {"profile": True, "purchases": False}, status=404
    )
    world.call(person, "PUT", f"/v1/me/sharing/{world.org_a}", {"profile": True, "purchases": False})


def test_a_customer_token_cannot_outlive_revocation_nor_its_erased_person(world: World) -> None:
    world.call(world.tok_a, "GET", "/v1/me")
    world.call(world.a, "DELETE", "/v1/subjects/alice/sessions")
    revoked = world.client.get("/v1/me", headers=world.tok_a)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    fresh = world.token(world.a, "alice")
    world.call(world.a, "DELETE", "/v1/subjects/alice")
    gone = world.client.get("/v1/me", headers=fresh)
    assert gone.status_code == 401
    assert world.client.post("/v1/subjects/alice/sessions", headers=world.a, json={}).status_code == 410


def _ids(world: World, grant_id: str = "") -> dict[str, str]:
    """Org A's things, named in every path: what org B (or anyone but A) must not reach."""
    person = auth(world.browser.person_token())
    share = world.call(
        person,
        "POST",
        "/v1/me/shares",
        {
            "grants": [{"org": world.org_a, "purpose": "service", "fields": ["context"]}],
            "expires_at": "2026-11-03T08:00:00Z",
        },
    )
    proffered = world.call(person, "POST", "/v1/me/terms", {"agreement": "INTENT", "orgs": [world.org_a]})
    return {
        "proffer_id": proffered[0]["id"],
        "ref": "alice",
        "purpose": "marketing",
        "receipt_id": world.receipt_id,
        "decision_id": world.decision_id,
        "offer_id": "lounge",
        "question_id": "q",
        "endpoint_id": world.endpoint_id,
        "delivery_id": str(uuid.uuid4()),
        "share_id": share["id"],
        "credential_id": str(uuid.uuid4()),
        "org_id": world.org_a,
        "key": "parent",
        "list_id": str(uuid.uuid4()),
        "key_id": world.call(world.a, "GET", "/v1/keys")[0]["id"],
        "grant_id": grant_id or str(uuid.uuid4()),
        "request_id": str(uuid.uuid4()),  # an agent's request: a person's answer to an unknown one is 404
    }


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids) if "{" in value else value
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.tier not in ("public", "operator")], ids=lambda r: f"{r.method} {r.path}"
)
def test_each_credential_gets_exactly_what_its_tier_allows(route: Route, world: World) -> None:
    agent, grant_id = world.agent_token()
    ids = _ids(world, grant_id)
    path, body = route.path.format(**ids), _fill(route.body, ids)
    before = world.seen_by_a()

    def status(headers: dict[str, str]) -> int:
        return world.client.request(route.method, path, headers=headers, json=body).status_code

    assert status({}) == 401
    assert status({"Authorization": "Bearer hk_forged"}) == 401
    if route.tier == "org":
        # Customer tokens of either tier, and agents' tokens, never act as an org.
        assert status(world.tok_b) == 401
        assert status(auth(world.browser.person_token())) == 401
        assert status(agent) == 401
        found = status(world.b)
        if route.foreign is not None:
            assert found == route.foreign, f"org B reached org A's {route.path}: {found}"
        else:
            assert found < 500
    else:
        assert status(world.b) == 401  # an org key never speaks for a person
        found = status(world.tok_b)
        if route.tier == "person":
            assert found == 403, f"a customer token did what only the verified person may: {found}"
        else:
            assert found < 400 or found in (404, 422), found
    # Whatever B did, with whatever credential, A sees and decides exactly as before.
    assert world.seen_by_a() == before
    if route.tier != "org":
        # Her own agent may what its grant delegates, and never what only she may (403).
        found = status(agent)
        if route.delegable:
            assert found < 400 or found in (404, 422), found
        else:
            assert found == 403, f"an agent did what only the verified person may: {found}"
        found = status(auth(world.browser.person_token()))
        assert found < 400 or found in (404, 422), found  # the person may; an id that is not theirs is 404


def test_the_signed_heads_show_an_org_only_its_own_chain(world: World) -> None:
    """B, or anyone but A's key, asking for A's chain by name gets the 404 of a chain that does not exist
    (which businesses are on the hub and how much each records is theirs), and lists no org's chain."""
    world.call(world.a, "GET", f"/v1/receipts/{world.receipt_id}/proof")  # A's head is signed now
    chain_a = f"org:{world.org_a}"
    agent, _ = world.agent_token()

    def answer(headers: dict[str, str], chain: str | None = None) -> tuple[int, Any]:
        found = world.client.get(
            "/v1/ledger/heads", headers=headers, params={"chain": chain} if chain else {}
        )
        return found.status_code, found.json()

    missing = answer(world.b, f"org:{uuid.uuid4()}")
    assert missing[0] == 404, missing
    for headers in ({}, world.b, world.tok_b, world.tok_a, auth(world.browser.person_token()), agent):
        assert answer(headers, chain_a) == missing
        assert not [h for h in answer(headers)[1]["heads"] if h["chain"].startswith("org:")]
    assert answer({"Authorization": "Bearer hk_forged"}, chain_a)[0] == 401
    assert [h["chain"] for h in answer(world.a, chain_a)[1]["heads"]] == [chain_a]
    assert chain_a in [h["chain"] for h in answer(world.a)[1]["heads"]]


def test_an_erased_customer_s_410_names_no_internal_id(world: World) -> None:
    world.call(world.a, "DELETE", "/v1/subjects/alice")
    for method, path, body in (
        ("PUT", "/v1/subjects/alice/consents/marketing", {"status": "granted", "channels": ["email"]}),
        ("PUT", "/v1/subjects/alice", {}),
        ("POST", "/v1/subjects/alice/events", {"type": "purchase", "item": "x", "topics": ["golf"]}),
    ):
        gone = world.client.request(method, path, headers=world.a, json=body)
        assert gone.status_code == 410, gone.text
        assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", gone.text), gone.text
