"""Authentication remembered per credential, liveness decided per request: a hub remembers the
credentials it checked (by digest, bounded, successes only), and a revocation, an expiry or an erasure
made through any hub on the same database is refused on the very next call to a hub that remembers the
credential, saying why, as before."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from harken.app import create_app
from harken.authority import Authority, Tier, digest
from harken.centre.mail import MemoryMailer
from harken.config import Settings
from harken.db import create_db_engine, make_session_factory
from harken.deps import Authenticate, Checked
from harken.orgs.models import ApiKey
from tests.centre_client import Visitor
from tests.conftest import Database
from tests.factories import T0, FixedClock, auth, make_org
from tests.orgs.test_keys_api import key_id


@dataclass
class Hubs:
    """Two hubs on one database, as two processes or nodes would be: own engine, own remembered
    credentials, one clock the test moves."""

    a: TestClient
    b: TestClient
    key: str  # the org's key
    clock: FixedClock
    mailer: MemoryMailer  # hub B's

    def person(self, email: str = "alice@example.com") -> str:
        """A verified person's token (`hp_…`), minted on hub B's centre."""
        browser = Visitor(self.b.app, self.mailer)
        browser.sign_in(email)
        return browser.person_token()

    def remembered(self, credential: str) -> bool:
        """Whether hub A holds `credential` as checked (so its next call skips the middleware's read)."""
        return digest(credential) in _checked(self.a.app)._known

    def token(self, ref: str = "alice", ttl: int = 900) -> str:
        response = self.b.post(
            f"/v1/subjects/{ref}/sessions", headers=auth(self.key), json={"ttl_seconds": ttl}
        )
        assert response.status_code == 201, response.text
        token: str = response.json()["token"]
        return token


def _checked(app: Any) -> Checked:
    layer: Any = app.middleware_stack
    while not isinstance(layer, Authenticate):
        layer = layer.app
    return layer.checked


@pytest.fixture
def hubs(fresh_database: Database, settings: Settings) -> Iterator[Hubs]:
    engines: list[Engine] = [create_db_engine(fresh_database.url) for _ in range(2)]
    with make_session_factory(engines[0])() as session:
        _, key = make_org(session)
    clock, mailer = FixedClock(T0), MemoryMailer()
    a, b = (TestClient(create_app(settings, engine=engine, clock=clock, mailer=mailer)) for engine in engines)
    registered = a.put("/v1/subjects/alice", headers=auth(key), json={"email": "alice@example.com"})
    assert registered.status_code == 201
    try:
        yield Hubs(a, b, key, clock, mailer)
    finally:
        for engine in engines:
            engine.dispose()


def refusal(client: TestClient, credential: str, path: str = "/v1/keys") -> str | None:
    """The 401's detail for a call with `credential`, None when it is served."""
    response = client.get(path, headers=auth(credential))
    if response.status_code == 401:
        assert response.headers["content-type"] == "application/problem+json"
        detail: str = response.json()["detail"]
        return detail
    assert response.status_code == 200, response.text
    return None


def test_a_key_revoked_through_another_hub_is_refused_on_the_next_call_to_one_that_remembers_it(
    hubs: Hubs,
) -> None:
    assert refusal(hubs.a, hubs.key) is None and hubs.remembered(hubs.key)
    spare = hubs.b.post("/v1/keys", headers=auth(hubs.key)).json()["key"]
    assert hubs.b.delete(f"/v1/keys/{key_id(hubs.b, hubs.key)}", headers=auth(spare)).status_code == 204
    assert refusal(hubs.a, hubs.key) == "this API key is not known or was revoked"
    assert not hubs.remembered(hubs.key)  # forgotten: the next call is refused before its body is read
    assert refusal(hubs.a, hubs.key) == "this API key is not known or was revoked"
    assert refusal(hubs.a, spare) is None


def test_a_rotated_key_s_grace_ends_on_the_hub_clock_for_a_hub_that_remembers_it(hubs: Hubs) -> None:
    assert refusal(hubs.a, hubs.key) is None and hubs.remembered(hubs.key)
    rotated = hubs.b.post(
        f"/v1/keys/{key_id(hubs.b, hubs.key)}/rotate", headers=auth(hubs.key), json={"grace_seconds": 60}
    )
    assert rotated.status_code == 201, rotated.text
    hubs.clock.advance(seconds=59)
    assert refusal(hubs.a, hubs.key) is None
    hubs.clock.advance(seconds=1)
    assert refusal(hubs.a, hubs.key) == "this API key is not known or was revoked"


def test_a_customer_token_revoked_through_another_hub_is_refused_on_the_next_call(hubs: Hubs) -> None:
    token = hubs.token()
    assert refusal(hubs.a, token, "/v1/me") is None and hubs.remembered(token)
    assert hubs.b.delete("/v1/subjects/alice/sessions", headers=auth(hubs.key)).status_code == 204
    assert refusal(hubs.a, token, "/v1/me") == "this token was revoked"
    assert refusal(hubs.a, token, "/v1/me") == "this token was revoked"


def test_a_token_revoking_itself_through_another_hub_is_refused_by_the_first(hubs: Hubs) -> None:
    token = hubs.token()
    assert refusal(hubs.a, token, "/v1/me") is None and hubs.remembered(token)
    assert hubs.b.delete("/v1/me/token", headers=auth(token)).status_code == 204
    assert refusal(hubs.a, token, "/v1/me") == "this token was revoked"


def test_a_customer_erased_through_another_hub_ends_their_token_on_the_next_call(hubs: Hubs) -> None:
    token = hubs.token()
    assert refusal(hubs.a, token, "/v1/me") is None and hubs.remembered(token)
    assert hubs.b.delete("/v1/subjects/alice", headers=auth(hubs.key)).status_code == 200
    assert refusal(hubs.a, token, "/v1/me") == "the person this token spoke for was erased"


def test_a_verified_person_erased_through_another_hub_ends_their_token_on_the_next_call(hubs: Hubs) -> None:
    token = hubs.person()
    assert refusal(hubs.a, token, "/v1/me") is None and hubs.remembered(token)
    assert hubs.b.delete("/v1/me", headers=auth(token)).json()["scope"] == "everywhere"
    assert refusal(hubs.a, token, "/v1/me") == "the person this token spoke for was erased"


def test_a_remembered_token_expires_on_the_hub_clock(hubs: Hubs) -> None:
    token = hubs.token(ttl=60)
    assert refusal(hubs.a, token, "/v1/me") is None and hubs.remembered(token)
    hubs.clock.advance(seconds=59)
    assert refusal(hubs.a, token, "/v1/me") is None
    hubs.clock.advance(seconds=1)
    assert (
        refusal(hubs.a, token, "/v1/me")
        == "this token expired at 2026-11-02T08:11:00.000000Z: ask for a new one"
    )


def test_unknown_bearers_are_refused_and_never_remembered(hubs: Hubs) -> None:
    assert refusal(hubs.a, hubs.key) is None
    before = len(_checked(hubs.a.app))
    for _ in range(50):
        assert (
            refusal(hubs.a, "hk_" + secrets.token_urlsafe(32)) == "this API key is not known or was revoked"
        )
    assert refusal(hubs.a, "hc_nonsense.token") is not None
    assert len(_checked(hubs.a.app)) == before


def test_a_remembered_key_with_a_bad_body_after_revocation_is_refused_from_the_next_call_on(
    hubs: Hubs,
) -> None:
    """A remembered credential reaches validation before its unit of work checks it: a revoked one may get
    one 422, which forgets it, and from then on the 401 comes before the body is read."""
    assert refusal(hubs.a, hubs.key) is None
    spare = hubs.b.post("/v1/keys", headers=auth(hubs.key)).json()["key"]
    assert hubs.b.delete(f"/v1/keys/{key_id(hubs.b, hubs.key)}", headers=auth(spare)).status_code == 204
    bad = {"subject": 1}
    first = hubs.a.post("/v1/decisions", headers=auth(hubs.key), json=bad)
    assert first.status_code in (401, 422) and not hubs.remembered(hubs.key)
    assert hubs.a.post("/v1/decisions", headers=auth(hubs.key), json=bad).status_code == 401


def test_the_digest_of_an_org_key_is_its_stored_key_hash(session: Session) -> None:
    org, key = make_org(session)
    stored = session.execute(select(ApiKey.key_hash).where(ApiKey.org_id == org.id)).scalar_one()
    assert digest(key) == stored and key not in digest(key)


def test_checked_keeps_the_most_recently_used_and_drops_the_expired() -> None:
    checked = Checked(2)
    one, two, three = (Authority(Tier.org, org_id=uuid.uuid4()) for _ in range(3))
    checked.put("1", one)
    checked.put("2", two)
    assert checked.get("1", T0) is one  # now the most recent: "2" goes first
    checked.put("3", three)
    assert checked.get("2", T0) is None and checked.get("1", T0) is one and len(checked) == 2
    expiring = Authority(Tier.customer, subject_id=uuid.uuid4(), expires_at=T0)
    checked.put("4", expiring)
    assert checked.get("4", T0) is None and len(checked) == 1
