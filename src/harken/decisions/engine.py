"""The decision engine: `decide(snapshot, request, at)`, a pure function over plain data.

No database, no web, no clock: the service builds the snapshot and passes the time in. Gates run in
order — customer known, consent, context, frequency — then every candidate is filtered and ranked by
what the customer declared. Nothing relevant enough, or no open channel, means "don't send".

Two rules shape what the engine may use:
- declared beats observed and inferred, always (`resolve` keeps the declared value of every key);
- protection flows everywhere, information only where shared: a declared datum the customer did not
  share with the asking org may still stop a message (do-not-disturb, quiet hours, a dislike, a life
  event), but never selects or explains one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from harken.consent.purposes import CATALOGUE, LegalBasis
from harken.decisions.reasons import MESSAGES, Code
from harken.decisions.snapshot import (
    DECLARED,
    INFERRED,
    OBSERVED,
    ChannelPreference,
    ConsentState,
    Contact,
    Context,
    Fact,
    Feedback,
    Interest,
    LifeEvent,
    Offer,
    Persona,
    Profile,
    Purchase,
    Request,
    Snapshot,
    resolve,
)

__all__ = [  # decide, and the plain data it works on (defined in snapshot.py)
    "DECLARED",
    "INFERRED",
    "OBSERVED",
    "ChannelPreference",
    "ConsentState",
    "Contact",
    "Context",
    "Decision",
    "Fact",
    "Feedback",
    "Interest",
    "LifeEvent",
    "Offer",
    "Persona",
    "Profile",
    "Purchase",
    "Ranked",
    "Reason",
    "Request",
    "Snapshot",
    "decide",
    "resolve",
]

RELEVANCE_FLOOR = 0.25
WEEK = timedelta(days=7)
HORIZON = timedelta(days=31)  # how far ahead retry_after looks (a context lasts at most 30 days)
# Channels that interrupt: not while the customer is in transit, and phone never at work.
FITTING_CHANNELS: dict[str, frozenset[str]] = {
    "home": frozenset({"email", "sms", "push", "phone", "post", "in-app"}),
    "work": frozenset({"email", "sms", "push", "post", "in-app"}),
    "commuting": frozenset({"email", "post"}),
    "travelling": frozenset({"email", "post", "in-app"}),
    "out": frozenset({"email", "post", "push", "in-app"}),
}
IN_TRANSIT = frozenset({"commuting", "travelling"})
# Where a day's parts end (local hour): a purchase pauses its topics until the end of its part.
DAY_PARTS = (5, 12, 17, 22, 29)


# ---- the answer ----------------------------------------------------------------------------------


class Reason(NamedTuple):
    code: Code
    message: str


class Ranked(NamedTuple):
    offer_id: str
    eligible: bool
    score: float
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    channel: str | None
    offer: str | None
    ranking: tuple[Ranked, ...]
    reasons: tuple[Reason, ...]
    explanation: str
    data_used: tuple[tuple[str, str], ...]  # (field, provenance)
    retry_after: datetime | None


# ---- deciding ------------------------------------------------------------------------------------


def decide(snapshot: Snapshot, request: Request, at: datetime) -> Decision:
    """Whether to contact the customer now, on which channel, with which candidate — and why."""
    used: set[tuple[str, str]] = set()
    if not snapshot.known:
        return _deny([_reason(Code.subject_unknown)], (), used, None, _zone(snapshot.profile))
    profile = snapshot.profile
    purpose = CATALOGUE[request.purpose]
    contract = purpose.legal_basis == LegalBasis.contract

    reasons: list[Reason] = []
    if contract:
        channels = list(request.channels)
        reasons.append(_reason(Code.consent_not_required))
    else:
        channels, refusal = _consented_channels(snapshot, request.purpose, request.channels, at)
        used.add((f"consent.{request.purpose}", "declared"))
        if refusal is not None:
            return _deny([refusal], (), used, None, _zone(profile))
    closed = [c for c in channels if not profile.channels.get(c, ChannelPreference(True, None)).allowed]
    if closed:
        used.add(("preferences.channels", profile.provenance.get("channel", DECLARED)))
        channels = [c for c in channels if c not in closed]
        if not channels:
            return _deny(
                [_reason(Code.channel_not_allowed, channels=", ".join(closed))],
                (),
                used,
                None,
                _zone(profile),
            )
        reasons.append(_reason(Code.channel_not_allowed, channels=", ".join(closed)))

    if not contract:
        open_now, blocks = _open_channels(snapshot, channels, at, used)
        if not open_now:
            retry = _next_opening(snapshot, channels, at)
            if retry is not None and _local(retry, profile).date() != _local(at, profile).date():
                blocks.append(_reason(Code.context_no_moment_today))
            return _deny(blocks, (), used, retry, _zone(profile))
        channels = open_now
        reasons.extend(blocks)  # channels closed while others stay open

    lens = _lens(snapshot, request.purpose, channels, at, contract)
    ranking = [_judge(offer, lens, used) for offer in request.candidates]
    order = sorted(
        range(len(ranking)),
        key=lambda i: (not ranking[i].eligible, -ranking[i].score if ranking[i].eligible else 0, i),
    )
    ranked = tuple(ranking[i] for i in order)
    best = ranked[0] if ranked and ranked[0].eligible else None
    if best is None:
        why = [_reason(Code.relevance_none)]
        if len(ranked) == 1:
            why = [*ranked[0].reasons[-1:], *why]
        return _deny(why, ranked, used, None, _zone(profile))
    offer = next(o for o in request.candidates if o.id == best.offer_id)
    channel = _offer_channels(offer, lens)[0]
    positive = [r for r in best.reasons if r.code in _POSITIVE]
    because = _reason(Code.consent_not_required).message
    if positive and not contract:
        because = positive[0].message
    return Decision(
        allowed=True,
        channel=channel,
        offer=offer.id,
        ranking=ranked,
        reasons=(*reasons, _reason(Code.allowed)),
        explanation=f"Sending “{offer.title}” by {channel} because {because}.",
        data_used=tuple(sorted(used)),
        retry_after=None,
    )


def _deny(
    reasons: list[Reason],
    ranking: tuple[Ranked, ...],
    used: set[tuple[str, str]],
    retry: datetime | None,
    zone: ZoneInfo,
) -> Decision:
    first = reasons[0].message
    when = ""
    if retry is not None:
        local = retry.astimezone(zone)
        when = f"; a better moment is {local:%H:%M} ({zone.key})"
        if any(r.code == Code.context_no_moment_today for r in reasons):
            when = f"; no suitable moment is left today, the next is {local:%A %H:%M} ({zone.key})"
    return Decision(
        allowed=False,
        channel=None,
        offer=None,
        ranking=ranking,
        reasons=tuple(reasons),
        explanation=f"Not sending: {first}{when}.",
        data_used=tuple(sorted(used)),
        retry_after=retry,
    )


def _consented_channels(
    snapshot: Snapshot, purpose: str, requested: tuple[str, ...], at: datetime
) -> tuple[list[str], Reason | None]:
    consent = snapshot.consents.get(purpose)
    if consent is None:
        return [], _reason(Code.consent_missing, purpose=purpose)
    if consent.status != "granted":
        if consent.method == "gpc":
            return [], _reason(Code.consent_gpc, purpose=purpose)
        code = Code.consent_withdrawn if consent.status == "withdrawn" else Code.consent_denied
        return [], _reason(code, purpose=purpose)
    if consent.expires_at is not None and consent.expires_at <= at:
        return [], _reason(Code.consent_expired, purpose=purpose)
    channels = [c for c in requested if c in consent.channels]
    if not channels:
        return [], _reason(Code.consent_channel_not_granted, channels=", ".join(requested))
    return channels, None


def _open_channels(
    snapshot: Snapshot, channels: list[str], at: datetime, used: set[tuple[str, str]]
) -> tuple[list[str], list[Reason]]:
    """The channels the customer's context and weekly limits leave open at `at`, and why others close."""
    profile = snapshot.profile
    blocks: list[Reason] = []
    context = _context(profile, at)
    if context is not None and context.do_not_disturb_until is not None and context.do_not_disturb_until > at:
        used.add(("context.do_not_disturb", context.provenance))
        return [], [
            _reason(Code.context_do_not_disturb, until=_when(context.do_not_disturb_until, profile, at))
        ]
    if profile.quiet_hours is not None and _in_quiet_hours(profile, at):
        used.add(("preferences.quiet_hours", profile.provenance.get("quiet_hours", DECLARED)))
        start, end = profile.quiet_hours
        return [], [_reason(Code.context_quiet_hours, start=f"{start:%H:%M}", end=f"{end:%H:%M}")]
    if context is not None and context.intent in ("in-a-rush", "need-help"):
        used.add(("context.intent", context.provenance))
        return [], [
            _reason(Code.context_in_a_rush if context.intent == "in-a-rush" else Code.context_needs_help)
        ]
    if context is not None and context.situation is not None:
        fitting = FITTING_CHANNELS.get(context.situation, frozenset())
        unfit = [c for c in channels if c not in fitting]
        if unfit:
            used.add(("context.situation", context.provenance))
            code = Code.context_in_transit if context.situation in IN_TRANSIT else Code.context_situation
            blocks.append(_reason(code, situation=context.situation, channels=", ".join(unfit)))
            channels = [c for c in channels if c in fitting]
    capped = []
    for channel in channels:
        limit = profile.channels.get(channel, ChannelPreference(True, None)).max_per_week
        if limit is not None:
            used.add(("preferences.channels", profile.provenance.get("channel", DECLARED)))
            if sum(1 for c in snapshot.contacts if c.channel == channel and at - WEEK < c.at <= at) >= limit:
                capped.append(channel)
                blocks.append(_reason(Code.frequency_cap, channel=channel, limit=limit))
    return [c for c in channels if c not in capped], blocks


