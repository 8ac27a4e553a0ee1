"""A fixed corpus of varied customers and requests, and the engine's answers to them as plain JSON.

`tests/decisions/answers.json` holds a digest of each answer as the engine gave it when the corpus was
made: a change that makes the engine faster, or carries its sentences differently, must not change one
of them. Regenerate it (only when an answer is meant to change, and say so in the commit) with
`uv run python -m tests.decisions.corpus > tests/decisions/answers.json`.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from harken.decisions.engine import (
    DECLARED,
    INFERRED,
    OBSERVED,
    ConsentState,
    Contact,
    Decision,
    Fact,
    Feedback,
    Offer,
    Purchase,
    Request,
    Snapshot,
    decide,
    resolve,
)

CASES = 1500
START = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
TOPICS = ("travel", "skiing", "books", "toys", "wine", "golf", "board games", "board", "jazz", "yoga")
PERSONAS = ("parent", "runner", "skier")
CHANNELS = ("email", "sms", "push", "phone", "post", "in-app")
PURPOSES = ("marketing",) * 6 + (
    "personalised-offers",
    "personalised-offers",
    "service",
    "health-offers",
    "partner-sharing",
)
ZONES = ("America/Toronto", "Europe/Berlin", "Asia/Kolkata", "UTC", "Mars/Olympus_Mons")
INTENTS = (None, "browsing", "buying", "researching", "in-a-rush", "need-help")
SITUATIONS = (None, "home", "work", "commuting", "travelling", "out")
PROVENANCES = (DECLARED, DECLARED, OBSERVED, INFERRED)


def _some(rng: random.Random, pool: tuple[Any, ...], most: int) -> list[Any]:
    return rng.sample(pool, rng.randint(0, min(most, len(pool))))


def _facts(rng: random.Random, at: datetime) -> list[Fact]:
    found: list[Fact] = []

    def fact(key: str, value: dict[str, Any], provenance: str = DECLARED, **extra: Any) -> None:
        since = at - timedelta(hours=rng.randint(1, 400))
        shared = rng.random() > 0.15
        found.append(Fact(key, value, provenance, since, extra.get("valid_until"), shared))

    if rng.random() < 0.7:
        dnd = at + timedelta(minutes=rng.randint(-600, 3000)) if rng.random() < 0.2 else None
        fact(
            "context",
            {
                "persona": rng.choice((None, *PERSONAS)),
                "intent": rng.choice(INTENTS),
                "situation": rng.choice(SITUATIONS),
                "topics": _some(rng, TOPICS, 3),
                "do_not_disturb_until": dnd.isoformat() if dnd else None,
            },
            rng.choice(PROVENANCES),
            valid_until=at + timedelta(hours=rng.randint(-5, 60)) if rng.random() < 0.8 else None,
        )
    for persona in _some(rng, PERSONAS, 3):
        fact(f"persona:{persona}", {"label": persona.title(), "interests": _some(rng, TOPICS, 3)})
    for topic in _some(rng, TOPICS, 6):
        fact(
            f"interest:{topic}",
            {"affinity": rng.choice((-1.0, -0.6, -0.2, 0.3, 0.6, 1.0))},
            rng.choice(PROVENANCES),
        )
    for channel in _some(rng, CHANNELS, 3):
        fact(
            f"channel:{channel}",
            {"allowed": rng.random() > 0.2, "max_per_week": rng.choice((None, 1, 2, 2, 5))},
        )
    if rng.random() < 0.5:
        start, end = rng.choice(
            (("22:00", "07:00"), ("12:00", "13:30"), ("00:00", "06:00"), ("09:00", "17:00"))
        )
        fact("quiet_hours", {"start": start, "end": end})
    fact("time_zone", {"value": rng.choice(ZONES)})
    if rng.random() < 0.6:
        fact("locale", {"value": rng.choice(("en", "en-CA", "fr-CA", "de", "fr-FR"))})
    if rng.random() < 0.6:
        fact("country", {"value": rng.choice(("ca", "DE", "FR", "US"))})
    if rng.random() < 0.5:
        fact("novelty", {"value": rng.choice((0.0, 0.3, 0.8))})
    if rng.random() < 0.3:
        until = at + timedelta(days=rng.randint(-3, 40))
        fact("life_event:loss", {"topics": _some(rng, TOPICS, 2), "until": until.isoformat()})
    return found


def _offer(rng: random.Random, n: int) -> Offer:
    return Offer(
        id=f"o{n}",
        title=f"Offer {n}",
        topics=frozenset(_some(rng, TOPICS, 2)),
        personas=frozenset(_some(rng, PERSONAS, 1) if rng.random() < 0.4 else ()),
        channels=frozenset(_some(rng, CHANNELS, 2) if rng.random() < 0.3 else ()),
        purpose=rng.choice((None,) * 6 + ("personalised-offers", "health-offers")),
        sensitive=rng.random() < 0.05,
        item=rng.choice((None, None, "item-a", "item-b")),
        situations=frozenset(_some(rng, SITUATIONS[1:], 2) if rng.random() < 0.2 else ()),
        countries=frozenset(_some(rng, ("CA", "DE", "US"), 2) if rng.random() < 0.2 else ()),
        locales=tuple(_some(rng, ("en", "fr-CA", "de-DE"), 2) if rng.random() < 0.2 else ()),
        suppress_days=rng.choice((1, 30)),
    )


def case(seed: int) -> tuple[Snapshot, Request, datetime]:
    rng = random.Random(seed)
    at = START + timedelta(minutes=rng.randint(0, 7 * 24 * 60))
    offers = tuple(_offer(rng, n) for n in range(rng.randint(0, 8)))
    request = Request(rng.choice(PURPOSES), tuple(_some(rng, CHANNELS[:3], 3) or ["email"]), offers)
    if rng.random() < 0.05:
        return Snapshot(known=rng.random() < 0.5, erased=True), request, at
    if rng.random() < 0.05:
        return Snapshot(known=False), request, at
    purchases = tuple(
        Purchase(
            rng.choice((None, "item-a", "item-b")),
            frozenset(_some(rng, TOPICS, 2)),
            rng.random() < 0.3,
            at - timedelta(minutes=rng.choice((rng.randint(0, 300), rng.randint(0, 60000)))),
        )
        for _ in range(rng.randint(0, 4))
    )
    consents = {
        purpose: ConsentState(
            rng.choice(("granted",) * 8 + ("denied", "withdrawn")),
            frozenset(rng.sample(CHANNELS, rng.randint(2, 6))),
            at + timedelta(days=rng.randint(-5, 50)) if rng.random() < 0.2 else None,
            rng.choice(("api",) * 5 + ("gpc",)),
        )
        for purpose in ("marketing", "personalised-offers", "health-offers", "partner-sharing")
        if rng.random() < 0.8
    }
    snapshot = Snapshot(
        known=True,
        profile=resolve(_facts(rng, at), purchases, at),
        consents=consents,
        purchases=purchases,
        contacts=tuple(
            Contact(rng.choice(CHANNELS), at - timedelta(hours=rng.randint(1, 200)))
            for _ in range(rng.randint(0, 6))
        ),
        feedback=tuple(
            Feedback(
                f"o{rng.randint(0, 7)}",
                rng.choice(("dismissed", "not-relevant", "accepted")),
                at - timedelta(hours=rng.randint(1, 800)),
            )
            for _ in range(rng.randint(0, 3))
        ),
    )
    return snapshot, request, at


def answer(decision: Decision) -> dict[str, Any]:
    """Everything a caller sees of a decision, in English, as JSON."""
    return {
        "allowed": decision.allowed,
        "channel": decision.channel,
        "offer": decision.offer,
        "ranking": [
            [r.offer_id, r.eligible, r.score, [[str(x.code), x.message] for x in r.reasons]]
            for r in decision.ranking
        ],
        "reasons": [[str(r.code), r.message] for r in decision.reasons],
        "explanation": decision.explanation,
        "data_used": [list(d) for d in decision.data_used],
        "retry_after": decision.retry_after.isoformat() if decision.retry_after else None,
    }


def digest(decision: Decision) -> str:
    text = json.dumps(answer(decision), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def answers() -> Iterator[str]:
    for seed in range(CASES):
        snapshot, request, at = case(seed)
        yield digest(decide(snapshot, request, at))


if __name__ == "__main__":
    sys.stdout.write(json.dumps(list(answers()), indent=0) + "\n")
