"""`PUT /v1/me/consents/{org_id}/{purpose}`: the customer grants or withdraws a purpose at one business
they linked, from the business's app (that business only), as the verified person, or through their
agent (a grant with the `consents` scope); the business's next decision sees it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from harken.jws import keys_from_jwks
from harken.ledger.receipts import verify_receipt
from tests.centre_client import Visitor
from tests.factories import auth, make_org
from tests.grants.agent import Agent, bearer

EMAIL = "noor@example.com"
OFFER = {"id": "tea", "title": "Tea tasting", "topics": ["tea"]}


def decide(client: TestClient, key: str) -> dict[str, Any]:
    body = {"subject": "noor", "purpose": "marketing", "channels": ["email"], "candidates": [OFFER]}
    answer = client.post("/v1/decisions", headers=auth(key), json=body)
    assert answer.status_code == 200, answer.text
    decided: dict[str, Any] = answer.json()
    return decided


def test_the_customer_grants_and_withdraws_at_one_business_and_its_next_decision_sees_it(
    client: TestClient, session: Session
) -> None:
    shop, key = make_org(session, "Tea House")
    other, _ = make_org(session, "Coffee Corner")
    client.put("/v1/subjects/noor", headers=auth(key), json={}).raise_for_status()
    token = client.post("/v1/subjects/noor/sessions", headers=auth(key)).json()["token"]
    app = {"Authorization": f"Bearer {token}"}  # her app at the shop
    # she likes tea, so only consent stands between the shop and her inbox
    client.patch("/v1/me/preferences", headers=app, json={"interests": {"tea": 1}}).raise_for_status()
    path = f"/v1/me/consents/{shop.id}/marketing"

    refused = client.put(path, headers=app, json={"status": "granted"})  # a grant names its channels
    assert refused.status_code == 422 and "channels" in refused.text
    assert decide(client, key)["allowed"] is False

    granted = client.put(path, headers=app, json={"status": "granted", "channels": ["email"]})
    assert granted.status_code == 200, granted.text
    assert granted.json()["business"] == "Tea House" and granted.json()["channels"] == ["email"]
    [state] = client.get("/v1/subjects/noor/consents", headers=auth(key)).json()["consents"]
    assert state["status"] == "granted" and state["record"]["method"] == "preference-centre"
    assert state["record"]["evidence"] == {"via": "api"} and state["record"]["id"] == granted.json()["record"]
    assert decide(client, key)["allowed"] is True
    # Hers to keep: the receipt, signed by the hub, checks out offline and names this record.
    jwks = client.get("/.well-known/jwks.json").json()
    mine = verify_receipt(granted.json()["receipt"], keys_from_jwks(jwks))
    business_copy = client.get(f"/v1/receipts/{granted.json()['record']}", headers=auth(key)).json()
    assert mine == business_copy["receipt"] and granted.json()["record"] in str(mine)

    withdrawn = client.put(path, headers=app, json={"status": "withdrawn"})
    assert withdrawn.status_code == 200 and decide(client, key)["allowed"] is False
    # The shop's app opens the shop's window only: another business is not found, whether it exists or not.
    assert (
        client.put(
            f"/v1/me/consents/{other.id}/marketing", headers=app, json={"status": "withdrawn"}
        ).status_code
        == 404
    )


def test_an_agent_needs_the_consents_scope(
    client: TestClient, session: Session, visitor: Callable[..., Visitor]
) -> None:
    shop, key = make_org(session, "Tea House")
    client.put("/v1/subjects/noor", headers=auth(key), json={"email": EMAIL}).raise_for_status()
    browser = visitor()
    browser.sign_in(EMAIL)
    path, body = f"/v1/me/consents/{shop.id}/marketing", {"status": "granted", "channels": ["email"]}
    reader = bearer(Agent.register(client).connect(browser, scope="read context"))
    assert client.put(path, headers=reader, json=body).status_code == 403
    trusted = bearer(Agent.register(client).connect(browser, scope="read consents"))
    assert client.put(path, headers=trusted, json=body).status_code == 200
    [state] = client.get("/v1/subjects/noor/consents", headers=auth(key)).json()["consents"]
    assert state["status"] == "granted" and state["record"]["evidence"] == {"via": "agent"}