def _next_opening(snapshot: Snapshot, channels: list[str], at: datetime) -> datetime | None:
    """The earliest moment within the horizon when one of `channels` opens: tries, in order, each
    moment at which something that blocks them ends."""
    t = at
    for _ in range(256):
        open_now, _ = _open_channels(snapshot, channels, t, set())
        if open_now:
            return t
        later = [end for end in _block_ends(snapshot, t, channels) if end > t]
        if not later or min(later) - at > HORIZON:
            return None
        t = min(later)
    return None


def _block_ends(snapshot: Snapshot, t: datetime, channels: list[str]) -> list[datetime]:
    profile, ends = snapshot.profile, []
    context = _context(profile, t)
    if context is not None:
        if context.valid_until is not None:
            ends.append(context.valid_until)
        if context.do_not_disturb_until is not None and context.do_not_disturb_until > t:
            ends.append(context.do_not_disturb_until)
    if profile.quiet_hours is not None and _in_quiet_hours(profile, t):
        ends.append(_next_local(profile, t, profile.quiet_hours[1]))
    limited = {
        c for c in channels if profile.channels.get(c, ChannelPreference(True, None)).max_per_week is not None
    }
    ends.extend(c.at + WEEK for c in snapshot.contacts if c.channel in limited and c.at + WEEK > t)
    return ends


