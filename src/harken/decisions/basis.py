"""What the engine may weigh for one org about one person, loaded once and valid at any moment: a
decision's snapshot is `basis.at(moment, contacts)`. A process keeps bases in memory (`memory.Memory`)
for as long as the person's change counter says they hold.

Pure: plain data in, a snapshot out; no database, no web, no clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from harken.decisions import snapshot as engine

# How far back a decision looks (kept here so the loader reads what any moment it serves may need).
PURCHASE_MEMORY = timedelta(days=365)
FEEDBACK_MEMORY = timedelta(days=365)


@dataclass(frozen=True)
class Basis:
    stamp: tuple[uuid.UUID, int]  # the person's root subject and its change counter, when read
    people: tuple[uuid.UUID, ...]  # the person's subjects (contacts count across all of them)
    since: datetime  # the earliest moment this basis may answer for: what is older was not read
    facts: tuple[engine.Fact, ...]
    purchases: tuple[engine.Purchase, ...]
    dismissed: tuple[engine.Feedback, ...]  # offers dismissed at this org (events)
    feedback: tuple[engine.Feedback, ...]  # feedback on this org's decisions
    consents: Mapping[str, engine.ConsentState]
    lends: bool  # a share lends this org something: decisions take the full path, which records its use
    terms: tuple[engine.Terms, ...] = ()  # MyTerms the org accepted from the person: hard gates

    @property
    def limited(self) -> bool:
        """The person limited how often some channel may be used (decisions about them take turns)."""
        return any(f.key.startswith("channel:") and f.value.get("max_per_week") for f in self.facts)

    def serves(self, at: datetime) -> bool:
        return at >= self.since

    def at(self, at: datetime, contacts: Contacts = lambda _profile: ()) -> engine.Snapshot:
        """The snapshot the engine decides on at `at`; `contacts` reads the contacts that count toward
        the limits of the profile in force (they change with every decision: never kept)."""
        purchases = tuple(p for p in self.purchases if p.at > at - PURCHASE_MEMORY)
        dismissed = tuple(d for d in self.dismissed if d.at > at - PURCHASE_MEMORY)
        feedback = tuple(f for f in self.feedback if f.at > at - FEEDBACK_MEMORY)
        profile = engine.resolve(self.facts, purchases, at)
        return engine.Snapshot(
            known=True,
            profile=profile,
            consents=self.consents,
            purchases=purchases,
            contacts=contacts(profile),
            feedback=dismissed + feedback,
            terms=self.terms,
        )


Contacts = Callable[[engine.Profile], tuple[engine.Contact, ...]]
