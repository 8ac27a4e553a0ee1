"""A centre page may be in the language the browser's Accept-Language asks for, so every page says
`Vary: Accept-Language` (RFC 9110 §12.5.5) and no cache gives one visitor's language to another; the
pages are `no-store` besides, so a signed-in page is never kept for the next cookie. The API's problems
are in English whatever the browser asks, and so vary on nothing."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from harken.centre import i18n
from tests.centre_client import Response, Visitor
from tests.stories.conftest import Business, business  # noqa: F401

GERMAN = i18n.all_messages("de")
ENGLISH = i18n.all_messages("en")
ASKS_GERMAN = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}


def varies_on(response: Response) -> set[str]:
    return {name.strip().lower() for name in response.headers.get("vary", "").split(",") if name.strip()}


def kept_by_no_cache(response: Response) -> bool:
    return "no-store" in response.headers.get("cache-control", "")


def test_the_sign_in_page_in_either_language_says_it_varies_on_accept_language(
    visitor: Callable[..., Visitor],
) -> None:
    german = visitor(**ASKS_GERMAN).get("/centre/sign-in")
    english = visitor().get("/centre/sign-in")
    assert '<html lang="de">' in german.text and GERMAN["sign_in.intro"] in german.text
    assert '<html lang="en">' in english.text and ENGLISH["sign_in.intro"] in english.text
    for page in (german, english):
        assert "accept-language" in varies_on(page), page.headers
        assert kept_by_no_cache(page)


def test_signed_in_pages_errors_and_refused_forms_vary_on_accept_language(
    business: Callable[[str], Business],  # noqa: F811
    visitor: Callable[..., Visitor],
) -> None:
    business("Chapter & Verse").customer("priya", email="priya@example.com")
    me = visitor(**ASKS_GERMAN)
    me.sign_in("priya@example.com")
    pages = [me.get(path) for path in ("/centre", "/centre/preferences", "/centre/data")]
    pages.append(me.get("/centre/nowhere", status=404))
    pages.append(me.submit("/centre/preferences", "/centre/preferences/quiet-hours", {}, status=422))
    for page in pages:
        assert '<html lang="de">' in page.text, page.request.url
        assert "accept-language" in varies_on(page), (page.request.url, page.headers)
        assert kept_by_no_cache(page), page.request.url


def test_the_apis_problems_are_the_same_in_every_language_and_vary_on_nothing(client: TestClient) -> None:
    english = client.get("/v1/subjects/priya", headers={"Authorization": "Bearer hk_nothing"})
    german = client.get("/v1/subjects/priya", headers={"Authorization": "Bearer hk_nothing", **ASKS_GERMAN})
    assert english.status_code == german.status_code == 401
    assert english.headers["content-type"] == "application/problem+json"
    assert english.content == german.content
    assert "accept-language" not in varies_on(german)
