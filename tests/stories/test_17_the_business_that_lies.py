"""Story 17, "The business that lies" (seeds 001, 004: "under their control", "audit-proof").

A second business registers its own customer with the email that a first business's customer gave
the first, mints a customer token, and asks to see what the person declared elsewhere; it also tries
to erase them, and to re-use an erased record. Expected: it sees nothing the person did not share with
it, changes nothing the first business's decisions see, erases only its own relationship, and the
person's real identity is untouched — until the person proves the address is theirs and chooses to
link. Someone with write access to the database rewrites a consent and its ledger, checkpoints
included: verifying against the signed heads kept outside the database exposes it.

Here on a real server, its own database and mail directory; the businesses speak HTTP, the person
signs in with the link the hub mailed, the operator runs `harken ledger verify`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Database
from tests.ledger.test_tamper import apply, rewrite
from tests.live import LiveHub, serve

pytestmark = pytest.mark.slow  # a real server and `harken ledger` processes

EMAIL = "maya@example.com"


@pytest.fixture
def hub(fresh_database: Database, tmp_path: Path) -> Iterator[LiveHub]:
    mail = tmp_path / "mail"
    with serve(
        fresh_database.url, tmp_path / "data", extra_env={"HARKEN_MAILER": f"directory:{mail}"}
    ) as live:
        yield live


def ok(response: httpx.Response, status: int | None = None) -> Any:
    assert (response.status_code < 400) if status is None else response.status_code == status, response.text
    return response.json() if response.content else None


def decide(airline: httpx.Client) -> dict[str, Any]:
    body = {"subject": "maya", "purpose": "marketing", "channels": ["email"], "offer_ids": ["lounge"]}
    decided: dict[str, Any] = ok(airline.post("/v1/decisions", json=body))
    return decided


def test_a_business_that_lies_reaches_no_one_and_a_rewritten_ledger_is_exposed(
    hub: LiveHub, fresh_database: Database, tmp_path: Path
) -> None:
    airline, rival = hub.create_org("Skyway Airlines"), hub.create_org("Rival Rail")
    ok(airline.put("/v1/notices/marketing", json={"text": "Flight deals by email?"}))
    ok(airline.put("/v1/subjects/maya", json={"email": EMAIL}))
    ok(airline.put("/v1/subjects/maya/consents/marketing", json={"status": "granted", "channels": ["email"]}))
    ok(airline.put("/v1/offers/lounge", json={"title": "Lounge pass", "topics": ["travel"]}))
    app = {"Authorization": f"Bearer {ok(airline.post('/v1/subjects/maya/sessions'))['token']}"}
    ok(airline.patch("/v1/me/preferences", headers=app, json={"interests": {"travel": 1}, "country": "PT"}))
    told = decide(airline)
    assert told["allowed"] is True

    # The rival says maya's address is its customer's, and acts through a token it mints for them.
    ok(rival.put("/v1/subjects/lure", json={"email": EMAIL}))
    lure = {"Authorization": f"Bearer {ok(rival.post('/v1/subjects/lure/sessions'))['token']}"}
    directory = ok(rival.get("/v1/me/directory", headers=lure))
    rival_id = next(b["id"] for b in directory if b["name"] == "Rival Rail")
    refused = rival.put(f"/v1/me/sharing/{rival_id}", headers=lure, json={"profile": True, "purchases": True})
    assert ok(refused, 403)["type"] == "/problems/insufficient-authority"
    assert ok(rival.get("/v1/subjects/lure"))["data"] == []
    assert ok(rival.get("/v1/me", headers=lure))["data"] == []
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    ok(rival.put("/v1/me/context", headers=lure, json={"do_not_disturb_until": tomorrow}))
    ok(rival.patch("/v1/me/preferences", headers=lure, json={"interests": {"travel": -1}}))
    assert decide(airline)["allowed"] is True  # nothing it wrote reaches the airline's decisions

    # It erases "its" customer: only its own relationship ends; the record cannot be re-used.
    assert ok(rival.delete("/v1/subjects/lure")) == {"scope": "this-business", "businesses": ["Rival Rail"]}
    ok(rival.put("/v1/subjects/lure", json={"email": "someone@example.com"}), 410)
    ok(airline.put("/v1/subjects/maya/consents/marketing", json={"status": "granted", "channels": ["email"]}))
    assert decide(airline)["allowed"] is True

    # Maya proves the address is hers: only the airline's claim is offered (the rival's is erased).
    maya = hub.visitor()
    maya.sign_in(EMAIL, confirm=False)
    assert maya.confirm_claims() == [f"/centre/links/{_org_id(airline)}/confirm"]
    assert "Rival Rail" not in maya.get("/centre/businesses").text

    # A monitor keeps the hub's signed heads, as the webhook delivers them or as it polls them.
    assert hub.harken("ledger", "checkpoint").returncode == 0
    kept = ok(airline.get("/v1/ledger/heads"))["heads"]
    witness = tmp_path / "heads.jsonl"
    witness.write_text("".join(json.dumps(head) + "\n" for head in kept))
    assert hub.harken("ledger", "verify", "--witness", str(witness)).returncode == 0

    # Someone with the database rewrites maya's first consent to "denied", re-hashes every entry after it,
    # fixes the head and deletes the checkpoints that would no longer match.
    chain = f"org:{_org_id(airline)}"
    first = next(h for h in kept if h["chain"] == chain)
    apply(fresh_database, chain, rewrite(1, drop_checkpoints_from=1, data={"status": "denied"}))
    alone = hub.harken("ledger", "verify", check=False)
    against = hub.harken("ledger", "verify", "--witness", str(witness), check=False)
    assert alone.returncode == 0, alone.stdout + alone.stderr  # the database agrees with itself...
    assert against.returncode == 1  # ...but not with what was kept outside it
    assert (
        f"{chain}" in against.stdout + against.stderr and str(first["seq"]) in against.stdout + against.stderr
    )


def _org_id(org: httpx.Client) -> str:
    """An org's own id: the audience the hub names it by (`…/orgs/{id}`), as its chain is `org:{id}`."""
    audience: str = ok(org.post("/v1/credentials/nonces"))["audience"]
    return audience.rsplit("/orgs/", 1)[1]
