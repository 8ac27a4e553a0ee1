"""The centre speaks the customer's language: complete catalogues, every key a page uses, the choice of
language (explicit, then declared, then the browser's), and dates on the customer's clock."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.dates import get_month_names
from babel.messages.catalog import Catalog

from harken.centre import i18n, visit, web_profile, web_shares
from harken.centre.mail import MemoryMailer
from harken.consent.purposes import CATALOGUE
from harken.consent.schemas import Channel, CurrentStatus
from harken.context.schemas import Intent, Provenance, Situation
from harken.grants import service as grants_service
from harken.shares.schemas import TripStatus
from harken.terms import roster
from tests.centre_client import Visitor, csrf_of
from tests.stories.conftest import Business

ENGLISH = i18n.all_messages("en")  # every text by key; a plural message's forms as key[0], key[1]
GERMAN = i18n.all_messages("de")
FRENCH = i18n.all_messages("fr")
KEYS = set(i18n.catalogue("en"))  # the messages' keys, as pages name them
CENTRE = Path(i18n.__file__).parent
TEMPLATES = CENTRE / "templates"
WEB = [
    CENTRE / f"{name}.py"
    for name in (
        "visit",
        "forms",
        "web",
        "web_sign_in",
        "web_profile",
        "web_shares",
        "web_credentials",
        "web_terms",
        "web_grants",
    )
]
NAMESPACES = {key.split(".")[0] for key in KEYS}
ASKS_GERMAN = "de-DE,de;q=0.9,en;q=0.5"

# Keys built from a value at run time, and every value they can take.
STATUSES = ("granted", "denied", "withdrawn", "expired", "none")
DYNAMIC: dict[str, set[str]] = {
    "intent.": {i.value for i in Intent},
    "situation.": {s.value for s in Situation},
    "provenance.": {p.value for p in Provenance},
    "channel.": {c.value for c in Channel},
    "status.": {*STATUSES, *(s.value for s in CurrentStatus)},
    "purpose.": set(CATALOGUE),
    "done.": set(visit.DONE),
    "affinity.": {*web_profile.AFFINITY, "remove"},
    "novelty.": set(web_profile.NOVELTY),
    "kind.": set(visit.KINDS),
    "shared.": set(web_shares.SHARED),
    "trip_status.": {s.value for s in TripStatus},
    "lasts.": set(web_shares.LASTS),
    "agreement.": set(roster.AGREEMENTS),
    "agreement_text.": set(roster.AGREEMENTS),
    "scope.": set(grants_service.SCOPES),
    "expiry.": set(grants_service.EXPIRIES),
}
PREFIXES_NOT_TRANSLATED = {"sign_in.", "invalid."}  # base.html/forms.py: a message that is already a key


# ---- the catalogues ------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_every_locale_has_exactly_the_english_keys_each_translated(locale: str) -> None:
    """A message id without a translation (an empty msgstr, a missing plural form, a fuzzy guess) fails."""
    messages = i18n.catalogue(locale)
    assert set(messages) - KEYS == set(), "keys English does not have"
    assert KEYS - set(messages) == set(), "keys left out"
    plurals = i18n.po(locale).num_plurals
    for message in i18n.po(locale):
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        forms = message.string if isinstance(message.string, tuple | list) else [message.string]
        assert all(isinstance(form, str) and form.strip() for form in forms), (
            f"{locale}: {message.id} untranslated"
        )
        if isinstance(message.id, tuple):
            assert len(forms) == plurals, f"{locale}: {message.id[0]} needs {plurals} plural forms"
        else:
            assert isinstance(message.string, str), message.id


def test_the_catalogues_plural_rules_are_the_languages_own() -> None:
    assert [i18n.po(locale).plural_expr for locale in i18n.LOCALES] == ["(n != 1)", "(n != 1)", "(n > 1)"]


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_every_message_has_the_english_placeholders_and_lines(locale: str) -> None:
    for key, message in i18n.all_messages(locale).items():
        english = (
            ENGLISH.get(key) or ENGLISH[re.sub(r"\[\d+\]$", "[1]", key)]
        )  # a plural form: English's "many"
        assert i18n.placeholders(message) == i18n.placeholders(english), key
        assert message.count("\n") == english.count("\n"), key
        message.format(**dict.fromkeys(i18n.placeholders(message), "x"))  # no stray braces


def test_german_uses_german_typography() -> None:
    for key, message in GERMAN.items():
        assert '"' not in message and "'" not in message, f"{key}: typographic quotes, not typewriter ones"
    assert "ä" in GERMAN["app.name"] and "ö" in GERMAN["data.delete"]
    assert GERMAN["mail.body"].startswith("Guten Tag,\n\n") and GERMAN["mail.body"].endswith("\n")


def test_french_uses_french_typography() -> None:
    for key, message in FRENCH.items():
        assert '"' not in message and "'" not in message, (
            f"{key}: typographic apostrophes, not typewriter ones"
        )
        # a space before a colon, semicolon, question or exclamation mark that ends a clause
        assert not re.search(r"[^\s][:;?!](\s|$)", message), f"{key}: {message!r}"
    assert "é" in FRENCH["app.name"] and FRENCH["mail.body"].startswith("Bonjour,\n\n")


def test_a_missing_translation_falls_back_to_english(monkeypatch: pytest.MonkeyPatch) -> None:
    partial = Catalog(locale="de")
    partial.add("save", "Speichern")
    real = i18n.po
    monkeypatch.setattr(i18n, "po", lambda locale: partial if locale == "de" else real(locale))
    i18n.translations.cache_clear()
    try:
        t = i18n.Translator("de", ZoneInfo("UTC"))
        assert t("save") == "Speichern"
        assert t("sent.body", minutes=15) == ENGLISH["sent.body[1]"].format(minutes=15)
        assert t("nav.data") == ENGLISH["nav.data"]
    finally:
        i18n.translations.cache_clear()


def test_messages_take_their_parameters() -> None:
    t = i18n.Translator("de", ZoneInfo("UTC"))
    assert t("sent.body", minutes=15) == GERMAN["sent.body[1]"].replace("{minutes}", "15")
    assert "15 Minuten" in t("sent.body", minutes=15)
    assert t("confirm.from_app", org="Chapter & Verse").count("Chapter & Verse") == 2


@pytest.mark.parametrize(
    ("locale", "minutes", "said"),
    [
        ("en", 1, "in 1 minute."),
        ("en", 0, "in 0 minutes."),
        ("en", 2, "in 2 minutes."),
        ("de", 1, "in 1 Minute noch"),
        ("de", 5, "in 5 Minuten noch"),
        ("de", 1500, "in 1.500 Minuten noch"),
        ("fr", 0, "dans 0 minute."),  # French counts 0 and 1 as one
        ("fr", 1, "dans 1 minute."),
        ("fr", 2, "dans 2 minutes."),
    ],
)
def test_plurals_follow_each_languages_rule(locale: str, minutes: int, said: str) -> None:
    assert said in i18n.Translator(locale, ZoneInfo("UTC"))("limit.body", minutes=minutes)


def test_a_value_a_message_lacks_shows_as_nothing_rather_than_failing() -> None:
    assert i18n.Translator("en", ZoneInfo("UTC"))("invalid.too_long") == "Too long: at most  characters."


# ---- every key a page uses exists -------------------------------------------------------------------


def _classify(literal: str, keys: set[str], prefixes: set[str]) -> None:
    """A dotted literal in a known namespace is a key, or (ending in a dot) the start of keys."""
    if not re.fullmatch(r"[a-z_]+\.([a-z0-9_-]+\.)*([a-z0-9_-]+)?", literal) or literal.endswith(
        (".html", ".css", ".js")
    ):
        return
    if literal.split(".")[0] in NAMESPACES:
        (prefixes if literal.endswith(".") else keys).add(literal)


def used_in_templates() -> tuple[set[str], set[str]]:
    keys: set[str] = set()
    prefixes: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        source = template.read_text(encoding="utf-8")
        # t("save"), t('nav.label'), title_key="…": literal keys, dotted or not
        keys |= {m[1] for m in re.findall(r"""\bt\(\s*(["'])([\w.-]+)\1\s*[,)]""", source)}
        keys |= {m[1] for m in re.findall(r"""\b(?:title|body)_key\s*=\s*(["'])([\w.-]+)\1""", source)}
        # t("prefix." ~ value), whatever the prefix
        prefixes |= {m[1] for m in re.findall(r"""\bt\(\s*(["'])([\w.-]+\.)\1\s*~""", source)}
        # every string inside {{ }} / {% %}: catches t("a" if x else "b") and t("prefix." ~ value)
        for token in visit.templates.lexer.tokenize(source, name=template.name):
            if token.type == "string":
                _classify(token.value, keys, prefixes)
    return keys, prefixes


def used_in_web() -> tuple[set[str], set[str]]:
    keys: set[str] = set()
    prefixes: set[str] = set()
    for module in WEB:
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                _classify(node.value, keys, prefixes)  # includes the "done." of f"done.{done}"
    return keys, prefixes


def test_the_scanners_find_keys() -> None:
    template_keys, template_prefixes = used_in_templates()
    web_keys, web_prefixes = used_in_web()
    assert {"save", "field", "provenance", "nav.label", "log.allowed", "log.refused"} <= template_keys
    assert {"intent.", "situation.", "status.", "channel.", "affinity.", "novelty."} <= template_prefixes
    assert {"nav.data", "mail.subject", "mail.body", "error.csrf", "error.not_found"} <= web_keys
    assert {"sign_in.email_invalid", "link.invalid_title", "limit.body", "sent.title"} <= web_keys
    assert {"done.", "purpose."} <= web_prefixes


def test_every_key_a_page_uses_is_in_english() -> None:
    template_keys, _ = used_in_templates()
    web_keys, _ = used_in_web()
    assert template_keys - KEYS == set(), "templates"
    assert web_keys - KEYS == set(), "web.py"


def test_every_prefix_a_page_builds_keys_from_is_known() -> None:
    """A new t("x." ~ value) needs the values it can take listed in DYNAMIC, so the next test covers it."""
    _, template_prefixes = used_in_templates()
    _, web_prefixes = used_in_web()
    assert (template_prefixes | web_prefixes) - set(DYNAMIC) - PREFIXES_NOT_TRANSLATED == set()
    for prefix in template_prefixes | web_prefixes:
        assert any(key.startswith(prefix) for key in KEYS), prefix


def test_every_english_key_is_used() -> None:
    """A key no page uses any more is a translation nobody reads: remove it from every catalogue."""
    template_keys, template_prefixes = used_in_templates()
    web_keys, web_prefixes = used_in_web()
    prefixes = template_prefixes | web_prefixes
    unused = {
        key
        for key in KEYS
        if key not in template_keys | web_keys and not any(key.startswith(p) for p in prefixes)
    }
    assert unused == set()


@pytest.mark.parametrize("prefix", sorted(DYNAMIC))
def test_every_value_of_a_dynamic_key_is_translated(prefix: str) -> None:
    assert DYNAMIC[prefix]
    assert {f"{prefix}{value}" for value in DYNAMIC[prefix]} - KEYS == set()


def test_statuses_include_every_current_status_and_none() -> None:
    assert set(STATUSES) == {*(s.value for s in CurrentStatus), "none"}


# ---- choosing the language -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de", ["de"]),
        ("en;q=0.5, de;q=0.9", ["de", "en"]),
        ("de;q=0.4,en;q=0.8", ["en", "de"]),
        ("de, en", ["de", "en"]),
        ("en, de", ["en", "de"]),
        ("de-DE;q=0.9,en;q=0.5", ["de", "en"]),
        ("fr-FR, fr;q=0.9, de;q=0.8, en;q=0.1", ["fr", "de", "en"]),
        ("it-IT, it;q=0.9, de;q=0.8, en;q=0.1", ["de", "en"]),
        ("fr-CA", ["fr"]),
        ("de-CH", ["de"]),
        ("DE-at", ["de"]),
        ("de_AT", ["de"]),
        ("en-GB; q=0.7 , de-CH ;q=0.3", ["en", "de"]),
        ("de;q=0, en", ["en"]),
        ("de;q=0.0, en;q=0.000", []),
        ("de;q=abc, en;q=0.2", ["en"]),
        ("*", []),
        ("fr, it, es", ["fr"]),
        ("it, es, ja", []),
        ("", []),
        (None, []),
        (";;;, ,q=1,;q=", []),
    ],
)
def test_accepted(header: str | None, expected: list[str]) -> None:
    assert i18n.accepted(header) == expected


