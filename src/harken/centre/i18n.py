"""The centre's languages: one JSON catalogue per locale, chosen from the customer's explicit choice,
then their declared locale, then the browser's Accept-Language, then English."""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

LOCALES = ("en", "de")
DEFAULT = "en"
NAMES = {"en": "English", "de": "Deutsch"}
MOMENT = {"en": "d MMM y, HH:mm", "de": "d. MMM y, HH:mm"}
CATALOGUES = Path(__file__).parent / "locales"


@cache
def catalogue(locale: str) -> dict[str, str]:
    messages: dict[str, str] = json.loads((CATALOGUES / f"{locale}.json").read_text(encoding="utf-8"))
    return messages


def placeholders(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


def _language(tag: str) -> str | None:
    language = tag.strip().split("-")[0].split("_")[0].lower()
    return language if language in LOCALES else None


def accepted(header: str | None) -> list[str]:
    """The supported languages of an Accept-Language header, most wanted first (RFC 9110 §12.5.4)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, *params = part.split(";")
        quality = 1.0
        for param in params:
            name, _, value = param.strip().partition("=")
            if name.lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = -1.0
        language = _language(tag)
        if language and 0 < quality <= 1:
            ranked.append((-quality, position, language))
    return [language for _, _, language in sorted(ranked)]


def negotiate(*, chosen: str | None, declared: str | None, accept_language: str | None) -> str:
    for candidate in (chosen, declared):
        if candidate and (language := _language(candidate)):
            return language
    return next(iter(accepted(accept_language)), DEFAULT)


@dataclass(frozen=True)
class Translator:
    locale: str
    zone: ZoneInfo

    def __call__(self, key: str, **params: Any) -> str:
        message = catalogue(self.locale).get(key) or catalogue(DEFAULT)[key]
        return message.format(**params) if params else message

    def when(self, moment: datetime) -> str:
        """A moment on the customer's clock, in their language: "24 Nov 2026, 18:30"."""
        return format_datetime(moment, MOMENT[self.locale], tzinfo=self.zone, locale=self.locale)
