"""Every reason a decision can give: a stable code, what it means, and the sentence shown for it.

The engine gives a reason as its code and the plain values its sentence needs (`Reason(code, params)`);
the sentence is written only at the edge, in the reader's language: `render(reason, language)`, and
`explain(explanation, language)` for the decision's one-sentence explanation. The codes are part of
the API (docs/reason-codes.md is generated from `codes.MEANING` and checked by a test); sentences may
improve, codes never change meaning.

Pure: no database, no web, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, NamedTuple

from babel.dates import format_date, format_datetime

from harken.decisions.codes import MEANING, Code
from harken.decisions.sentences import ENGLISH, FRENCH, GERMAN, WORDS

__all__ = [  # the codes and sentences are read through here, as before they had modules of their own
    "DEFAULT", "ENGLISH", "LANGUAGES", "MEANING", "MESSAGES", "SENTENCES", "WORDS",
    "Code", "Explanation", "Reason", "explain", "language", "reason", "render",
]  # fmt: skip

SENTENCES: dict[str, dict[Code, str]] = {"en": ENGLISH, "de": GERMAN, "fr": FRENCH}
DEFAULT = "en"
LANGUAGES = tuple(SENTENCES)
MESSAGES = ENGLISH  # the API's default language

assert set(ENGLISH) == set(Code) == set(MEANING), "every reason code needs a meaning and a message"
assert all(set(sentences) == set(Code) for sentences in SENTENCES.values()), "a language lacks a sentence"


class Reason(NamedTuple):
    """A reason as the engine gives it: its code and the plain values (strings, numbers, tuples of
    strings, ISO 8601 moments) its sentence needs; the sentence itself is written by `render`."""

    code: Code
    params: Mapping[str, Any] = {}

    @property
    def message(self) -> str:
        """The sentence in English, the API's default language."""
        return render(self)


class Explanation(NamedTuple):
    """The decision in one sentence, as values: `explain` writes it. Sending names the offer's title
    and channel and a reason for it; not sending, the first reason and when a better moment comes."""

    because: Reason
    title: str | None = None  # sending: the offer's title
    channel: str | None = None
    retry: str | None = None  # not sending: a better moment, ISO 8601 on the customer's clock
    zone: str | None = None  # the customer's time zone, named
    next_day: bool = False  # the better moment is not today

    def as_json(self) -> dict[str, Any]:
        """A JSON value `from_json` reads back, to write the explanation again later, in any language."""
        return {
            **self._asdict(),
            "because": {"code": str(self.because.code), "params": dict(self.because.params)},
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Explanation:
        because = value["because"]
        return cls(**{**value, "because": Reason(Code(because["code"]), because["params"])})


def reason(code: Code, **values: Any) -> Reason:
    # tuple.__new__ skips Reason()'s Python-level __new__ (and _make's): a decision builds dozens
    return _new(Reason, (code, values)) if values else _PLAIN[code]


_new = tuple.__new__


_PLAIN = {code: Reason(code) for code in Code}


def language(wanted: Iterable[str]) -> str:
    """The first of `wanted` (languages, most wanted first) that sentences are written in, else English."""
    return next((w for w in wanted if w in SENTENCES), DEFAULT)


def render(reason: Reason, language: str = DEFAULT) -> str:
    """The reason's sentence in `language` (English if it is not one of `LANGUAGES`)."""
    if language not in SENTENCES:
        language = DEFAULT
    if not reason.params:
        return SENTENCES[language][reason.code]
    return SENTENCES[language][reason.code].format_map(_values(reason, WORDS[language], language))


def explain(explanation: Explanation, language: str = DEFAULT) -> str:
    """The decision's one-sentence explanation in `language` (English if it is not one of `LANGUAGES`)."""
    if language not in SENTENCES:
        language = DEFAULT
    words = WORDS[language]
    because = render(explanation.because, language)
    if explanation.title is not None:
        channel = _name(words, "channel", explanation.channel or "")
        return words["sending"].format(title=explanation.title, channel=channel, because=because)
    when = ""
    if explanation.retry is not None:
        moment = datetime.fromisoformat(explanation.retry)
        frame = "next_moment" if explanation.next_day else "better_moment"
        at = _moment(moment, language, weekday=explanation.next_day)
        when = words[frame].format(at=at, zone=explanation.zone)
    return words["refusing"].format(because=because, when=when)


def _values(reason: Reason, words: dict[str, str], language: str) -> dict[str, str]:
    """The reason's values in words of `language`: names for keys, the language's dates and lists."""
    found: dict[str, str] = {}
    for key, value in reason.params.items():
        if key in ("purpose", "channel", "situation"):
            found[key] = _name(words, key, value)
        elif key == "channels":
            found[key] = (
                ", ".join(_name(words, "channel", c) for c in value) if value else words["this_offer"]
            )
        elif key == "topics":
            found[key] = ", ".join(value)
        elif key == "intent":
            found[key] = words.get(f"intent.{value or ''}", words["intent."])
        elif key == "title":  # an agreement's title, in the reader's language where the roster has none
            found[key] = words.get(f"agreement.{reason.params.get('agreement')}", value)
        elif key == "topic":
            found[key] = words["unshared_topic"] if value is None else value
        elif key == "until":
            moment = datetime.fromisoformat(value)
            found[key] = _moment(moment, language, weekday=not reason.params.get("today", True), day=True)
        elif key == "day":
            found[key] = words["chosen_day"] if value is None else _day(date.fromisoformat(value), language)
        else:
            found[key] = str(value)
    if reason.code is Code.relevance_learned:
        found.update(_learned(reason.params, words))
    return found


def _learned(params: Mapping[str, Any], words: dict[str, str]) -> dict[str, str]:
    """A learned choice's clauses: the likings it cites, or that none were declared, and the situation."""
    topics, situation = ", ".join(params.get("topics") or ()), params.get("situation")
    liked = (
        words["learned.liked"].format(topics=topics)
        if topics
        else ""
        if situation
        else words["learned.nothing"]
    )
    where = words.get(f"moment.{situation}") or _name(words, "situation", situation or "")
    return {"liked": liked, "moment": words["learned.moment"].format(situation=where) if situation else ""}


def _name(words: dict[str, str], kind: str, key: str) -> str:
    return words.get(f"{kind}.{key}", key)


def _moment(moment: datetime, language: str, *, weekday: bool, day: bool = False) -> str:
    """A time on the customer's clock; with the weekday (and the date, if `day`) when it is not today."""
    if language == DEFAULT:  # as the API has always written it
        return (
            f"{moment:%A %d %B %H:%M}"
            if weekday and day
            else f"{moment:%A %H:%M}"
            if weekday
            else f"{moment:%H:%M}"
        )
    with_day, _ = PATTERNS[language]
    pattern = with_day if weekday and day else "EEEE HH:mm" if weekday else "HH:mm"
    return format_datetime(moment, pattern, tzinfo=moment.tzinfo, locale=language)


def _day(day: date, language: str) -> str:
    return (
        f"{day:%d %B %Y}" if language == DEFAULT else format_date(day, PATTERNS[language][1], locale=language)
    )


# Babel's patterns for a weekday with its date and time, and for a date, in each language but English.
PATTERNS = {"de": ("EEEE, d. MMMM, HH:mm", "d. MMMM y"), "fr": ("EEEE d MMMM, HH:mm", "d MMMM y")}