@pytest.mark.parametrize(
    ("chosen", "declared", "header", "expected"),
    [
        (None, None, None, "en"),
        (None, None, "", "en"),
        (None, None, "complete garbage ;;; q=?", "en"),
        (None, None, "fr-FR, ja", "fr"),
        (None, None, "it-IT, ja", "en"),
        (None, None, "de;q=0", "en"),
        (None, None, "de-CH", "de"),
        (None, None, "fr, de;q=0.5, en;q=0.3", "fr"),
        (None, None, "it, de;q=0.5, en;q=0.3", "de"),
        (None, "de-DE", "en-GB,en;q=0.9", "de"),
        (None, "de_AT", None, "de"),
        (None, "fr-FR", "de", "fr"),
        (None, "it-IT", "de", "de"),
        ("fr", "de-DE", "de", "fr"),
        ("en", "de-DE", "de", "en"),
        ("de", "en-CA", "en", "de"),
        ("de", None, None, "de"),
        ("xx", "de-DE", "en", "de"),
        ("xx", None, "de", "de"),
        ("", "", "de", "de"),
    ],
)
def test_negotiate(chosen: str | None, declared: str | None, header: str | None, expected: str) -> None:
    assert i18n.negotiate(chosen=chosen, declared=declared, accept_language=header) == expected


