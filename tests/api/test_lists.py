"""The org's lists — offers, customers, notices — a page at a time: stable key order, an opaque cursor
that resumes after the last item (in the body and a Link header), a 422 naming `cursor` or `limit` for
bad ones, and erased customers listed as erased and nothing more."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import T0, FixedClock, grant, org_client


@pytest.fixture
def org(client: TestClient, session: Session) -> dict[str, str]:
    return org_client(client, session)


def walk(client: TestClient, org: dict[str, str], path: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a list, following the Link header and checking it says what `next_cursor` says."""
    pages, url = [], path
    query: dict[str, Any] | None = params
    while True:
        response = client.get(url, headers=org, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page["items"])
        link = response.headers.get("link")
        if page["next_cursor"] is None:
            assert link is None
            return pages
        assert link is not None and link.endswith('>; rel="next"') and page["next_cursor"] in link
        url, query = link[1 : link.index(">")], None


def test_offers_are_paged_in_id_order(client: TestClient, org: dict[str, str]) -> None:
    for offer_id in ("tea", "atlas", "map", "coffee", "lounge"):
        client.put(f"/v1/offers/{offer_id}", headers=org, json={"title": offer_id.title()}).raise_for_status()
    pages = walk(client, org, "/v1/offers", limit=2)
    assert [[o["id"] for o in page] for page in pages] == [["atlas", "coffee"], ["lounge", "map"], ["tea"]]
    assert pages[0][0]["title"] == "Atlas" and "updated_at" in pages[0][0]
    assert walk(client, org, "/v1/offers") == [[o for page in pages for o in page]]


def test_an_empty_list_is_one_empty_page(client: TestClient, org: dict[str, str]) -> None:
    for path in ("/v1/offers", "/v1/subjects", "/v1/notices"):
        assert walk(client, org, path) == [[]]


def test_notices_list_every_version_and_filter_by_purpose(client: TestClient, org: dict[str, str]) -> None:
    for purpose, text in (("marketing", "v1"), ("analytics", "a1"), ("marketing", "v2"), ("marketing", "v3")):
        client.put(f"/v1/notices/{purpose}", headers=org, json={"text": text}).raise_for_status()
    pages = walk(client, org, "/v1/notices", limit=2)
    seen = [(n["purpose"], n["version"], n["text"]) for page in pages for n in page]
    assert seen == [
        ("analytics", 1, "a1"),
        ("marketing", 1, "v1"),
        ("marketing", 2, "v2"),
        ("marketing", 3, "v3"),
    ]
    assert [len(page) for page in pages] == [2, 2]
    only = walk(client, org, "/v1/notices", purpose="marketing", limit=1)
    assert [n["version"] for page in only for n in page] == [1, 2, 3]


def test_customers_are_listed_with_their_last_change(
    client: TestClient, org: dict[str, str], clock: FixedClock
) -> None:
    for ref in ("cust-3", "cust-1", "cust-2"):
        client.put(f"/v1/subjects/{ref}", headers=org).raise_for_status()
    clock.advance(hours=1)
    grant(client, org, "cust-2")
    clock.advance(hours=1)
    body = {"type": "purchase", "item": "atlas", "topics": ["maps"]}
    client.post("/v1/subjects/cust-3/events", headers=org, json=body).raise_for_status()
    pages = walk(client, org, "/v1/subjects", limit=2)
    listed = {s["ref"]: s for page in pages for s in page}
    assert [s["ref"] for page in pages for s in page] == ["cust-1", "cust-2", "cust-3"]
    assert {ref: datetime.fromisoformat(s["created_at"]) for ref, s in listed.items()} == dict.fromkeys(
        listed, T0
    )
    changed = {ref: datetime.fromisoformat(s["last_change_at"]) - T0 for ref, s in listed.items()}
    assert {ref: delta.total_seconds() / 3600 for ref, delta in changed.items()} == {
        "cust-1": 0,
        "cust-2": 1,
        "cust-3": 2,
    }
    assert not any(s["erased"] for s in listed.values())


def test_an_erased_customer_is_listed_as_erased_and_nothing_more(
    client: TestClient, org: dict[str, str], clock: FixedClock
) -> None:
    grant(client, org, "gone")
    clock.advance(days=1)
    client.delete("/v1/subjects/gone", headers=org).raise_for_status()
    clock.advance(days=1)
    (item,) = walk(client, org, "/v1/subjects")[0]
    assert item == {
        "ref": "gone",
        "created_at": item["created_at"],
        "last_change_at": item["last_change_at"],
        "erased": True,
    }
    assert datetime.fromisoformat(item["last_change_at"]) == T0.replace(day=T0.day + 1)


def _cursor(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/offers", {"cursor": "not a cursor!"}, "cursor"),
        ("/v1/offers", {"cursor": _cursor('["subjects","cust-1"]')}, "cursor"),  # another list's
        ("/v1/notices", {"cursor": _cursor('["notices","marketing","2"]')}, "cursor"),  # altered
        ("/v1/subjects", {"cursor": _cursor('{"ref": "x"}')}, "cursor"),
        ("/v1/subjects", {"cursor": "x" * 513}, "cursor"),
        (
            "/v1/subjects",
            {"cursor": _cursor('["subjects","a\\u0000b"]')},
            "cursor",
        ),  # NUL: no database takes it
        ("/v1/notices", {"cursor": _cursor('["notices","marketing",99999999999999999999]')}, "cursor"),
        ("/v1/subjects", {"limit": 0}, "limit"),
        ("/v1/offers", {"limit": 501}, "limit"),
        ("/v1/notices", {"limit": "ten"}, "limit"),
        ("/v1/notices", {"purpose": "newsletters"}, "purpose"),
    ],
)
def test_a_bad_cursor_or_limit_is_a_problem_naming_the_field(
    client: TestClient, org: dict[str, str], path: str, params: dict[str, Any], field: str
) -> None:
    response = client.get(path, headers=org, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"].rsplit(".", 1)[-1] for e in response.json()["errors"]] == [field]
