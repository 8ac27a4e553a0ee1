"""The Preferences page's "Which channels suit which situation": Harken's defaults shown until the
customer says otherwise, only the rows they changed written, a reset back to the defaults — in plain
form posts, as a browser without script sends them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from harken.decisions.gates import FITTING_CHANNELS
from tests.centre_client import Visitor
from tests.stories.conftest import Business

EMAIL = "noor@example.com"
PAGE, ACTION = "/centre/preferences", "/centre/preferences/situations"
DEFAULT, RESET = "(Harken\u2019s default)", "Reset to Harken\u2019s defaults"


def _ticked(page: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {situation: set() for situation in FITTING_CHANNELS}
    for situation, channel in re.findall(r'name="suits-([a-z]+)-([a-z-]+)"[^>]*\schecked>', page):
        found[situation].add(channel)
    return found


def _form(ticked: dict[str, set[str]]) -> dict[str, Any]:
    return {f"suits-{s}-{c}": "on" for s, channels in ticked.items() for c in channels}


def _situations(me: Visitor) -> dict[str, Any]:
    data = me.get("/centre/data/export").json()["data"]
    return {d["field"]: d["value"] for d in data if d["field"].startswith("situation_channels:")}


def test_defaults_shown_a_changed_row_saved_and_reset(
    business: Callable[[str], Business], visitor: Callable[..., Visitor]
) -> None:
    shop = business("Corner Shop")
    shop.customer("noor", email=EMAIL, grant={"marketing": ["email", "push"]})
    me = visitor()
    me.sign_in(EMAIL)
    page = me.get(PAGE).text
    assert "Which channels suit which situation" in page
    assert _ticked(page) == {s: set(c) for s, c in FITTING_CHANNELS.items()}
    assert page.count(DEFAULT) == len(FITTING_CHANNELS)
    assert RESET not in page

    # Push and email while commuting, the other rows as shown: only commuting is the customer's word.
    wanted = {**_ticked(page), "commuting": {"push", "email"}}
    me.submit(PAGE, ACTION, _form(wanted))
    assert _situations(me) == {"situation_channels:commuting": {"channels": ["email", "push"]}}
    page = me.get(PAGE).text
    assert _ticked(page) == wanted
    assert page.count(DEFAULT) == len(FITTING_CHANNELS) - 1
    assert 'aria-label="Commuting: App notification"' in page
    # Told to the centre and not shared: the business does not see it.
    assert not [f for f in shop.sees("noor") if f.startswith("situation_channels:")]

    # Nothing suits at work: an empty row is a word too.
    me.submit(PAGE, ACTION, _form({**wanted, "work": set()}))
    assert _situations(me)["situation_channels:work"] == {"channels": []}

    me.submit(PAGE, ACTION, {"reset": "1"})
    assert _situations(me) == {}
    page = me.get(PAGE).text
    assert _ticked(page) == {s: set(c) for s, c in FITTING_CHANNELS.items()}
    assert RESET not in page


def test_through_a_business_app_the_customer_tells_that_business(
    business: Callable[[str], Business], visitor: Callable[..., Visitor]
) -> None:
    shop = business("Corner Shop")
    app = shop.customer("noor", email=EMAIL, grant={"marketing": ["email", "push"]})
    token = shop.call("POST", "/v1/subjects/noor/sessions")["token"]
    me = visitor()
    me.open_from_app(token)
    page = me.get(PAGE).text
    me.submit(PAGE, ACTION, _form({**_ticked(page), "out": {"email"}}))
    assert shop.sees("noor")["situation_channels:out"] == {"channels": ["email"]}
    mine = {d["field"]: d["provenance"] for d in app.call("GET", "/v1/me")["data"]}
    assert mine["situation_channels:out"] == "declared"


def test_the_section_speaks_german(
    business: Callable[[str], Business], visitor: Callable[..., Visitor]
) -> None:
    business("Corner Shop").customer("noor", email=EMAIL, grant={"marketing": ["email"]})
    me = visitor()
    me.sign_in(EMAIL)
    page = me.get(f"{PAGE}?lang=de").text
    assert "Welche Kanäle in welcher Situation passen" in page
    assert 'aria-label="Auf dem Arbeitsweg: E-Mail"' in page
