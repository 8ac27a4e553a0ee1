"""An org's API keys through its own API (authority: the org's API key, for that org's keys only):
listed without the key, issued and rotated with the key shown once, revoked for the very next call,
another org's key the same 404 as an unknown one, and every change in the org's ledger chain."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.clock import system_clock
from harken.ledger.models import LedgerEntry
from harken.orgs.models import Org
from tests.factories import FixedClock, auth, make_org

KEYS = "/v1/keys"


def works(client: TestClient, key: str) -> bool:
    """Whether an org call with `key` is served (401 otherwise, as a problem saying why)."""
    response = client.put("/v1/subjects/c1", headers=auth(key))
    if response.status_code == 401:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == "this API key is not known or was revoked"
        return False
    assert response.status_code in (200, 201), response.text
    return True


def listed(client: TestClient, key: str) -> list[dict[str, Any]]:
    response = client.get(KEYS, headers=auth(key))
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


def key_id(client: TestClient, key: str) -> str:
    """The id of `key`, as its own org's listing shows it."""
    [found] = [k["id"] for k in listed(client, key) if k["prefix"] == key[:10]]
    return str(found)


def statuses(client: TestClient, key: str) -> dict[str, str]:
    return {k["id"]: k["status"] for k in listed(client, key)}


def issue(client: TestClient, key: str) -> dict[str, Any]:
    response = client.post(KEYS, headers=auth(key))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_get_keys_by_org_key_lists_its_keys_by_prefix_never_the_key(
    client: TestClient, session: Session
) -> None:
    _, key = make_org(session)
    response = client.get(KEYS, headers=auth(key))
    assert response.status_code == 200
    [only] = response.json()
    assert only["prefix"] == key[:10] and only["status"] == "live" and only["revoked_at"] is None
    assert "key" not in only and key[10:] not in response.text


def test_post_keys_by_org_key_issues_a_key_shown_once_that_works(
    client: TestClient, session: Session
) -> None:
    _, key = make_org(session)
    created = issue(client, key)
    assert created["key"].startswith("hk_") and created["prefix"] == created["key"][:10]
    assert created["status"] == "live" and created["replaces"] is None
    assert works(client, created["key"]) and works(client, key)
    listing = client.get(KEYS, headers=auth(created["key"]))
    assert created["id"] in {k["id"] for k in listing.json()} and created["key"] not in listing.text


def test_delete_key_by_org_key_refuses_the_revoked_key_on_the_very_next_call(
    client: TestClient, session: Session
) -> None:
    _, first = make_org(session)
    second = issue(client, first)
    first_id = key_id(client, first)
    response = client.delete(f"{KEYS}/{first_id}", headers=auth(second["key"]))
    assert response.status_code == 204 and response.content == b""
    assert not works(client, first)
    assert works(client, second["key"])
    assert statuses(client, second["key"]) == {first_id: "revoked", second["id"]: "live"}
    again = client.delete(f"{KEYS}/{first_id}", headers=auth(second["key"]))
    assert again.status_code == 204  # a revoked key stays revoked; nothing changes


def test_delete_key_by_org_key_may_revoke_the_key_it_calls_with(client: TestClient, session: Session) -> None:
    _, first = make_org(session)
    issue(client, first)
    first_id = key_id(client, first)
    assert client.delete(f"{KEYS}/{first_id}", headers=auth(first)).status_code == 204
    assert not works(client, first)


def test_delete_key_by_org_key_keeps_the_last_live_key_unless_allow_last(
    client: TestClient, session: Session
) -> None:
    _, key = make_org(session)
    only = key_id(client, key)
    refused = client.delete(f"{KEYS}/{only}", headers=auth(key))
    assert refused.status_code == 409 and refused.json()["type"] == "/problems/last-live-key"
    assert "allow_last" in refused.json()["detail"]
    assert works(client, key)
    assert client.delete(f"{KEYS}/{only}?allow_last=true", headers=auth(key)).status_code == 204
    assert not works(client, key)


def test_another_orgs_key_is_the_same_404_as_an_unknown_one(client: TestClient, session: Session) -> None:
    """Org B cannot list, revoke or rotate org A's keys, nor learn that A's key id exists."""
    _, a = make_org(session, "Skyway Airlines")
    _, b = make_org(session, "Bean There Coffee")
    a_key = listed(client, a)[0]
    assert [k["prefix"] for k in listed(client, b)] == [b[:10]]
    unknown = str(uuid.uuid4())
    for method, path in (("DELETE", "{}?allow_last=true"), ("POST", "{}/rotate")):
        theirs = client.request(method, f"{KEYS}/{path.format(a_key['id'])}", headers=auth(b))
        nothing = client.request(method, f"{KEYS}/{path.format(unknown)}", headers=auth(b))
        assert theirs.status_code == nothing.status_code == 404
        assert theirs.json() == {
            **nothing.json(),
            "detail": nothing.json()["detail"].replace(unknown, a_key["id"]),
        }
    assert works(client, a) and listed(client, a) == [a_key]