@dataclass(frozen=True)
class _Lens:
    """What the snapshot means for this decision, worked out once rather than once per candidate."""

    snapshot: Snapshot
    purpose: str
    channels: tuple[str, ...]
    at: datetime
    contract: bool
    context: Context | None
    persona: Persona | None
    disliked: dict[str, bool]  # topic → shared, for declared affinities <= -0.5
    paused: dict[str, LifeEvent]  # topic → the life event pausing it
    bought: dict[str, datetime]  # item → last bought
    recent: dict[str, datetime]  # topic → end of the day part of a recent purchase for oneself
    set_aside: dict[str, datetime]  # offer id → last dismissed or found not relevant
    interests: dict[str, tuple[float, Code]]  # topic → (weighted affinity, the code citing it)
    granted: dict[str, frozenset[str] | None]  # purpose → channels its consent covers, None if not granted


def _lens(snapshot: Snapshot, purpose: str, channels: list[str], at: datetime, contract: bool) -> _Lens:
    profile = snapshot.profile
    context = _context(profile, at)
    recent: dict[str, datetime] = {}
    for purchase in snapshot.purchases:
        if not purchase.gift:
            end = _end_of_day_part(profile, purchase.at)
            if at < end:
                for topic in purchase.topics:
                    recent[topic] = max(end, recent.get(topic, end))
    bought: dict[str, datetime] = {}
    for purchase in snapshot.purchases:
        if purchase.item and purchase.at > bought.get(purchase.item, datetime.min.replace(tzinfo=UTC)):
            bought[purchase.item] = purchase.at
    set_aside: dict[str, datetime] = {}
    for feedback in snapshot.feedback:
        if feedback.kind in ("dismissed", "not-relevant") and feedback.at > set_aside.get(
            feedback.offer_id, datetime.min.replace(tzinfo=UTC)
        ):
            set_aside[feedback.offer_id] = feedback.at
    return _Lens(
        snapshot=snapshot,
        purpose=purpose,
        channels=tuple(channels),
        at=at,
        contract=contract,
        context=context,
        persona=profile.personas.get(context.persona) if context and context.persona else None,
        disliked={
            t: i.shared
            for t, i in profile.interests.items()
            if i.provenance == DECLARED and i.affinity <= -0.5
        },
        paused={t: e for e in profile.life_events if at < e.until for t in sorted(e.topics)},
        bought=bought,
        recent=recent,
        set_aside=set_aside,
        interests={
            t: (
                i.affinity * (1.0 if i.provenance == DECLARED else 0.5),
                Code.relevance_interest if i.provenance == DECLARED else Code.relevance_inferred,
            )
            for t, i in profile.interests.items()
        },
        granted={
            p: (c.channels if c.status == "granted" and (c.expires_at is None or c.expires_at > at) else None)
            for p, c in snapshot.consents.items()
        },
    )


