"""What the decision engine decides on: plain data about one customer as one org may use it, and
`resolve`, which turns stored facts into the profile in force (declared beats observed and inferred).

Pure: no database, no web, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, NamedTuple

DECLARED, OBSERVED, INFERRED = "declared", "observed", "inferred"
PURCHASE_INTEREST = 0.6  # what buying for oneself says about an interest (observed: counts half in ranking)


class Fact(NamedTuple):
    """One datum about the customer as stored: `key` names it (`context`, `interest:travel`…)."""

    key: str
    value: Mapping[str, Any]
    provenance: str
    at: datetime
    valid_until: datetime | None = None
    shared: bool = True  # the asking org may see it (its own data, or declared data shared with it)


class Context(NamedTuple):
    persona: str | None
    intent: str | None
    situation: str | None
    topics: frozenset[str]
    do_not_disturb_until: datetime | None
    valid_until: datetime | None
    provenance: str
    # False once a declared context the asking org may not see has added to it (a situation, a hurried
    # intent, do-not-disturb): it still protects the customer, but tells the org nothing (no features)
    shared: bool = True


class Persona(NamedTuple):
    key: str
    label: str
    interests: frozenset[str]
    provenance: str


class Interest(NamedTuple):
    affinity: float
    provenance: str
    shared: bool = True


class ChannelPreference(NamedTuple):
    allowed: bool
    max_per_week: int | None


class LifeEvent(NamedTuple):
    key: str
    topics: frozenset[str]
    until: datetime
    shared: bool = True


@dataclass(frozen=True)
class Profile:
    """What the engine may use about the customer, declared values first."""

    context: Context | None = None
    personas: Mapping[str, Persona] = field(default_factory=dict)
    interests: Mapping[str, Interest] = field(default_factory=dict)
    channels: Mapping[str, ChannelPreference] = field(default_factory=dict)
    quiet_hours: tuple[time, time] | None = None
    time_zone: str = "UTC"
    locale: str | None = None
    country: str | None = None
    life_events: tuple[LifeEvent, ...] = ()
    novelty: float = 0.0
    # the customer's own word on which channels suit which situation ("commuting" → {"push"}); a situation
    # they said nothing about falls back on the hub's default table (gates.py), which evidence may revise
    situation_channels: Mapping[str, frozenset[str]] = field(default_factory=dict)
    provenance: Mapping[str, str] = field(default_factory=dict)  # field → provenance, for data_used


class Purchase(NamedTuple):
    item: str | None
    topics: frozenset[str]
    gift: bool
    at: datetime


class Contact(NamedTuple):
    """An earlier decision that allowed a message: counts toward the channel's weekly limit."""

    channel: str
    at: datetime


class Feedback(NamedTuple):
    offer_id: str
    kind: str  # accepted | dismissed | not-relevant | opted-out
    at: datetime


class ConsentState(NamedTuple):
    status: str  # granted | denied | withdrawn
    channels: frozenset[str]
    expires_at: datetime | None
    method: str


class Terms(NamedTuple):
    """An agreement the customer proffered and this org accepted (MyTerms): the purposes it leaves open."""

    agreement: str  # its id on the roster (`SD-BASE`)
    title: str
    purposes: frozenset[str]  # what a decision under it may serve; everything else is refused


class Offer(NamedTuple):
    id: str
    title: str
    topics: frozenset[str] = frozenset()
    personas: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()  # empty: any channel
    purpose: str | None = None  # None: the request's purpose
    sensitive: bool = False
    item: str | None = None
    situations: frozenset[str] = frozenset()  # empty: any situation
    countries: frozenset[str] = frozenset()  # empty: any country
    locales: tuple[str, ...] = ()  # empty: any language
    suppress_days: int = 30


@dataclass(frozen=True)
class Snapshot:
    known: bool
    erased: bool = False  # the customer was erased: nothing is sent, not even service messages
    profile: Profile = field(default_factory=Profile)
    consents: Mapping[str, ConsentState] = field(default_factory=dict)
    purchases: tuple[Purchase, ...] = ()
    contacts: tuple[Contact, ...] = ()
    feedback: tuple[Feedback, ...] = ()
    terms: tuple[Terms, ...] = ()  # accepted MyTerms agreements: hard gates


@dataclass(frozen=True)
class Request:
    purpose: str
    channels: tuple[str, ...]
    candidates: tuple[Offer, ...]


# ---- resolving stored facts into a profile -------------------------------------------------------

_PRECEDENCE = {INFERRED: 0, OBSERVED: 1, DECLARED: 2}


