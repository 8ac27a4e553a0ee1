"""The browser harness itself: Chromium starts, reaches a real server, and axe tells good from bad."""

from __future__ import annotations

import json
import os
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.axe import assert_accessible
from tests.browser.conftest import NewContext
from tests.browser.harness import PHONE, CentreHub, Mailbox

# A strict policy like the centre's: axe must still get in (it is injected over DevTools, not a tag).
GOOD_PAGE = """<!doctype html>
<html lang="en-GB">
<head>
  <meta charset="utf-8">
  <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Your preferences</title>
  <style>body { font: 16px/1.5 sans-serif; color: #111; background: #fff; }</style>
</head>
<body>
  <header><p>Harken</p></header>
  <main>
    <h1>Your preferences</h1>
    <form action="#" method="post">
      <label for="email">Email address</label>
      <input id="email" name="email" type="email" autocomplete="email">
      <fieldset>
        <legend>Offers by email</legend>
        <input id="offers-yes" name="offers" type="radio" value="yes">
        <label for="offers-yes">Yes</label>
        <input id="offers-no" name="offers" type="radio" value="no" checked>
        <label for="offers-no">No</label>
      </fieldset>
      <button type="submit">Send me a sign-in link</button>
    </form>
  </main>
</body>
</html>"""

BAD_PAGE = """<!doctype html>
<html lang="en-GB">
<head><title>Broken</title></head>
<body>
  <main>
    <h1>Broken</h1>
    <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
    <form><input type="text" name="nickname"></form>
  </main>
</body>
</html>"""


@pytest.mark.slow
def test_chromium_reaches_a_real_server(centre_hub: CentreHub, page: Page) -> None:
    response = page.goto(f"{centre_hub.url}/healthz")
    assert response is not None and response.ok
    assert json.loads(page.inner_text("body")) == {"status": "ok"}
    assert centre_hub.env["HARKEN_MAILER"] == f"directory:{centre_hub.mailbox.directory}"


@pytest.mark.slow
def test_an_accessible_page_passes(page: Page) -> None:
    page.set_content(GOOD_PAGE)
    assert_accessible(page, "minimal form")


@pytest.mark.slow
def test_serious_violations_fail_with_a_readable_list(page: Page) -> None:
    page.set_content(BAD_PAGE)
    with pytest.raises(AssertionError) as failure:
        assert_accessible(page, "broken form")
    message = str(failure.value)
    assert message.startswith("broken form: ")
    assert "- image-alt [critical]" in message
    assert "- label [critical]" in message
    assert "on img" in message


@pytest.mark.slow
def test_contexts_set_width_locale_and_accept_language(
    centre_hub: CentreHub, new_context: NewContext
) -> None:
    phone = new_context(width=PHONE, locale="fr-FR").new_page()
    response = phone.goto(f"{centre_hub.url}/healthz")
    assert response is not None
    assert phone.evaluate("() => [window.innerWidth, navigator.language]") == [PHONE, "fr-FR"]
    assert response.request.all_headers()["accept-language"].startswith("fr-FR")

    other = new_context(locale="en-GB", accept_language="de-DE,de;q=0.9").new_page()
    response = other.goto(f"{centre_hub.url}/healthz")
    assert response is not None
    assert response.request.all_headers()["accept-language"] == "de-DE,de;q=0.9"
    assert other.evaluate("() => [window.innerWidth, navigator.language]") == [1280, "en-GB"]


def write_mail(directory: Path, to: str, body: str, *, age: float = 0.0) -> Path:
    message = EmailMessage()
    message["From"] = "Harken <no-reply@harken.localhost>"
    message["To"] = to
    message["Subject"] = "Your sign-in link"
    message.set_content(body)
    path = directory / f"{len(list(directory.iterdir()))}.eml"
    path.write_bytes(message.as_bytes())
    if age:
        stamp = time.time() - age
        os.utime(path, (stamp, stamp))
    return path


def test_the_mailbox_hands_out_each_newest_link_once(tmp_path: Path) -> None:
    mailbox = Mailbox(tmp_path)
    write_mail(tmp_path, "Ann <ann@example.test>", "Sign in:\n\nhttp://hub/centre/in/old\n", age=10)
    write_mail(tmp_path, "ann@example.test", "Sign in:\n\nhttp://hub/centre/in/new.\n\nhttp://hub/centre/x\n")
    write_mail(tmp_path, "bob@example.test", "Sign in:\n\nhttp://hub/centre/in/bob\n")
    (tmp_path / ".half-written.eml").write_bytes(b"To: ann@example.test\n\nhttp://hub/centre/in/half")

    assert mailbox.latest_link("ANN@example.test") == "http://hub/centre/in/new"
    assert mailbox.latest_link("bob@example.test") == "http://hub/centre/in/bob"
    with pytest.raises(AssertionError, match=r"no new mail .* to ann@example.test within 0.2 s"):
        mailbox.latest_link("ann@example.test", timeout=0.2)

    write_mail(tmp_path, "ann@example.test", "Sign in again:\nhttp://hub/centre/in/newest\n")
    assert mailbox.latest_link("ann@example.test") == "http://hub/centre/in/newest"
    assert len(mailbox.messages("ann@example.test")) == 3
