"""`python -m bench.engine`: what the pure decision engine costs, without database or HTTP.

One realistic customer (a context, two personas, interests declared, observed and inferred, channel
limits, quiet hours, a life event, purchases, feedback, consents, recent contacts) and 20 candidate
offers; prints p50 and p99 of `snapshot.resolve` (stored facts into the profile in force) and of
`engine.decide`, with the rules scorer, with a learned-like linear scorer (a weight for every feature
of an action, and for every feature of the moment crossed with the channel, as a contextual bandit's
linear model scores) and with a real Vowpal Wabbit model, the scorer the hub serves. `--profile` prints where `decide`'s time goes instead (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from harken.decisions.engine import (
    DECLARED,
    INFERRED,
    OBSERVED,
    ConsentState,
    Contact,
    Fact,
    Feedback,
    Offer,
    Purchase,
    Request,
    Snapshot,
    decide,
    resolve,
)
from harken.decisions.scoring import DONT_SEND, Action, Features
from harken.learning import vw
from harken.learning.vw import LearnedScorer

# Tuesday 3 November 2026, 10:00 in Toronto: outside quiet hours, so every candidate is judged.
AT = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def facts(at: datetime = AT) -> list[Fact]:
    """What one customer told the hub, what the org observed and what it inferred."""
    later = at + 2 * DAY
    told = [
        Fact(
            "context",
            {"persona": "parent", "intent": "buying", "situation": "home", "topics": ["toys", "books"]},
            DECLARED,
            at - timedelta(hours=1),
            later,
        ),
        Fact(
            "persona:parent",
            {"label": "Parent", "interests": ["toys", "books", "travel"]},
            DECLARED,
            at - 9 * DAY,
        ),
        Fact(
            "persona:runner", {"label": "Runner", "interests": ["running", "shoes"]}, DECLARED, at - 9 * DAY
        ),
        Fact("channel:email", {"allowed": True, "max_per_week": 5}, DECLARED, at - 30 * DAY),
        Fact("channel:sms", {"allowed": True, "max_per_week": 2}, DECLARED, at - 30 * DAY),
        Fact("channel:phone", {"allowed": False}, DECLARED, at - 30 * DAY),
        Fact("quiet_hours", {"start": "22:00", "end": "07:00"}, DECLARED, at - 30 * DAY),
        Fact("time_zone", {"value": "America/Toronto"}, DECLARED, at - 30 * DAY),
        Fact("locale", {"value": "en-CA"}, DECLARED, at - 30 * DAY),
        Fact("country", {"value": "CA"}, DECLARED, at - 30 * DAY),
        Fact("novelty", {"value": 0.3}, DECLARED, at - 30 * DAY),
        Fact(
            "life_event:bereavement",
            {"topics": ["flowers"], "until": (at + 20 * DAY).isoformat()},
            DECLARED,
            at,
        ),
        Fact("interest:golf", {"affinity": -1.0}, DECLARED, at - 20 * DAY),
        Fact("interest:wine", {"affinity": -0.6}, DECLARED, at - 20 * DAY, shared=False),
        Fact("context", {"do_not_disturb_until": None}, DECLARED, at - DAY, at - DAY / 2, shared=False),
    ]
    liked = ["travel", "books", "cooking", "hiking", "jazz", "photography", "gardening", "cycling"]
    told += [
        Fact(f"interest:{t}", {"affinity": 0.9 - 0.1 * i}, DECLARED, at - (10 + i) * DAY)
        for i, t in enumerate(liked)
    ]
    told += [
        Fact(f"interest:{t}", {"affinity": 0.5}, OBSERVED, at - 3 * DAY) for t in ("coffee", "tea", "chess")
    ]
    told += [
        Fact(f"interest:{t}", {"affinity": 0.4}, INFERRED, at - 2 * DAY) for t in ("yoga", "camping", "jazz")
    ]
    return told


def purchases(at: datetime = AT) -> list[Purchase]:
    return [
        Purchase("boots-42", frozenset({"hiking", "shoes"}), False, at - 12 * DAY),
        Purchase("novel-7", frozenset({"books"}), True, at - 5 * DAY),
        Purchase("espresso", frozenset({"coffee"}), False, at - timedelta(hours=2)),
        Purchase("lego-city", frozenset({"toys"}), True, at - 40 * DAY),
        Purchase("tent-2p", frozenset({"camping"}), False, at - 60 * DAY),
        Purchase(None, frozenset({"travel"}), False, at - 90 * DAY),
    ]


def snapshot(at: datetime = AT) -> Snapshot:
    bought = purchases(at)
    return Snapshot(
        known=True,
        profile=resolve(facts(at), bought, at),
        consents={
            "marketing": ConsentState(
                "granted", frozenset({"email", "sms", "push"}), None, "preference-centre"
            ),
            "personalised-offers": ConsentState("granted", frozenset({"email"}), at + 300 * DAY, "api"),
            "partner-sharing": ConsentState("denied", frozenset(), None, "api"),
            "health-offers": ConsentState("granted", frozenset({"email"}), None, "preference-centre"),
        },
        purchases=tuple(bought),
        contacts=(
            Contact("email", at - 2 * DAY),
            Contact("email", at - 4 * DAY),
            Contact("sms", at - 3 * DAY),
        ),
        feedback=(
            Feedback("cruise", "dismissed", at - 10 * DAY),
            Feedback("museum", "not-relevant", at - 50 * DAY),
            Feedback("trip", "accepted", at - 20 * DAY),
        ),
    )


def offers() -> tuple[Offer, ...]:
    """20 candidates: most pass every filter and are ranked, some are dropped by one of them."""
    f = frozenset
    return (
        Offer("trip", "A weekend in Québec", topics=f({"travel"}), personas=f({"parent"})),
        Offer("lego", "Lego sale", topics=f({"toys"}), personas=f({"parent"}), countries=f({"CA", "US"})),
        Offer("picture-books", "Picture books", topics=f({"books", "toys"}), locales=("en", "fr-CA")),
        Offer("cookbook", "A cookbook", topics=f({"cooking", "books"})),
        Offer("trail", "Trail guides", topics=f({"hiking"}), channels=f({"email"})),
        Offer("jazz-night", "Jazz night", topics=f({"jazz"}), situations=f({"home", "out"})),
        Offer("camera", "A new lens", topics=f({"photography"}), item="lens-50"),
        Offer("seeds", "Seeds for spring", topics=f({"gardening"})),
        Offer("bike", "Bike service", topics=f({"cycling"}), personas=f({"runner"})),
        Offer("shoes", "Running shoes", topics=f({"running", "shoes"}), personas=f({"runner"})),
        Offer("golf", "Golf lessons", topics=f({"golf"})),
        Offer("wine", "Wine tasting", topics=f({"wine"})),
        Offer("flowers", "Flowers", topics=f({"flowers"})),
        Offer("boots", "Hiking boots", topics=f({"hiking"}), item="boots-42"),
        Offer("beans", "Coffee beans", topics=f({"coffee"})),
        Offer("cruise", "A cruise", topics=f({"travel"})),
        Offer("yoga", "Yoga retreat", topics=f({"yoga"}), purpose="health-offers", sensitive=True),
        Offer("chess", "Chess club", topics=f({"chess"}), purpose="personalised-offers"),
        Offer("puzzle", "Puzzles", topics=f({"puzzles"})),
        Offer("french", "Livres en français", topics=f({"books"}), locales=("fr-FR",)),
    )


def request() -> Request:
    return Request("marketing", ("email", "sms", "push"), offers())


class Linear:
    """A learned-like scorer: w·x over an action's features, plus the moment's features crossed with the
    channel; "don't send" scores its own weight. Scores computed once per distinct features and channel."""

    name = "linear-bench"

    def __init__(self, weights: dict[str, float]) -> None:
        self.weights = weights

    def score(self, shared: Features, actions: Sequence[Action]) -> list[float]:
        w = self.weights
        crossed: dict[str | None, float] = {}
        known: dict[int, float] = {}
        found = []
        for action in actions:
            if action.offer_id == DONT_SEND:
                found.append(w.get(DONT_SEND, 0.0))
                continue
            channel = action.channel
            if channel not in crossed:
                crossed[channel] = sum(w.get(f"{k}&channel={channel}", 0.0) * v for k, v in shared.items())
            own = known.get(id(action.features))
            if own is None:
                own = known[id(action.features)] = sum(w.get(k, 0.0) * v for k, v in action.features.items())
            found.append(own + crossed[channel])
        return found


def learned_like(person: Snapshot, asked: Request) -> Linear:
    """Weights for every feature this decision shows (and its moment crossed with every channel), drawn
    at random: what a model trained on an org's log holds, in size if not in value."""
    rng = random.Random(16)
    probe = decide(person, asked, AT).choice
    assert probe is not None
    names = {k for a in probe.actions for k in a.features}
    names |= {f"{k}&channel={c}" for k in probe.shared for c in ("email", "sms", "push")}
    weights = {name: rng.uniform(-1, 1) for name in sorted(names)}
    weights[DONT_SEND] = 0.0
    return Linear(weights)


