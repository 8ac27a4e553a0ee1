"""Fixtures for tests that drive the Preference Centre in Debian's Chromium (`make browser` installs it).

- `browser`: one headless Chromium for the session.
- `page`: a fresh context, 1280x800, en-GB.
- `new_context(width=360, locale="fr-FR", accept_language=...)`: more fresh contexts, closed afterwards.
- `centre_hub`: a real server on a fresh database, its mail in `centre_hub.mailbox`. It is shared by
  the tests of a module (starting a server takes a second or two), so each test signs in with an
  address of its own: `centre_hub.address()`.

An uncaught JavaScript error on any page opened through these fixtures fails the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, WebError, sync_playwright

from tests.browser.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    NO_CHROMIUM,
    CentreHub,
    Mailbox,
    open_context,
)
from tests.conftest import Database
from tests.live import serve


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(NO_CHROMIUM, pytrace=False)
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


NewContext = Callable[..., BrowserContext]


@pytest.fixture
def new_context(browser: Browser) -> Iterator[NewContext]:
    """Open fresh contexts with `open_context`'s arguments; all are closed after the test."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def record(error: WebError) -> None:
        errors.append(f"{error.page.url if error.page else '?'}: {error.error}")

    def new(
        *, width: int = DESKTOP, locale: str = "en-GB", accept_language: str | None = None
    ) -> BrowserContext:
        context = open_context(browser, width=width, locale=locale, accept_language=accept_language)
        context.on("weberror", record)
        contexts.append(context)
        return context

    yield new
    for context in contexts:
        context.close()
    if errors:
        pytest.fail("uncaught JavaScript errors:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
def page(new_context: NewContext) -> Page:
    """A page in a fresh context: 1280x800, en-GB."""
    return new_context().new_page()


@pytest.fixture(scope="module")
def centre_hub(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CentreHub]:
    """A real server on a fresh, migrated database, mailing to a directory; shared by the module."""
    directory = tmp_path_factory.mktemp(f"centre-{backend}")
    database = Database(backend, directory)
    mail = directory / "mail"
    mail.mkdir()
    try:
        with serve(
            database.url, directory / "data", extra_env={"HARKEN_MAILER": f"directory:{mail}"}
        ) as live:
            yield CentreHub(live, Mailbox(mail))
    finally:
        database.drop()