def resolve(facts: Iterable[Fact], purchases: Iterable[Purchase], at: datetime) -> Profile:
    """The profile in force at `at`: per key the declared value, else the observed, else the inferred
    (the latest of each); expired facts are absent.

    A declared fact the asking org may not see only protects the customer: it can add do-not-disturb,
    a situation or a hurried intent, quiet hours, a dislike, a channel limit, a channel unfit for a
    situation or a life event — never a persona, topic, liking, locale or country, nor a channel
    that fits a situation, and it never hides the org's own data.
    """
    live = [f for f in facts if f.valid_until is None or f.valid_until > at]
    chosen: dict[str, Fact] = {}
    for fact in sorted((f for f in live if f.shared), key=lambda f: (_PRECEDENCE[f.provenance], f.at)):
        chosen[fact.key] = fact
    p: dict[str, Any] = {
        "personas": {},
        "interests": {},
        "channels": {},
        "situation_channels": {},
        "life_events": [],
        "provenance": {},
    }
    for purchase in purchases:  # a gift says nothing about the buyer's own interests
        if not purchase.gift:
            for topic in purchase.topics:
                p["interests"][topic] = Interest(PURCHASE_INTEREST, OBSERVED)
    for key, fact in chosen.items():
        kind, _, name = key.partition(":")
        v = fact.value
        if kind == "context":
            p["context"] = Context(
                persona=v.get("persona"),
                intent=v.get("intent"),
                situation=v.get("situation"),
                topics=frozenset(v.get("topics", ())),
                do_not_disturb_until=_moment(v.get("do_not_disturb_until")),
                valid_until=fact.valid_until,
                provenance=fact.provenance,
            )
        elif kind == "persona":
            p["personas"][name] = Persona(
                name, v.get("label", name), frozenset(v.get("interests", ())), fact.provenance
            )
        elif kind == "interest":
            p["interests"][name] = Interest(float(v["affinity"]), fact.provenance)
        elif kind == "channel":
            p["channels"][name] = ChannelPreference(bool(v.get("allowed", True)), v.get("max_per_week"))
        elif kind == "situation_channels":
            p["situation_channels"][name] = frozenset(v.get("channels", ()))
        elif kind == "quiet_hours":
            p["quiet_hours"] = (time.fromisoformat(v["start"]), time.fromisoformat(v["end"]))
        elif kind in ("time_zone", "locale", "country", "novelty"):
            p[kind] = v["value"]
        elif kind == "life_event":
            if _until(v) <= at:
                continue
            p["life_events"].append(LifeEvent(name, frozenset(v.get("topics", ())), _until(v)))
        else:
            continue
        p["provenance"][kind] = fact.provenance
    for fact in sorted((f for f in live if not f.shared and f.provenance == DECLARED), key=lambda f: f.at):
        _protect(p, fact, at)
    p["life_events"] = tuple(p["life_events"])
    return Profile(**p)


_HURRIED = ("in-a-rush", "need-help")


def _protect(p: dict[str, Any], fact: Fact, at: datetime) -> None:
    """Add what an unshared declared fact says to leave the customer alone; nothing else of it."""
    kind, _, name = fact.key.partition(":")
    v = fact.value
    if kind == "context":
        base: Context | None = p.get("context")
        p["context"] = Context(
            persona=base.persona if base else None,
            intent=v.get("intent") if v.get("intent") in _HURRIED else (base.intent if base else None),
            situation=v.get("situation") or (base.situation if base else None),
            topics=base.topics if base else frozenset(),
            do_not_disturb_until=_moment(v.get("do_not_disturb_until"))
            or (base.do_not_disturb_until if base else None),
            valid_until=fact.valid_until,
            provenance=DECLARED,
            shared=False,
        )
    elif kind == "interest" and float(v["affinity"]) < 0:
        p["interests"][name] = Interest(float(v["affinity"]), DECLARED, shared=False)
    elif kind == "channel" and (not v.get("allowed", True) or v.get("max_per_week") is not None):
        p["channels"][name] = ChannelPreference(bool(v.get("allowed", True)), v.get("max_per_week"))
    elif kind == "situation_channels":
        # it may close a channel the org's view leaves open for the situation, never open one
        from harken.decisions.gates import FITTING_CHANNELS  # gates reads this module: imported late

        before = p["situation_channels"].get(name, FITTING_CHANNELS.get(name, frozenset()))
        p["situation_channels"][name] = before & frozenset(v.get("channels", ()))
    elif kind == "quiet_hours":
        p["quiet_hours"] = (time.fromisoformat(v["start"]), time.fromisoformat(v["end"]))
    elif kind == "time_zone":
        p["time_zone"] = v["value"]
    elif kind == "life_event" and _until(v) > at:
        p["life_events"].append(
            LifeEvent(name, frozenset(v.get("topics", ())), _until(fact.value), shared=False)
        )
    else:
        return
    p["provenance"][kind] = DECLARED


def _until(value: Any) -> datetime:
    until = _moment(value["until"])
    assert until is not None
    return until


def _moment(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
