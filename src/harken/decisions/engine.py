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
from datetime import datetime
from zoneinfo import ZoneInfo

from harken.consent.purposes import CATALOGUE, LegalBasis
from harken.decisions.gates import consented_channels, next_opening, on_clock, open_channels, zone_of
from harken.decisions.ranking import POSITIVE, Ranked, judge, lens_for, offer_channels
from harken.decisions.reasons import Code, Explanation, Reason, explain, reason
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
    "Explanation",
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


@dataclass(frozen=True)
class Decision:
    allowed: bool
    channel: str | None
    offer: str | None
    ranking: tuple[Ranked, ...]
    reasons: tuple[Reason, ...]
    explained: Explanation  # the one-sentence explanation as values: `explain` writes it in a language
    data_used: tuple[tuple[str, str], ...]  # (field, provenance)
    retry_after: datetime | None

    @property
    def explanation(self) -> str:
        """The one-sentence explanation in English, the API's default language."""
        return explain(self.explained)


def decide(snapshot: Snapshot, request: Request, at: datetime) -> Decision:
    """Whether to contact the customer now, on which channel, with which candidate — and why."""
    used: set[tuple[str, str]] = set()
    if snapshot.erased:
        return _deny([reason(Code.subject_erased)], (), used, None, zone_of(snapshot.profile))
    if not snapshot.known:
        return _deny([reason(Code.subject_unknown)], (), used, None, zone_of(snapshot.profile))
    profile = snapshot.profile
    purpose = CATALOGUE[request.purpose]
    contract = purpose.legal_basis == LegalBasis.contract

    reasons: list[Reason] = []
    if contract:
        channels = list(request.channels)
        reasons.append(reason(Code.consent_not_required))
    else:
        channels, refusal = consented_channels(snapshot, request.purpose, request.channels, at)
        used.add((f"consent.{request.purpose}", "declared"))
        if refusal is not None:
            return _deny([refusal], (), used, None, zone_of(profile))
    closed = [c for c in channels if not profile.channels.get(c, ChannelPreference(True, None)).allowed]
    if closed:
        used.add(("preferences.channels", profile.provenance.get("channel", DECLARED)))
        channels = [c for c in channels if c not in closed]
        if not channels:
            return _deny(
                [reason(Code.channel_not_allowed, channels=tuple(closed))],
                (),
                used,
                None,
                zone_of(profile),
            )
        reasons.append(reason(Code.channel_not_allowed, channels=tuple(closed)))

    if not contract:
        open_now, blocks = open_channels(snapshot, channels, at, used)
        if not open_now:
            retry = next_opening(snapshot, channels, at)
            if retry is not None and on_clock(retry, profile).date() != on_clock(at, profile).date():
                blocks.append(reason(Code.context_no_moment_today))
            return _deny(blocks, (), used, retry, zone_of(profile))
        channels = open_now
        reasons.extend(blocks)  # channels closed while others stay open

    lens = lens_for(snapshot, request.purpose, channels, at, contract)
    # eligible first, best first; ties in the order asked (the sort is stable)
    ranked = tuple(sorted([judge(offer, lens, used) for offer in request.candidates], key=_best_first))
    best = ranked[0] if ranked and ranked[0].eligible else None
    if best is None:
        why = [reason(Code.relevance_none)]
        if len(ranked) == 1:
            why = [*ranked[0].reasons[-1:], *why]
        return _deny(why, ranked, used, None, zone_of(profile))
    offer = next(o for o in request.candidates if o.id == best.offer_id)
    channel = offer_channels(offer, lens)[0]
    because = reason(Code.consent_not_required)
    if not contract:
        because = next((r for r in best.reasons if r.code in POSITIVE), because)
    return Decision(
        allowed=True,
        channel=channel,
        offer=offer.id,
        ranking=ranked,
        reasons=(*reasons, reason(Code.allowed)),
        explained=Explanation(because, title=offer.title, channel=channel),
        data_used=tuple(sorted(used)),
        retry_after=None,
    )


def _best_first(ranked: Ranked) -> tuple[bool, float]:
    return (False, -ranked.score) if ranked.eligible else (True, 0.0)


def _deny(
    reasons: list[Reason],
    ranking: tuple[Ranked, ...],
    used: set[tuple[str, str]],
    retry: datetime | None,
    zone: ZoneInfo,
) -> Decision:
    explained = Explanation(reasons[0])
    if retry is not None:
        next_day = any(r.code == Code.context_no_moment_today for r in reasons)
        explained = Explanation(
            reasons[0], retry=retry.astimezone(zone).isoformat(), zone=zone.key, next_day=next_day
        )
    return Decision(
        allowed=False,
        channel=None,
        offer=None,
        ranking=ranking,
        reasons=tuple(reasons),
        explained=explained,
        data_used=tuple(sorted(used)),
        retry_after=retry,
    )
