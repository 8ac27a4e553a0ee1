"""Each candidate, filtered and matched: what the customer's profile means for this decision is worked
out once (`lens_for`), then every offer is judged against it — the first filter (a hard gate) that drops
it, or how it meets what the customer declared (its features, for a scorer) and the reasons for it.
Scoring is the scorer's (`rules.RulesScorer` gives today's relevance); the engine ranks.

Pure: no database, no web, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from harken.consent.purposes import CATALOGUE
from harken.decisions import features as f
from harken.decisions.gates import IN_TRANSIT, context_at, end_of_day_part, on_clock
from harken.decisions.reasons import ENGLISH, Code, Reason, reason
from harken.decisions.snapshot import DECLARED, OBSERVED, Context, LifeEvent, Offer, Persona, Snapshot


class Ranked(NamedTuple):
    offer_id: str
    eligible: bool
    score: float
    reasons: tuple[Reason, ...]


class Judged(NamedTuple):
    """An offer no hard gate dropped: how it meets what the customer declared, and the channels it may
    go by — (channel, closed only by the hub's default table)."""

    offer: Offer
    reasons: tuple[Reason, ...]
    matches: dict[str, float]
    sensitive: bool
    channels: tuple[tuple[str, bool], ...]


@dataclass(slots=True)
class Lens:
    """What the snapshot means for this decision, worked out once rather than once per candidate.
    Nothing changes it once built (not frozen, as it is built on every decision: a frozen dataclass sets
    each field through object.__setattr__; slots, as it is read some hundred times)."""

    snapshot: Snapshot
    purpose: str
    channels: tuple[str, ...]  # open now, by every gate and by the hub's default table
    soft: tuple[str, ...]  # open by every gate, closed only by the hub's default table for the situation
    fit: tuple[tuple[str, bool], ...]  # `channels`, each with False: not closed by the default table
    at: datetime
    contract: bool
    context: Context | None
    persona: Persona | None
    disliked: dict[str, bool]  # topic → shared, for declared affinities <= -0.5
    paused: dict[str, LifeEvent]  # topic → the life event pausing it
    bought: dict[str, datetime]  # item → last bought
    recent: dict[str, datetime]  # topic → end of the day part of a recent purchase for oneself
    held: frozenset[str]  # the topics of `disliked`, `paused` and `recent`
    set_aside: dict[str, datetime]  # offer id → last dismissed or found not relevant
    interests: dict[str, tuple[float, Code, str, bool]]  # topic → (affinity, the code citing it,
    # provenance, shared)
    granted: dict[str, frozenset[str] | None]  # purpose → channels its consent covers, None if not granted


def lens_for(
    snapshot: Snapshot,
    purpose: str,
    channels: list[str],
    at: datetime,
    contract: bool,
    soft: tuple[str, ...] = (),
) -> Lens:
    profile = snapshot.profile
    context = context_at(profile, at)
    recent: dict[str, datetime] = {}
    for purchase in snapshot.purchases:
        # A day part lasts at most 8 hours (7, and a clock set back): older purchases pause nothing now.
        if not purchase.gift and at - purchase.at < _DAY:
            end = end_of_day_part(profile, purchase.at)
            if at < end:
                for topic in purchase.topics:
                    recent[topic] = max(end, recent.get(topic, end))
    bought: dict[str, datetime] = {}
    for purchase in snapshot.purchases:
        if purchase.item and purchase.at > bought.get(purchase.item, _EPOCH):
            bought[purchase.item] = purchase.at
    set_aside: dict[str, datetime] = {}
    for feedback in snapshot.feedback:
        if feedback.kind in ("dismissed", "not-relevant") and feedback.at > set_aside.get(
            feedback.offer_id, _EPOCH
        ):
            set_aside[feedback.offer_id] = feedback.at
    disliked: dict[str, bool] = {}
    interests: dict[str, tuple[float, Code, str, bool]] = {}
    for topic, (affinity, provenance, shared) in profile.interests.items():
        if provenance == DECLARED:
            interests[topic] = (affinity, Code.relevance_interest, provenance, shared)
            if affinity <= -0.5:
                disliked[topic] = shared
        else:
            interests[topic] = (affinity, Code.relevance_inferred, provenance, shared)
    paused = {t: e for e in profile.life_events if at < e.until for t in sorted(e.topics)}
    return Lens(
        snapshot=snapshot,
        purpose=purpose,
        channels=tuple(channels),
        soft=soft,
        fit=tuple((c, False) for c in channels),
        at=at,
        contract=contract,
        context=context,
        persona=profile.personas.get(context.persona) if context and context.persona else None,
        disliked=disliked,
        paused=paused,
        bought=bought,
        recent=recent,
        held=frozenset(disliked).union(paused, recent),
        set_aside=set_aside,
        interests=interests,
        granted={
            p: (c.channels if c.status == "granted" and (c.expires_at is None or c.expires_at > at) else None)
            for p, c in snapshot.consents.items()
        },
    )


def offer_channels(offer: Offer, lens: Lens, among: tuple[str, ...] | None = None) -> list[str]:
    """The open channels (or those `among`) this offer may go by: its own, and those its purpose's
    consent covers."""
    usable = [
        c for c in (lens.channels if among is None else among) if not offer.channels or c in offer.channels
    ]
    offer_purpose = offer.purpose or lens.purpose
    if offer_purpose != lens.purpose:
        covered = lens.granted.get(offer_purpose)
        usable = [c for c in usable if covered is not None and c in covered]
    return usable


def judge(offer: Offer, lens: Lens, used: set[tuple[str, str]]) -> Ranked | Judged:
    """One candidate: the first filter that drops it, or how it meets what the customer declared."""
    # (fields read once into locals: a named tuple's field costs three times a local's)
    offer_id, channels = offer.id, offer.channels
    offer_purpose = offer.purpose or lens.purpose
    sensitive_purpose = _SENSITIVE[offer_purpose]
    sensitive = offer.sensitive or sensitive_purpose
    closed: Reason | None = None  # no open channel carries it: the last word, unless the default closed one
    # (an offer for any channel, on the request's purpose, may go by every open one)
    usable = offer_channels(offer, lens) if channels or offer_purpose != lens.purpose else None
    if channels and channels.isdisjoint(lens.channels):
        closed = reason(Code.channel_not_offered, channels=lens.channels)
    elif sensitive and not sensitive_purpose:
        return _drop(offer_id, reason(Code.sensitive_no_explicit_consent, purpose=offer_purpose))
    elif usable == []:
        code = Code.sensitive_no_explicit_consent if sensitive else Code.consent_offer_purpose
        closed = reason(code, purpose=offer_purpose)
    if lens.contract:  # a service message (a gate change, a receipt) is owed, whatever the customer likes
        if closed is not None:
            return _drop(offer_id, closed)
        return _new(Ranked, (offer_id, True, 0.0, (reason(Code.consent_not_required),)))
    spare = offer_channels(offer, lens, lens.soft) if lens.soft else []
    if closed is not None:
        if not spare or (sensitive and not sensitive_purpose):
            return _drop(offer_id, closed)
        # Only channels the default table closes carry it: judged as usual, and ranked with what it would
        # score were the table silent (engine._as_if_open). Dropped by a filter, it shows the closed channels
        # as before, and what that filter read stays out of data_used.
        read: set[tuple[str, str]] = set()
        judged = _judge(offer, lens, read, sensitive, tuple((c, True) for c in spare))
        if isinstance(judged, Ranked):
            return _drop(offer_id, closed)
        used |= read
        return judged
    fit = lens.fit if usable is None else tuple((c, False) for c in usable)
    return _judge(offer, lens, used, sensitive, fit + tuple((c, True) for c in spare) if spare else fit)


def _judge(
    offer: Offer,
    lens: Lens,
    used: set[tuple[str, str]],
    sensitive: bool,
    channels: tuple[tuple[str, bool], ...],
) -> Ranked | Judged:
    offer_id, topics, item = offer.id, offer.topics, offer.item
    context, at = lens.context, lens.at
    situations = offer.situations
    if situations and context is not None:
        situation = context.situation
        if situation and situation not in situations:
            used.add(("context.situation", context.provenance))
            code = Code.context_in_transit if situation in IN_TRANSIT else Code.context_situation
            return _drop(offer_id, reason(code, situation=situation, channels=()))  # (): this offer
    if not topics.isdisjoint(lens.held):  # one test for the three filters on topics, then each
        dropped = _held(offer, lens, used)
        if dropped is not None:
            return dropped
    bought = lens.bought
    if item in bought and at - bought[item] < timedelta(days=offer.suppress_days):
        used.add(("events.purchases", OBSERVED))
        return _drop(offer_id, reason(Code.purchase_already_bought, item=item))
    if lens.recent and not topics.isdisjoint(lens.recent):
        used.add(("events.purchases", OBSERVED))
        return _drop(offer_id, reason(Code.purchase_recent_topic, topic=min(topics & lens.recent.keys())))
    set_aside = lens.set_aside
    if offer_id in set_aside and at - set_aside[offer_id] < timedelta(days=offer.suppress_days):
        return _drop(offer_id, reason(Code.feedback_suppressed))
    countries, locales = offer.countries, offer.locales
    if countries or locales:
        profile = lens.snapshot.profile
        if countries:
            if profile.country is None:
                return _drop(offer_id, reason(Code.country_unknown))
            used.add(("preferences.country", profile.provenance.get("country", DECLARED)))
            if profile.country.upper() not in countries:
                return _drop(offer_id, reason(Code.country_mismatch, country=profile.country.upper()))
        if locales and profile.locale is not None:
            used.add(("preferences.locale", profile.provenance.get("locale", DECLARED)))
            if not any(_same_language(profile.locale, locale) for locale in locales):
                return _drop(offer_id, reason(Code.locale_mismatch, locale=profile.locale))
    matches, why = _matches(offer, lens, sensitive, used)
    if sensitive:
        why.append(reason(Code.sensitive_declared_only))
    return _new(Judged, (offer, tuple(why), matches, sensitive, channels))


def _held(offer: Offer, lens: Lens, used: set[tuple[str, str]]) -> Ranked | None:
    """A topic the customer dislikes or paused drops the offer."""
    topics = offer.topics
    if lens.disliked and not topics.isdisjoint(lens.disliked):
        used.add(("preferences.interests", DECLARED))
        topic = min(topics & lens.disliked.keys())
        shared = lens.disliked[topic]
        return _drop(offer.id, reason(Code.topic_disliked, topic=topic if shared else None))  # None: unshared
    if lens.paused and not topics.isdisjoint(lens.paused):
        paused = topics & lens.paused.keys()
        used.add(("preferences.life_events", DECLARED))
        event = lens.paused[min(paused)]
        if not event.shared:  # the customer's own, not the org's to know
            return _drop(offer.id, reason(Code.life_event_suppressed, topic=None, day=None))
        day = on_clock(event.until, lens.snapshot.profile).date().isoformat()
        return _drop(offer.id, reason(Code.life_event_suppressed, topic=min(paused), day=day))
    return None


def _drop(offer_id: str, why: Reason) -> Ranked:
    return _new(Ranked, (offer_id, False, 0.0, (why,)))


def _matches(
    offer: Offer, lens: Lens, declared_only: bool, used: set[tuple[str, str]]
) -> tuple[dict[str, float], list[Reason]]:
    """Declared context and persona first, then interests by provenance, then novelty: the features a
    scorer weighs. The reasons come in the order they are cited: context, persona, interests, novelty,
    another persona."""
    matches: dict[str, float] = {}
    signal = False
    first: list[Reason] = []  # context, persona
    cited: list[Reason] = []  # interests
    other: Reason | None = None  # another persona than the active one: cited last
    context, topics, personas = lens.context, offer.topics, offer.personas
    if context is not None and (not declared_only or context.provenance == DECLARED):
        active, provenance = context.persona, context.provenance
        if context.topics and not topics.isdisjoint(context.topics):
            hit = topics & context.topics
            used.add(("context.topics", provenance))
            matches[f.CONTEXT], signal = 1.0, True
            first.append(reason(Code.relevance_context, intent=context.intent, topics=tuple(sorted(hit))))
        persona = lens.persona
        if active and personas:
            used.add(("context.persona", provenance))
            label = persona.label if persona else active
            if active in personas:
                matches[f.PERSONA], signal = 1.0, True
                first.append(reason(Code.relevance_persona, persona=label))
            else:
                matches[f.OTHER_PERSONA] = 1.0
                other = reason(Code.relevance_other_persona, persona=label)
        fits = not personas or active in personas
        if persona is not None and fits and not topics.isdisjoint(persona.interests):
            used.add(("personas", persona.provenance))
            matches[f.PERSONA_INTERESTS], signal = 1.0, True
            if not first or first[-1].code != Code.relevance_persona:
                first.append(reason(Code.relevance_persona, persona=persona.label))
    interests = lens.interests
    for topic in topics:
        weighted = interests.get(topic)
        if weighted is None:
            continue
        affinity, code, provenance, shared = weighted
        if declared_only and provenance != DECLARED:
            continue
        signal = True
        used.add(("preferences.interests", provenance))
        if affinity > 0 and shared:
            cited.append(reason(code, topic=topic))
        liked, disliked = f.LIKES[provenance] if shared else _WITHHELD
        if liked is not None and (liked not in matches or affinity > matches[liked]):
            matches[liked] = affinity
        if disliked not in matches or affinity < matches[disliked]:
            matches[disliked] = affinity
    if len(cited) > 1:
        cited.sort(key=_in_order)
    why = first + cited if first else cited
    profile = lens.snapshot.profile
    if not signal and profile.novelty > 0 and not declared_only:
        used.add(("preferences.novelty", profile.provenance.get("novelty", DECLARED)))
        matches[f.SURPRISE] = float(profile.novelty)
        why.append(reason(Code.relevance_novelty))
    if other is not None:
        why.append(other)
    return matches, why


_WITHHELD: tuple[str | None, str] = (None, f.DISLIKED_WITHHELD)


POSITIVE = frozenset(
    {
        Code.relevance_context,
        Code.relevance_persona,
        Code.relevance_interest,
        Code.relevance_inferred,
        Code.relevance_novelty,
    }
)
_SENSITIVE = {key: purpose.sensitive for key, purpose in CATALOGUE.items()}


def _in_order(reason: Reason) -> tuple[int, str]:
    """Interests in the order they are cited: declared before the others, then as their English
    sentences sort (as they always have: sentences of one kind differ only by the topic)."""
    rank, after_topic = _INTERESTS[reason.code]
    return rank, reason.params["topic"] + after_topic


_INTERESTS = {  # the code citing an interest → (its rank, what its English sentence says after the topic)
    code: (rank, ENGLISH[code].partition("{topic}")[2])
    for rank, code in enumerate((Code.relevance_interest, Code.relevance_inferred))
}
_DAY = timedelta(days=1)
# Builds the named tuples above without their Python-level __new__ (or _make's length check): a decision
# builds some forty of them.
_new = tuple.__new__
_EPOCH = datetime.min.replace(tzinfo=UTC)


def _same_language(customer: str, offered: str) -> bool:
    """Same language, and the same region where both name one (fr-CA fits fr and fr-CA, not fr-FR)."""
    a, b = customer.lower().replace("_", "-").split("-"), offered.lower().replace("_", "-").split("-")
    return a[0] == b[0] and (len(a) == 1 or len(b) == 1 or a[1] == b[1])
