"""After an org erases its customer, every call about the ref is refused with 410 Gone — writes write
nothing, reads show nothing they had — except a decision (`subject.erased`: don't send) and erasing
again (the same answer). The problem says so in plain words, without an internal id."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.stories.conftest import Business, business  # noqa: F401

GRANT = {"status": "granted", "channels": ["email"], "method": "preference-centre"}

# Every call an org makes about one of its refs, with a body it would accept for a live customer.
CALLS: list[tuple[str, str, object]] = [
    ("PUT", "/v1/subjects/gone-1", None),
    ("PUT", "/v1/subjects/gone-1", {"email": "gone@example.com"}),
    ("PUT", "/v1/subjects/gone-1/consents/marketing", GRANT),  # the very decision recorded before
    ("PUT", "/v1/subjects/gone-1/consents/marketing", {"status": "withdrawn"}),
    ("PUT", "/v1/subjects/gone-1/context", {"provenance": "observed", "situation": "home"}),
    ("PATCH", "/v1/subjects/gone-1/preferences", {"provenance": "inferred", "interests": {"travel": 0.5}}),
    ("POST", "/v1/subjects/gone-1/events", {"type": "purchase", "item": "guide", "topics": ["travel"]}),
    ("POST", "/v1/subjects/gone-1/sessions", None),
    ("DELETE", "/v1/subjects/gone-1/sessions", None),
    ("GET", "/v1/subjects/gone-1/next-question", None),
    ("POST", "/v1/subjects/gone-1/answers", {"question_id": "genre", "declined": True}),
    ("GET", "/v1/subjects/gone-1", None),
    ("GET", "/v1/subjects/gone-1/consents", None),
    ("GET", "/v1/subjects/gone-1/consents/history", None),
    ("GET", "/v1/subjects/gone-1/export", None),
]


def test_every_call_about_an_erased_ref_is_410_in_plain_words(
    business: Callable[[str], Business],  # noqa: F811
    client: TestClient,
) -> None:
    shop = business("Chapter & Verse")
    shop.call(
        "PUT",
        "/v1/questions/genre",
        {"text": {"en": "Crime or travel?"}, "fills": "interest:crime", "intrusiveness": 1,
         "options": [{"id": "crime", "label": {"en": "Crime"}, "value": {"affinity": 0.8}}]},
    )  # fmt: skip
    shop.customer("gone-1", grant={"marketing": ["email"]})
    for method, path, body in CALLS:  # each is accepted while the customer is there
        shop.call(method, path, body)
    first = shop.call("PUT", "/v1/subjects/gone-1/consents/marketing", GRANT)
    assert shop.call("DELETE", "/v1/subjects/gone-1")["scope"] == "this-business"

    for method, path, body in CALLS:
        refused = client.request(method, path, headers=shop.headers, json=body)
        assert refused.status_code == 410, (method, path, refused.text)
        problem = refused.json()
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert problem["type"] == "/problems/subject-erased", problem
        assert problem["detail"].startswith("this customer was erased"), problem
        assert first["id"] not in refused.text and "key" not in problem["detail"], problem
    # What stays: a decision says don't send, erasing again answers as before.
    shop.offer("guide", topics=["travel"])
    decision = shop.decide("gone-1", ["guide"], ["email"])
    assert decision["allowed"] is False
    assert [r["code"] for r in decision["reasons"]] == ["subject.erased"]
    for kind in ("accepted", "not-relevant", "opted-out"):  # feedback on it records nothing about them
        fed_back = client.post(
            f"/v1/decisions/{decision['decision_id']}/feedback", headers=shop.headers, json={"kind": kind}
        )
        assert fed_back.status_code == 410 and "this customer was erased" in fed_back.text, fed_back.text
    assert shop.call("DELETE", "/v1/subjects/gone-1") == {
        "scope": "this-business",
        "businesses": ["Chapter & Verse"],
    }


def test_a_retried_call_with_its_idempotency_key_is_not_answered_from_before_the_erasure(
    business: Callable[[str], Business],  # noqa: F811
    client: TestClient,
) -> None:
    shop = business("Chapter & Verse")
    shop.customer("gone-2")
    headers = {**shop.headers, "Idempotency-Key": "consent-1"}
    path = "/v1/subjects/gone-2/consents/marketing"
    first = client.put(path, headers=headers, json=GRANT)
    assert first.status_code in (200, 201), first.text
    again = client.put(path, headers=headers, json=GRANT)
    assert again.headers.get("idempotent-replayed") == "true"
    other = {**shop.headers, "Idempotency-Key": "subject-1"}
    assert client.put("/v1/subjects/other_1", headers=other).status_code == 201
    shop.call("DELETE", "/v1/subjects/gone-2")

    retried = client.put(path, headers=headers, json=GRANT)
    assert retried.status_code == 410, retried.text
    assert first.json()["id"] not in retried.text
    # Another customer's kept answers are untouched (a `_` in a ref is not a wildcard).
    assert client.put("/v1/subjects/other_1", headers=other).headers.get("idempotent-replayed") == "true"
