"""The centre's languages, with Babel: one gettext catalogue per locale (locales/<locale>.po, its msgids
the messages' keys), read as it is and compiled in memory at first use, so nothing needs a build step;
plurals by each language's own rule (the catalogue's Plural-Forms); dates in the language's words on the
customer's clock. The language: the customer's explicit choice, then their declared locale, then the
browser's Accept-Language, then English, each matched to a catalogue by Babel."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, negotiate_locale
from babel.dates import format_datetime
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

LOCALES = ("en", "de", "fr")
DEFAULT = "en"
CATALOGUES = Path(__file__).parent / "locales"
# A moment on the customer's clock, in each language's order and words (Babel's CLDR month names).
MOMENT = {"en": "d MMM y, HH:mm", "de": "d. MMM y, HH:mm", "fr": "d MMM y, HH:mm"}
# The number a plural message is chosen by: its first parameter of these names.
COUNTS = ("count", "minutes")
# Each language named in itself, for the language switcher: "English", "Deutsch", "Français".
NAMES = {code: (Locale.parse(code).get_display_name(code) or code).capitalize() for code in LOCALES}


@cache
def po(locale: str) -> Catalog:
    with (CATALOGUES / f"{locale}.po").open("rb") as source:
        return read_po(source, locale=locale)


def catalogue(locale: str) -> dict[str, str | tuple[str, ...]]:
    """Every message of a locale by its key; a plural message as its forms (one per plural category)."""
    found: dict[str, str | tuple[str, ...]] = {}
    for message in po(locale):
        if not message.id:
            continue  # the header
        key = message.id if isinstance(message.id, str) else message.id[0]
        text = message.string
        found[key] = text if isinstance(text, str) else tuple(text or ())
    return found


@cache
def plural_keys() -> frozenset[str]:
    """The messages that have plural forms (in English, and so in every catalogue)."""
    return frozenset(key for key, message in catalogue(DEFAULT).items() if isinstance(message, tuple))


@cache
def translations(locale: str) -> Translations:
    """The locale's gettext translations, falling back to English for a message it lacks."""
    compiled = BytesIO()
    write_mo(compiled, po(locale))
    compiled.seek(0)
    found = Translations(compiled)
    if locale != DEFAULT:
        found.add_fallback(translations(DEFAULT))
    return found


def placeholders(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


def _supported(tag: str) -> str | None:
    """The catalogue for one language tag (de-CH, de_AT, DE): Babel's match, exact or by language."""
    tag = tag.strip().replace("_", "-").lower()
    if not tag or tag == "*":
        return None
    return negotiate_locale([tag], LOCALES, sep="-", aliases={})


def accepted(header: str | None) -> list[str]:
    """The supported languages of an Accept-Language header, most wanted first (RFC 9110 §12.5.4)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, *params = part.split(";")
        quality = 1.0
        for param in params:
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = -1.0
        language = _supported(tag)
        if language and 0 < quality <= 1:
            ranked.append((-quality, position, language))
    return list(dict.fromkeys(language for _, _, language in sorted(ranked)))


def negotiate(*, chosen: str | None, declared: str | None, accept_language: str | None) -> str:
    for candidate in (chosen, declared):
        if candidate and (language := _supported(candidate)):
            return language
    return next(iter(accepted(accept_language)), DEFAULT)


class _Values(dict[str, Any]):
    """A message's values; one it names but was not given shows as nothing rather than failing."""

    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class Translator:
    locale: str
    zone: ZoneInfo

    def __call__(self, key: str, **params: Any) -> str:
        gettext = translations(self.locale)
        count = next((params[name] for name in COUNTS if isinstance(params.get(name), int)), None)
        if count is not None and key in plural_keys():
            message = gettext.ngettext(key, key, count)
            params = {
                **params,
                **{n: format_decimal(params[n], locale=self.locale) for n in COUNTS if n in params},
            }
        else:
            message = gettext.gettext(key)
        return message.format_map(_Values(params))

    def when(self, moment: datetime) -> str:
        """A moment on the customer's clock, in their language: "24 Nov 2026, 18:30"."""
        return format_datetime(moment, MOMENT[self.locale], tzinfo=self.zone, locale=self.locale)


def all_messages(locale: str) -> Mapping[str, str]:
    """Every text of a locale, plural forms each under `key[index]`: what the completeness tests read."""
    found: dict[str, str] = {}
    for key, message in catalogue(locale).items():
        if isinstance(message, tuple):
            found.update({f"{key}[{index}]": form for index, form in enumerate(message)})
        else:
            found[key] = message
    return found