def test_rotate_by_org_key_without_grace_ends_the_old_key_at_once(
    client: TestClient, session: Session
) -> None:
    _, old = make_org(session)
    old_id = key_id(client, old)
    response = client.post(f"{KEYS}/{old_id}/rotate", headers=auth(old))
    assert response.status_code == 201
    new = response.json()
    assert new["replaces"] == old_id and new["key"].startswith("hk_")
    assert not works(client, old)
    assert works(client, new["key"])
    assert statuses(client, new["key"]) == {old_id: "revoked", new["id"]: "live"}


@pytest.fixture
def real_time(clock: FixedClock) -> FixedClock:
    """The hub's clock at the system's time: the org key's check reads the system clock until the
    call's authentication is handed the hub's."""
    clock.now = system_clock()
    return clock


def test_rotate_by_org_key_with_grace_keeps_the_old_key_until_then(
    client: TestClient, session: Session, real_time: FixedClock
) -> None:
    _, old = make_org(session)
    old_id = key_id(client, old)
    new = client.post(f"{KEYS}/{old_id}/rotate", headers=auth(old), json={"grace_seconds": 3600}).json()
    assert works(client, old) and works(client, new["key"])
    assert statuses(client, new["key"]) == {old_id: "expiring", new["id"]: "live"}
    twice = client.post(f"{KEYS}/{old_id}/rotate", headers=auth(new["key"]))
    assert twice.status_code == 409 and twice.json()["type"] == "/problems/key-revoked"
    # revoking a key in its grace ends the grace now
    assert client.delete(f"{KEYS}/{old_id}", headers=auth(new["key"])).status_code == 204
    assert not works(client, old)


def test_a_rotated_key_is_refused_once_its_grace_ends(
    client: TestClient, session: Session, real_time: FixedClock
) -> None:
    _, old = make_org(session)
    old_id = key_id(client, old)
    new = client.post(f"{KEYS}/{old_id}/rotate", headers=auth(old), json={"grace_seconds": 1}).json()
    assert works(client, old)
    real_time.advance(seconds=1.5)
    time.sleep(1.5)  # whichever clock the key check reads, the grace is over
    assert not works(client, old)
    assert works(client, new["key"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"grace_seconds": -1}, "grace_seconds"),
        ({"grace_seconds": 7 * 86400 + 1}, "grace_seconds"),
        ({"grace_seconds": "a day"}, "grace_seconds"),
        ({"grace": 60}, "grace"),
    ],
)
def test_bad_rotation_is_a_problem_naming_the_field_and_changes_nothing(
    client: TestClient, session: Session, body: dict[str, Any], field: str
) -> None:
    _, key = make_org(session)
    before = listed(client, key)
    response = client.post(f"{KEYS}/{key_id(client, key)}/rotate", headers=auth(key), json=body)
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/validation" and any(
        e["field"].endswith(field) for e in problem["errors"]
    )
    assert listed(client, key) == before and works(client, key)


def test_a_key_id_that_is_not_a_uuid_is_a_problem(client: TestClient, session: Session) -> None:
    _, key = make_org(session)
    for method, path in (("DELETE", "hk_abc"), ("POST", "1/rotate")):
        response = client.request(method, f"{KEYS}/{path}", headers=auth(key))
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "path.key_id"


def test_every_key_call_needs_an_org_key(client: TestClient, session: Session) -> None:
    _, key = make_org(session)
    own = key_id(client, key)
    for method, path in (("GET", ""), ("POST", ""), ("DELETE", f"/{own}"), ("POST", f"/{own}/rotate")):
        for headers in ({}, auth("hk_not-a-key")):
            response = client.request(method, KEYS + path, headers=headers)
            assert response.status_code == 401 and response.json()["type"] == "/problems/unauthenticated"
    assert works(client, key)


def test_every_key_change_is_in_the_orgs_chain_never_the_key_or_its_hash(
    client: TestClient, session: Session
) -> None:
    org, first = make_org(session)
    second = issue(client, first)
    first_id = key_id(client, first)
    third = client.post(f"{KEYS}/{first_id}/rotate", headers=auth(second["key"]), json={"grace_seconds": 60})
    client.delete(f"{KEYS}/{second['id']}", headers=auth(third.json()["key"])).raise_for_status()
    entries = session.execute(
        select(LedgerEntry.type, LedgerEntry.body)
        .where(LedgerEntry.chain == session.get_one(Org, org.id).chain)
        .order_by(LedgerEntry.seq)
    ).all()
    assert [e.type for e in entries] == ["key.issued", "key.issued", "key.revoked", "key.revoked"]
    ledger = " ".join(e.body for e in entries)
    for clear in (first, second["key"], third.json()["key"]):
        assert clear[10:] not in ledger
        assert hashlib.sha256(clear.encode()).hexdigest() not in ledger
    assert second["id"] in entries[3].body and '"by":"org"' in ledger.replace(" ", "")
