"""A refused form in the centre: each problem next to its field, in the customer's language, what they
typed kept, 422, nothing saved; a time zone saved on its own; the Businesses page's "Right now" with
its value; and the hub's icon."""

from __future__ import annotations

import re
from collections.abc import Callable

from harken.centre import i18n
from tests.centre_client import Visitor
from tests.stories.conftest import Business

EMAIL = "priya@example.com"
GERMAN = i18n.all_messages("de")
FRENCH = i18n.all_messages("fr")


def _me(business: Callable[[str], Business], visitor: Callable[..., Visitor], **headers: str) -> Visitor:
    shop = business("Chapter & Verse")
    shop.call("PUT", "/v1/notices/marketing", {"text": "May we email you about new books?", "locale": "en"})
    shop.customer("priya", email=EMAIL, grant={"marketing": ["email"]})
    me = visitor(**headers)
    me.sign_in(EMAIL)
    return me


def _error(html: str, field: str) -> str | None:
    found = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', html)
    return found[1] if found else None


def test_a_time_zone_is_saved_without_quiet_hours(
    business: Callable[[str], Business], visitor: Callable[..., Visitor]
) -> None:
    me = _me(business, visitor)
    me.submit("/centre/preferences", "/centre/preferences/quiet-hours", {"time_zone": "Europe/Paris"})
    data = me.get("/centre/data/export").json()["data"]
    assert [d["value"] for d in data if d["field"] == "time_zone"] == [{"value": "Europe/Paris"}]
    assert not [d for d in data if d["field"] == "quiet_hours"]

    me.submit("/centre/preferences", "/centre/preferences/quiet-hours", {"start": "22:00", "end": "07:00"})
    assert any(d["field"] == "quiet_hours" for d in me.get("/centre/data/export").json()["data"])
    # Both times emptied: no quiet hours any more; the zone stays.
    me.submit("/centre/preferences", "/centre/preferences/quiet-hours", {"time_zone": "Europe/Paris"})
    data = me.get("/centre/data/export").json()["data"]
    assert not [d for d in data if d["field"] == "quiet_hours"]
    assert [d["value"] for d in data if d["field"] == "time_zone"] == [{"value": "Europe/Paris"}]

    refused = me.submit("/centre/preferences", "/centre/preferences/quiet-hours", {}, status=422)
    assert _error(refused.text, "start") == "Enter your quiet hours, your time zone, or both."


def test_a_refusal_speaks_german_next_to_the_field_and_keeps_what_was_typed(
    business: Callable[[str], Business], visitor: Callable[..., Visitor]
) -> None:
    me = _me(business, visitor, **{"Accept-Language": "de-DE,de;q=0.9"})
    before = me.get("/centre/data/export").json()["data"]
    typed = {"start": "late", "end": "07:00", "time_zone": "Europe/Berlin"}
    page = me.submit("/centre/preferences", "/centre/preferences/quiet-hours", typed, status=422).text
    assert '<html lang="de">' in page
    assert _error(page, "start") == GERMAN["invalid.time"]
    assert (
        'id="qh-start" name="start" value="late" aria-invalid="true" aria-describedby="start-error"' in page
    )
    assert 'value="07:00"' in page and 'value="Europe/Berlin"' in page  # as typed, to correct
    assert '<a href="/centre/preferences" aria-current="page">' in page  # the page it is, not the action
    assert 'href="/centre/preferences?lang=fr"' in page
    assert "Input should" not in page and "valid time format" not in page and "quiet_hours.start" not in page

    life = {"label": "Umzug", "topics": "möbel", "until": "bald"}
    refused = me.submit("/centre/preferences", "/centre/preferences/life-events", life, status=422).text
    assert _error(refused, "until") == GERMAN["invalid.date"]
    assert 'value="Umzug"' in refused and 'value="bald"' in refused
    assert 'value="late"' not in refused  # another form's typing is not carried over

    channels = {"allowed-email": "on", "limit-email": "-1", "limit-sms": "3"}
    refused = me.submit("/centre/preferences", "/centre/preferences/channels", channels, status=422).text
    assert _error(refused, "limit-email") == GERMAN["invalid.at_least"].format(limit=0)
    assert 'id="allowed-sms"' in refused and not re.search(r'id="allowed-sms"[^>]*checked', refused)
    assert re.search(r'id="limit-sms"[^>]*value="3"', refused)
    assert me.get("/centre/data/export").json()["data"] == before


def test_the_consent_and_erasure_forms_refuse_in_french_next_to_the_field(
    business: Callable[[str], Business], visitor: Callable[..., Visitor]
) -> None:
    me = _me(business, visitor, **{"Accept-Language": "fr-FR,fr;q=0.9"})
    page = me.get("/centre/consents").text
    action = re.search(r'action="(/centre/consents/[^"]+/marketing)"', page)
    assert action
    me.submit("/centre/consents", action[1], {"decision": "withdraw"})
    refused = me.submit("/centre/consents", action[1], {"decision": "grant"}, status=422).text
    assert '<html lang="fr">' in refused and _error(refused, "channels") == FRENCH["invalid.channels"]
    refused = me.submit("/centre/data", "/centre/data/erase", {}, status=422).text
    assert _error(refused, "confirm") == FRENCH["invalid.confirm"]


def test_businesses_show_what_right_now_says(
    business: Callable[[str], Business], visitor: Callable[..., Visitor]
) -> None:
    shop = business("Chapter & Verse")
    customer = shop.customer("priya", email=EMAIL, grant={"marketing": ["email"]})
    customer.context(situation="commuting", intent="browsing", topics=["crime-novels"])
    me = visitor()
    me.sign_in(EMAIL)
    page = me.get("/centre/businesses").text
    assert "<td>Right now: Commuting · Just browsing · after: crime-novels</td>" in page


def test_the_hub_has_an_icon(visitor: Callable[..., Visitor]) -> None:
    me = visitor()
    icon = me.http.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert icon.content.startswith(b"<svg")
    linked = me.get("/centre/sign-in").text
    assert '<link rel="icon" href="/centre/static/favicon.svg" type="image/svg+xml">' in linked
    assert me.http.get("/centre/static/favicon.svg").content == icon.content


def test_right_now_refusals_keep_what_was_typed(
    business: Callable[[str], Business], visitor: Callable[..., Visitor]
) -> None:
    me = _me(business, visitor)
    refused = me.submit("/centre", "/centre/now", {"field": "topics", "value": "Crime Novels!"}, status=422)
    assert _error(refused.text, "topics") == "Use lower-case letters, digits and hyphens, like running-shoes."
    assert 'value="Crime Novels!"' in refused.text
    long_label = "x" * 81
    refused = me.submit("/centre", "/centre/personas", {"label": long_label, "interests": "tea"}, status=422)
    assert _error(refused.text, "label") == "Too long: at most 80 characters."
    assert f'value="{long_label}"' in refused.text and 'value="tea"' in refused.text
    assert "<details open>" in refused.text  # the form it was typed in stays open
