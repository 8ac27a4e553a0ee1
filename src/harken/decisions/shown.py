"""What a decision shows of the offers it weighed: the ranking, best first — each offer dropped by a
filter, or scored by its best action against "don't send", or, when only the hub's default table kept
it from every channel, what it would have scored were the table silent, so a business sees what was
close.

Pure: no database, no web, no clock.
"""

from __future__ import annotations

import math

from harken.decisions import features
from harken.decisions.ranking import Judged, Ranked
from harken.decisions.reasons import Code, Reason, reason
from harken.decisions.scoring import DONT_SEND, Action, Scorer

STAY = Action(DONT_SEND, None, {})  # "don't send", the action every decision may take
BELOW = reason(Code.relevance_below_floor)
SITUATIONAL = (Code.context_in_transit, Code.context_situation)  # the default table's reasons
_new = tuple.__new__  # builds a named tuple without its Python-level __new__


def ranking(
    judged: list[Ranked | Judged],
    spans: list[tuple[Judged, int, int]],
    scores: list[float],
    stay: float,
    close: dict[int, float],
    situation: Reason,
) -> list[Ranked]:
    """Each offer as the ranking shows it: dropped, or scored by its best action against "don't send".
    An offer only channels the default table closes would carry, and that does not beat it there, shows
    what it would have scored were the table silent (`close`, by span), and the situation that closed
    them: a business sees what was close."""
    found: list[Ranked] = []
    at = iter(enumerate(spans))
    for verdict in judged:
        if not isinstance(verdict, Judged):
            found.append(verdict)
            continue
        span, (_, start, end) = next(at)
        score = max(scores[start:end]) if end > start else -math.inf
        if score >= stay:
            found.append(_new(Ranked, (verdict.offer.id, True, round(score, 3), verdict.reasons)))
        elif span in close:
            found.append(
                _new(Ranked, (verdict.offer.id, False, round(close[span], 3), (*verdict.reasons, situation)))
            )
        else:
            found.append(_new(Ranked, (verdict.offer.id, False, round(score, 3), (*verdict.reasons, BELOW))))
    return found


def as_if_open(
    scorer: Scorer,
    shared: dict[str, float],
    actions: list[Action],
    spans: list[tuple[Judged, int, int]],
    scores: list[float],
    stay: float,
) -> dict[int, float]:
    """What each offer that only the default table kept from every channel (and that did not beat "don't
    send" there) would have scored on those channels were the table silent, by span: scored again
    without the table's mark, for these offers only (most decisions have none)."""
    shut = [
        (span, start, end)
        for span, (verdict, start, end) in enumerate(spans)
        if end > start and all(unfit for _, unfit in verdict.channels) and max(scores[start:end]) < stay
    ]
    if not shut:
        return {}
    opened: list[Action] = []
    for _, start, end in shut:
        for action in actions[start:end]:
            own = {k: v for k, v in action.features.items() if k != features.DEFAULT_UNFIT}
            opened.append(action._replace(features=own))
    again = scorer.score(shared, [*opened, STAY])
    found: dict[int, float] = {}
    at = 0
    for span, start, end in shut:
        found[span] = max(again[at : at + end - start])
        at += end - start
    return found


def best_first(ranked: Ranked) -> tuple[bool, float]:
    return (False, -ranked.score) if ranked.eligible else (True, 0.0)