# ---- dates on the customer's clock ---------------------------------------------------------------


def test_german_dates_on_the_customers_clock() -> None:
    t = i18n.Translator("de", ZoneInfo("Europe/Berlin"))
    moment = datetime(2026, 11, 24, 17, 30, tzinfo=UTC)
    shown = t.when(moment)
    november = get_month_names("abbreviated", locale="de")[11]
    assert november != get_month_names("abbreviated", locale="en")[11]
    assert "18:30" in shown and november in shown and "2026" in shown, shown
    assert shown.startswith("24. "), shown  # German writes the day with a full stop
    assert "19:30" in t.when(datetime(2026, 7, 24, 17, 30, tzinfo=UTC))  # summer time
    assert "März" in t.when(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


def test_french_dates_on_the_customers_clock() -> None:
    t = i18n.Translator("fr", ZoneInfo("Europe/Paris"))
    assert t.when(datetime(2026, 11, 24, 17, 30, tzinfo=UTC)) == "24 nov. 2026, 18:30"
    assert "févr." in t.when(datetime(2026, 2, 2, 9, 0, tzinfo=UTC))


def test_english_dates_on_the_customers_clock() -> None:
    t = i18n.Translator("en", ZoneInfo("America/Toronto"))
    assert t.when(datetime(2026, 11, 24, 17, 30, tzinfo=UTC)) == "24 Nov 2026, 12:30"


# ---- through the pages -----------------------------------------------------------------------------


def _german(html: str) -> bool:
    return '<html lang="de">' in html


def _english(html: str) -> bool:
    return '<html lang="en">' in html


def test_sign_in_page_follows_the_browser(visitor: Callable[..., Visitor]) -> None:
    german = visitor(**{"Accept-Language": ASKS_GERMAN}).get("/centre/sign-in").text
    assert _german(german)
    assert GERMAN["sign_in.intro"] in german and GERMAN["sign_in.email"] in german
    assert ENGLISH["sign_in.intro"] not in german

    english = visitor().get("/centre/sign-in").text
    assert _english(english) and ENGLISH["sign_in.intro"] in english
    assert GERMAN["sign_in.intro"] not in english

    swiss = visitor(**{"Accept-Language": "it-CH, de-CH;q=0.8"}).get("/centre/sign-in").text
    assert _german(swiss)
    romand = visitor(**{"Accept-Language": "fr-CH, de-CH;q=0.8"}).get("/centre/sign-in").text
    assert '<html lang="fr">' in romand and FRENCH["sign_in.intro"] in romand


def test_a_chosen_language_is_kept_in_a_cookie(visitor: Callable[..., Visitor]) -> None:
    me = visitor()
    chosen = me.get("/centre/sign-in?lang=de")
    assert _german(chosen.text) and GERMAN["sign_in.intro"] in chosen.text
    assert "harken_lang=de" in chosen.headers["set-cookie"]
    later = me.get("/centre/sign-in").text
    assert _german(later) and GERMAN["sign_in.send"] in later
    assert _german(me.get("/centre/sign-in/sent").text)

    back = visitor(**{"Accept-Language": ASKS_GERMAN})
    assert _english(back.get("/centre/sign-in?lang=en").text)
    assert _english(back.get("/centre/sign-in").text), "the choice beats the browser's header"


def test_an_unknown_language_choice_is_ignored(visitor: Callable[..., Visitor]) -> None:
    me = visitor(**{"Accept-Language": ASKS_GERMAN})
    page = me.get("/centre/sign-in?lang=xx")
    assert _german(page.text)
    assert "harken_lang" not in page.headers.get("set-cookie", "")


def test_refusals_are_in_german(visitor: Callable[..., Visitor]) -> None:
    me = visitor(**{"Accept-Language": ASKS_GERMAN})
    missing = me.get("/centre/nowhere", status=404).text
    assert _german(missing) and GERMAN["error.not_found"] in missing
    broken = me.get("/centre/link/not-a-token", status=400).text
    assert GERMAN["link.invalid_title"] in broken and GERMAN["link.invalid"] in broken
    form = me.get("/centre/sign-in").text
    refused = me.http.post(
        "/centre/sign-in", data={"email": "not an address", "csrf": csrf_of(form), "next": "/centre"}
    )
    assert refused.status_code == 422
    assert _german(refused.text) and GERMAN["sign_in.email_invalid"] in refused.text
    forged = me.http.post("/centre/sign-in", data={"email": "a@example.com", "csrf": "forged"})
    assert forged.status_code == 403
    assert GERMAN["error.csrf"] in forged.text


def _shop_with(business: Callable[[str], Business], email: str, locale: str | None) -> Business:
    shop = business("Bücherstube")
    shop.call("PUT", "/v1/notices/marketing", {"text": "Wir senden Buchneuigkeiten.", "locale": "de"})
    customer = shop.customer("priya", email=email, grant={"marketing": ["email"]})
    if locale:
        customer.preferences(locale=locale)
    return shop


def _pages(me: Visitor) -> dict[str, str]:
    return {
        title: me.get(path).text
        for path, title in (
            ("/centre", "now.title"),
            ("/centre/businesses", "businesses.title"),
            ("/centre/consents", "consents.title"),
            ("/centre/preferences", "preferences.title"),
            ("/centre/data", "data.title"),
        )
    }


def test_a_customer_who_declared_german_gets_german_pages(
    visitor: Callable[..., Visitor], business: Callable[[str], Business]
) -> None:
    _shop_with(business, "priya@example.com", "de-DE")
    me = visitor(**{"Accept-Language": "en-GB,en;q=0.9"})
    me.sign_in("priya@example.com")
    for title, html in _pages(me).items():
        assert _german(html), title
        assert f"<h1>{GERMAN[title]}</h1>" in html, title
        assert GERMAN["nav.sign_out"] in html and ENGLISH["nav.sign_out"] not in html, title
    consents = me.get("/centre/consents").text
    assert GERMAN["status.granted"] in consents and GERMAN["consents.withdraw"] in consents
    saved = me.get("/centre?done=saved").text
    assert GERMAN["done.saved"] in saved

    assert _english(me.get("/centre?lang=en").text), "an explicit choice beats the declared locale"
    assert _english(me.get("/centre/consents").text)
    assert _german(me.get("/centre/consents?lang=de").text)


def test_a_customer_who_declared_nothing_gets_the_browsers_language(
    visitor: Callable[..., Visitor], business: Callable[[str], Business]
) -> None:
    _shop_with(business, "priya@example.com", None)
    english = visitor()
    english.sign_in("priya@example.com")
    assert all(_english(html) for html in _pages(english).values())
    german = visitor(**{"Accept-Language": ASKS_GERMAN})
    german.sign_in("priya@example.com")
    assert all(_german(html) for html in _pages(german).values())


def _mail_to(mailer: MemoryMailer, email: str) -> Any:
    return next(message for message in reversed(mailer.sent) if message["To"] == email)


def test_the_sign_in_mail_is_in_the_language_it_was_asked_in(
    visitor: Callable[..., Visitor], business: Callable[[str], Business], mailer: MemoryMailer
) -> None:
    _shop_with(business, "priya@example.com", "de-DE")
    visitor(**{"Accept-Language": ASKS_GERMAN}).sign_in("priya@example.com")
    mail = _mail_to(mailer, "priya@example.com")
    assert mail["Subject"] == GERMAN["mail.subject"]
    body = mail.get_content()
    assert body.startswith("Guten Tag,\n") and "Präferenzcenter" in body and "15 Minuten" in body
    assert re.search(r"^https?://\S+/centre/link/\S+$", body, re.MULTILINE), body

    chose = visitor()
    chose.get("/centre/sign-in?lang=de")
    chose.sign_in("priya@example.com")
    assert _mail_to(mailer, "priya@example.com")["Subject"] == GERMAN["mail.subject"]

    visitor().sign_in("priya@example.com")
    assert _mail_to(mailer, "priya@example.com")["Subject"] == ENGLISH["mail.subject"]


def test_who_asked_is_explained_in_the_pages_language(
    visitor: Callable[..., Visitor], business: Callable[[str], Business]
) -> None:
    shop = _shop_with(business, "priya@example.com", None)
    shop.call("PUT", "/v1/subjects/priya/consents/marketing", {"status": "withdrawn"})
    shop.offer("novels", topics=["books"])
    asked = shop.decide("priya", ["novels"], ["email"])
    assert asked["explanation"] == "Not sending: you withdrew your consent to marketing."
    german = visitor(**{"Accept-Language": ASKS_GERMAN})
    german.sign_in("priya@example.com")
    page = german.get("/centre/businesses").text
    assert _german(page)
    assert "<q>Wird nicht gesendet: Sie haben Ihre Einwilligung zum Zweck „Marketing“ widerrufen.</q>" in page
    assert asked["explanation"] not in page
    assert (
        "<q>Not sending: you withdrew your consent to marketing.</q>"
        in german.get("/centre/businesses?lang=en").text
    )