def _offer_channels(offer: Offer, lens: _Lens) -> list[str]:
    """The open channels this offer may go by: its own, and those its purpose's consent covers."""
    usable = [c for c in lens.channels if not offer.channels or c in offer.channels]
    offer_purpose = offer.purpose or lens.purpose
    if offer_purpose != lens.purpose:
        covered = lens.granted.get(offer_purpose)
        usable = [c for c in usable if covered is not None and c in covered]
    return usable


def _judge(offer: Offer, lens: _Lens, used: set[tuple[str, str]]) -> Ranked:
    """One candidate: the first filter that drops it, or its relevance score and why."""
    profile, at, topics = lens.snapshot.profile, lens.at, offer.topics
    offer_purpose = offer.purpose or lens.purpose
    sensitive = offer.sensitive or _SENSITIVE[offer_purpose]

    def drop(code: Code, **values: Any) -> Ranked:
        return Ranked(offer.id, False, 0.0, (_reason(code, **values),))

    if offer.channels and offer.channels.isdisjoint(lens.channels):
        return drop(Code.channel_not_offered, channels=", ".join(lens.channels))
    if sensitive and not _SENSITIVE[offer_purpose]:
        return drop(Code.sensitive_no_explicit_consent, purpose=offer_purpose)
    if not _offer_channels(offer, lens):
        code = Code.sensitive_no_explicit_consent if sensitive else Code.consent_offer_purpose
        return drop(code, purpose=offer_purpose)
    if lens.contract:  # a service message (a gate change, a receipt) is owed, whatever the customer likes
        return Ranked(offer.id, True, 0.0, (_reason(Code.consent_not_required),))
    context = lens.context
    if (
        offer.situations
        and context is not None
        and context.situation
        and context.situation not in offer.situations
    ):
        used.add(("context.situation", context.provenance))
        return drop(
            Code.context_in_transit if context.situation in IN_TRANSIT else Code.context_situation,
            situation=context.situation,
            channels="this offer",
        )
    if lens.disliked and not topics.isdisjoint(lens.disliked):
        used.add(("preferences.interests", DECLARED))
        topic = min(topics & lens.disliked.keys())
        return drop(Code.topic_disliked, topic=topic if lens.disliked[topic] else _UNSHARED_TOPIC)
    if lens.paused and not topics.isdisjoint(lens.paused):
        paused = topics & lens.paused.keys()
        used.add(("preferences.life_events", DECLARED))
        event = lens.paused[min(paused)]
        if not event.shared:
            return drop(Code.life_event_suppressed, topic=_UNSHARED_TOPIC, until="a date you chose")
        until = f"{_local(event.until, profile):%d %B %Y}"
        return drop(Code.life_event_suppressed, topic=min(paused), until=until)
    if offer.item in lens.bought and at - lens.bought[offer.item] < timedelta(days=offer.suppress_days):
        used.add(("events.purchases", OBSERVED))
        return drop(Code.purchase_already_bought, item=offer.item)
    if lens.recent and not topics.isdisjoint(lens.recent):
        used.add(("events.purchases", OBSERVED))
        return drop(Code.purchase_recent_topic, topic=min(topics & lens.recent.keys()))
    if offer.id in lens.set_aside and at - lens.set_aside[offer.id] < timedelta(days=offer.suppress_days):
        return drop(Code.feedback_suppressed)
    if offer.countries:
        if profile.country is None:
            return drop(Code.country_unknown)
        used.add(("preferences.country", profile.provenance.get("country", DECLARED)))
        if profile.country.upper() not in offer.countries:
            return drop(Code.country_mismatch, country=profile.country.upper())
    if offer.locales and profile.locale is not None:
        used.add(("preferences.locale", profile.provenance.get("locale", DECLARED)))
        if not any(_same_language(profile.locale, locale) for locale in offer.locales):
            return drop(Code.locale_mismatch, locale=profile.locale)
    score, why = _relevance(offer, lens, sensitive, used)
    if sensitive:
        why.append(_reason(Code.sensitive_declared_only))
    if score < RELEVANCE_FLOOR:
        return Ranked(offer.id, False, round(score, 3), (*why, _reason(Code.relevance_below_floor)))
    return Ranked(offer.id, True, round(score, 3), tuple(why))