def trained(person: Snapshot, asked: Request, examples: int = 2000) -> LearnedScorer:
    """A real Vowpal Wabbit model (the org's learned scorer, `learning.vw`) trained on `examples` logged
    choices of this decision, each action taken uniformly at random and rewarded at random: the model
    the hub would serve, with the features and weights of this customer's decisions."""
    rng = random.Random(16)
    probe = decide(person, asked, AT).choice
    assert probe is not None
    uniform = tuple([1.0 / len(probe.actions)] * len(probe.actions))
    logged = [
        vw.Example(
            replace(probe, chosen=(chosen := rng.randrange(len(probe.actions))), probabilities=uniform),
            1.0 if rng.random() < 0.1 + 0.02 * (chosen % 10) else 0.0,
        )
        for _ in range(examples)
    ]
    return LearnedScorer("bench", 1, vw.learn(None, logged))


def timings(call: Callable[[], Any], runs: int) -> list[float]:
    """Microseconds per call, one figure per run, after a warm-up."""
    for _ in range(min(runs, 200)):
        call()
    found = []
    clock = time.perf_counter_ns
    for _ in range(runs):
        start = clock()
        call()
        found.append((clock() - start) / 1000)
    return found


def summary(name: str, figures: list[float]) -> str:
    ordered = sorted(figures)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{name:<18} p50 {statistics.median(ordered):8.1f} µs   p99 {p99:8.1f} µs   ({len(ordered):,} runs)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__)
    parser.add_argument("--runs", type=int, default=5000, help="calls measured per figure (default 5000)")
    parser.add_argument("--profile", action="store_true", help="print where decide's time goes instead")
    args = parser.parse_args(argv)
    person, asked, stored, bought = snapshot(), request(), facts(), purchases()
    decision = decide(person, asked, AT)
    assert decision.allowed, decision.reasons  # the realistic path: every candidate judged and ranked
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.runs):
            decide(person, asked, AT)
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)
        return 0
    print(f"python {sys.version.split()[0]}, 20 candidates, answer: {decision.offer} by {decision.channel}")
    print(summary("snapshot.resolve", timings(lambda: resolve(stored, bought, AT), args.runs)))
    print(summary("engine.decide", timings(lambda: decide(person, asked, AT), args.runs)))
    linear = learned_like(person, asked)
    learned = decide(person, asked, AT, scorer=linear)
    assert learned.choice is not None
    print(
        f"learned-like: {len(learned.choice.actions)} actions, answer: {learned.offer} by {learned.channel}"
    )
    print(summary("decide, linear", timings(lambda: decide(person, asked, AT, scorer=linear), args.runs)))
    model = trained(person, asked)
    served = decide(person, asked, AT, scorer=model)
    print(f"Vowpal Wabbit: {model.name}, answer: {served.offer} by {served.channel}")
    print(summary("decide, VW model", timings(lambda: decide(person, asked, AT, scorer=model), args.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
