"""docs/reason-codes.md is generated from `harken.decisions.reasons`; the committed file must match.

Regenerate it with `uv run python -m tests.decisions.test_reason_codes > docs/reason-codes.md`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harken.decisions.reasons import MEANING, Code

DOC = Path(__file__).resolve().parents[2] / "docs" / "reason-codes.md"
REGENERATE = "uv run python -m tests.decisions.test_reason_codes > docs/reason-codes.md"
# The gate each code's prefix belongs to; gates appear in the order of their first code in `Code`.
GATES = {
    "subject": "The customer",
    "terms": "Terms the customer set (MyTerms)",
    "consent": "Consent and channels",
    "channel": "Consent and channels",
    "context": "Context: the moment",
    "frequency": "Frequency",
    "topic": "Each candidate",
    "life_event": "Each candidate",
    "purchase": "Each candidate",
    "feedback": "Each candidate",
    "sensitive": "Each candidate",
    "country": "Each candidate",
    "locale": "Each candidate",
    "relevance": "Ranking",
    "decision": "The answer",
}

INTRO = f"""\
# Reason codes

<!-- Generated from src/harken/decisions/reasons.py; do not edit. Regenerate: {REGENERATE} -->

Every decision (`POST /v1/decisions`) explains itself with reasons: a code and a sentence for the
customer. The codes are stable, part of the API: match on them, they never change meaning. The
messages may change wording at any time: show them, don't parse them. They are in English, or in German
or French when the request's `Accept-Language` asks for it (the answer's `Content-Language` says which); the codes
are the same in every language.

Codes are grouped by the gate that gives them, in the order the engine checks: the customer, the
terms they set and the org accepted, consent and channels, the moment, frequency; then each candidate is filtered and ranked.
"""


def gate(code: Code) -> str:
    prefix = code.value.partition(".")[0]
    if prefix not in GATES:
        raise KeyError(f"{code.value}: add its prefix {prefix!r} to GATES in {Path(__file__).name}")
    return GATES[prefix]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    """The markdown for docs/reason-codes.md: one table per gate, codes in the enum's order."""
    groups: dict[str, list[Code]] = {}
    for code in Code:
        groups.setdefault(gate(code), []).append(code)
    parts = [INTRO]
    for title, codes in groups.items():
        rows = "\n".join(f"| `{c.value}` | {_cell(MEANING[c])} |" for c in codes)
        parts.append(f"## {title}\n\n| Code | Meaning |\n| --- | --- |\n{rows}\n")
    return "\n".join(parts)


def test_every_code_has_a_meaning() -> None:
    assert set(MEANING) == set(Code)
    assert all(MEANING[c].strip() and "\n" not in MEANING[c] for c in Code)


def test_every_code_is_distinct_and_belongs_to_a_gate() -> None:
    assert len(Code.__members__) == len(set(Code)), "two members share a value: one is only an alias"
    assert all(gate(c) for c in Code)


def test_the_reason_codes_document_matches_the_enum() -> None:
    found = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    assert found == render(), f"docs/reason-codes.md is out of date; regenerate it: {REGENERATE}"


if __name__ == "__main__":
    sys.stdout.write(render())