def _relevance(
    offer: Offer, lens: _Lens, declared_only: bool, used: set[tuple[str, str]]
) -> tuple[float, list[Reason]]:
    """Declared context and persona first, then interests (others' count half), then novelty."""
    score, signal = 0.0, False
    why: list[Reason] = []
    context, profile = lens.context, lens.snapshot.profile
    if context is not None and (not declared_only or context.provenance == DECLARED):
        hit = offer.topics & context.topics if context.topics else None
        if hit:
            used.add(("context.topics", context.provenance))
            score, signal = score + 0.8, True
            why.append(
                _reason(Code.relevance_context, intent=_intent(context.intent), topics=", ".join(sorted(hit)))
            )
        persona = lens.persona
        label = persona.label if persona else context.persona
        if context.persona and offer.personas:
            used.add(("context.persona", context.provenance))
            if context.persona in offer.personas:
                score, signal = score + 0.3, True
                why.append(_reason(Code.relevance_persona, persona=label))
            else:
                score -= 0.4
                why.append(_reason(Code.relevance_other_persona, persona=label))
        fits = not offer.personas or context.persona in offer.personas
        if persona is not None and fits and not offer.topics.isdisjoint(persona.interests):
            used.add(("personas", persona.provenance))
            score, signal = score + 0.5, True
            if not any(r.code == Code.relevance_persona for r in why):
                why.append(_reason(Code.relevance_persona, persona=persona.label))
    liked, disliked = 0.0, 0.0
    for topic in offer.topics:
        weighted = lens.interests.get(topic)
        if weighted is None:
            continue
        interest = profile.interests[topic]
        if declared_only and interest.provenance != DECLARED:
            continue
        signal = True
        used.add(("preferences.interests", interest.provenance))
        value, code = weighted
        if value > 0 and interest.shared:
            why.append(_reason(code, topic=topic))
        liked, disliked = max(liked, value), min(disliked, value)
    score += liked + disliked
    if not signal and profile.novelty > 0 and not declared_only:
        used.add(("preferences.novelty", profile.provenance.get("novelty", DECLARED)))
        score += profile.novelty * 0.6
        why.append(_reason(Code.relevance_novelty))
    if len(why) > 1:
        why.sort(key=lambda r: (_RANK_ORDER.get(r.code, len(_RANK_ORDER)), r.message))
    return score, why


