"""A refused form, in the customer's words: each field's problem as a catalogue message (never the
validator's English), under the form's own field name, so the page shows it next to that field with
what was typed kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from harken.errors import Invalid

# A problem: the catalogue key of its message and the values the message takes.
Problem = tuple[str, dict[str, Any]]
Rename = Callable[[tuple[Any, ...]], str]

# What pydantic found, by its error type.
BY_TYPE = {
    "missing": "invalid.required",
    "string_too_short": "invalid.required",
    "too_short": "invalid.required",
    "string_too_long": "invalid.too_long",
    "too_long": "invalid.too_many",
    "time_parsing": "invalid.time",
    "time_type": "invalid.time",
    "date_parsing": "invalid.date",
    "date_from_datetime_parsing": "invalid.date",
    "datetime_parsing": "invalid.date_time",
    "datetime_from_date_parsing": "invalid.date_time",
    "timezone_aware": "invalid.date_time",
    "int_parsing": "invalid.whole_number",
    "int_type": "invalid.whole_number",
    "int_from_float": "invalid.whole_number",
    "greater_than_equal": "invalid.at_least",
    "greater_than": "invalid.at_least",
    "less_than_equal": "invalid.at_most",
    "less_than": "invalid.at_most",
    "string_pattern_mismatch": "invalid.format",
    "enum": "invalid.choose",
    "literal_error": "invalid.choose",
}
# A rule of our own (a validator's ValueError, or a service's Invalid), by the field it is about.
BY_FIELD = {
    "time_zone": "invalid.time_zone",
    "quiet_hours": "invalid.times_differ",
    "start": "invalid.time",
    "end": "invalid.time",
    "until": "invalid.date",
    "trip.arrives_at": "invalid.date_time",
    "option": "invalid.answer",
}
# A service's rule that reads the same for any field.
BY_MESSAGE = {"must lie in the future": "invalid.future"}
LIMITS = ("ge", "gt", "le", "lt", "max_length", "min_length")


class FormInvalid(Exception):
    def __init__(self, errors: dict[str, Problem]) -> None:
        self.errors = errors


def dotted(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location)


def field(location: tuple[Any, ...]) -> str:
    """The field a location is in: `topics.2` is the topics field."""
    names = []
    for part in location:
        if not isinstance(part, str):
            break
        names.append(part)
    return ".".join(names)


def problems(error: ValidationError | Invalid, rename: Rename = field) -> dict[str, Problem]:
    """Each field's first problem, keyed by `rename(location)`: the form's name for the field."""
    found: dict[str, Problem] = {}
    if isinstance(error, Invalid):
        for said in error.errors or []:
            name = rename(tuple(said.field.split(".")))
            key = said.message if said.message.startswith("invalid.") else BY_MESSAGE.get(said.message)
            found.setdefault(name, (key or BY_FIELD.get(name, "invalid.value"), {}))
        return found
    for item in error.errors():
        name = rename(tuple(item["loc"]))
        context = item.get("ctx") or {}
        limit = next((context[k] for k in LIMITS if k in context), None)
        key = BY_TYPE.get(item["type"]) or BY_FIELD.get(dotted(item["loc"])) or BY_FIELD.get(name)
        found.setdefault(name, (key or "invalid.value", {"limit": limit} if limit is not None else {}))
    return found