_POSITIVE = frozenset(
    {
        Code.relevance_context,
        Code.relevance_persona,
        Code.relevance_interest,
        Code.relevance_inferred,
        Code.relevance_novelty,
    }
)
_UNSHARED_TOPIC = "one of its topics"
_SENSITIVE = {key: purpose.sensitive for key, purpose in CATALOGUE.items()}
_RANK_ORDER = {
    code: rank
    for rank, code in enumerate(
        (
            Code.relevance_context,
            Code.relevance_persona,
            Code.relevance_interest,
            Code.relevance_inferred,
            Code.relevance_novelty,
            Code.relevance_other_persona,
        )
    )
}


def _context(profile: Profile, at: datetime) -> Context | None:
    context = profile.context
    if context is None or (context.valid_until is not None and context.valid_until <= at):
        return None
    return context


def _zone(profile: Profile) -> ZoneInfo:
    try:
        return ZoneInfo(profile.time_zone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _local(moment: datetime, profile: Profile) -> datetime:
    return moment.astimezone(_zone(profile))


def _in_quiet_hours(profile: Profile, at: datetime) -> bool:
    assert profile.quiet_hours is not None
    start, end = profile.quiet_hours
    now = _local(at, profile).time()
    return start <= now < end if start < end else (now >= start or now < end)


def _next_local(profile: Profile, after: datetime, wall: time) -> datetime:
    """The first moment after `after` when the customer's clock shows `wall`."""
    local = _local(after, profile)
    day: date = local.date()
    for offset in range(3):
        moment = datetime.combine(day + timedelta(days=offset), wall, tzinfo=_zone(profile))
        if moment > local:
            return moment.astimezone(UTC)
    raise AssertionError("unreachable: a wall time recurs daily")


def _end_of_day_part(profile: Profile, moment: datetime) -> datetime:
    local = _local(moment, profile)
    hour = local.hour if local.hour >= DAY_PARTS[0] else local.hour + 24
    end = next(h for h in DAY_PARTS if h > hour)
    midnight = datetime.combine(local.date(), time(0), tzinfo=_zone(profile))
    if local.hour < DAY_PARTS[0]:
        midnight -= timedelta(days=1)
    return (midnight + timedelta(hours=end)).astimezone(UTC)


def _same_language(customer: str, offered: str) -> bool:
    """Same language, and the same region where both name one (fr-CA fits fr and fr-CA, not fr-FR)."""
    a, b = customer.lower().replace("_", "-").split("-"), offered.lower().replace("_", "-").split("-")
    return a[0] == b[0] and (len(a) == 1 or len(b) == 1 or a[1] == b[1])


def _when(moment: datetime, profile: Profile, now: datetime) -> str:
    """A moment on the customer's clock: the time today, or the day and time later on."""
    local = _local(moment, profile)
    return f"{local:%H:%M}" if local.date() == _local(now, profile).date() else f"{local:%A %d %B %H:%M}"


def _intent(intent: str | None) -> str:
    return {
        "browsing": "you're browsing",
        "buying": "you're looking to buy",
        "researching": "you're researching",
        "in-a-rush": "you're in a rush",
        "need-help": "you need help",
    }.get(intent or "", "you're interested in")


def _reason(code: Code, **values: Any) -> Reason:
    return Reason(code, MESSAGES[code].format_map(values)) if values else _PLAIN[code]


_PLAIN = {code: Reason(code, message) for code, message in MESSAGES.items() if "{" not in message}
