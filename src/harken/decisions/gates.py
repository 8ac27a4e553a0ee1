"""The gates before any candidate: the terms the customer set and the org accepted, consent for the
purpose and channel, the moment (do-not-disturb,
quiet hours, a hurried intent, the situation), the customer's weekly limits — and, when they close every
channel, the earliest moment one opens again. Time on the customer's clock lives here too.

Pure: no database, no web, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from harken.decisions.reasons import Code, Reason, reason
from harken.decisions.snapshot import DECLARED, ChannelPreference, Context, Profile, Snapshot, Terms

WEEK = timedelta(days=7)
HORIZON = timedelta(days=31)  # how far ahead retry_after looks (a context lasts at most 30 days)
# The hub's default guess at which channels suit which situation, for a customer who said nothing about
# it (a soft default: `rules.Priors` names it, a learned scorer may revise it); a
# customer's own word (`Profile.situation_channels`) is a hard gate instead. Channels that interrupt:
# not while the customer is in transit, and phone never at work.
FITTING_CHANNELS: dict[str, frozenset[str]] = {
    "home": frozenset({"email", "sms", "push", "phone", "post", "in-app"}),
    "work": frozenset({"email", "sms", "push", "post", "in-app"}),
    "commuting": frozenset({"email", "post"}),
    "travelling": frozenset({"email", "post", "in-app"}),
    "out": frozenset({"email", "post", "push", "in-app"}),
}
IN_TRANSIT = frozenset({"commuting", "travelling"})
_OPEN = ChannelPreference(True, None)  # a channel the customer said nothing about
# Where a day's parts end (local hour): a purchase pauses its topics until the end of its part.
DAY_PARTS = (5, 12, 17, 22, 29)
# local hour (5..28: before 5 counts as the night before) → when its day part ends, after midnight
_PART_ENDS = {
    hour: timedelta(hours=next(h for h in DAY_PARTS if h > hour)) for hour in range(DAY_PARTS[0], 29)
}


def terms_refusal(terms: tuple[Terms, ...], purpose: str, *, offer: bool = False) -> Reason | None:
    """The first accepted agreement (MyTerms) that does not allow `purpose`, as the reason to refuse (an
    offer's own purpose: to drop it); None when every agreement allows it, or there is none."""
    for agreement in terms:
        if purpose not in agreement.purposes:
            code = Code.terms_offer_purpose_excluded if offer else Code.terms_purpose_excluded
            return reason(code, agreement=agreement.agreement, title=agreement.title, purpose=purpose)
    return None


def consented_channels(
    snapshot: Snapshot, purpose: str, requested: tuple[str, ...], at: datetime
) -> tuple[list[str], Reason | None]:
    consent = snapshot.consents.get(purpose)
    if consent is None:
        return [], reason(Code.consent_missing, purpose=purpose)
    if consent.status != "granted":
        if consent.method == "gpc":
            return [], reason(Code.consent_gpc, purpose=purpose)
        code = Code.consent_withdrawn if consent.status == "withdrawn" else Code.consent_denied
        return [], reason(code, purpose=purpose)
    if consent.expires_at is not None and consent.expires_at <= at:
        return [], reason(Code.consent_expired, purpose=purpose)
    channels = [c for c in requested if c in consent.channels]
    if not channels:
        return [], reason(Code.consent_channel_not_granted, channels=requested)
    return channels, None


class Open(NamedTuple):
    """What the moment leaves open: `channels` by every gate and the default table, `blocks` why others
    close, and `soft`: channels every gate leaves open that only the hub's default table closes."""

    channels: list[str]
    blocks: list[Reason]
    soft: tuple[str, ...] = ()


def open_channels(
    snapshot: Snapshot,
    channels: list[str],
    at: datetime,
    used: set[tuple[str, str]],
    fitting: Mapping[str, frozenset[str]] = FITTING_CHANNELS,
) -> Open:
    """The channels the customer's context and weekly limits leave open at `at`, and why others close."""
    profile = snapshot.profile
    blocks: list[Reason] = []
    context = context_at(profile, at)
    if context is not None and context.do_not_disturb_until is not None and context.do_not_disturb_until > at:
        used.add(("context.do_not_disturb", context.provenance))
        return Open(
            [], [reason(Code.context_do_not_disturb, **when(context.do_not_disturb_until, profile, at))]
        )
    if profile.quiet_hours is not None and in_quiet_hours(profile, at):
        used.add(("preferences.quiet_hours", profile.provenance.get("quiet_hours", DECLARED)))
        start, end = profile.quiet_hours
        return Open([], [reason(Code.context_quiet_hours, start=f"{start:%H:%M}", end=f"{end:%H:%M}")])
    if context is not None and context.intent in ("in-a-rush", "need-help"):
        used.add(("context.intent", context.provenance))
        return Open(
            [], [reason(Code.context_in_a_rush if context.intent == "in-a-rush" else Code.context_needs_help)]
        )
    unfit: list[str] = []
    if context is not None and context.situation is not None:
        own = profile.situation_channels.get(context.situation)
        if own is not None:  # the customer's own word: a hard gate
            used.add(
                ("preferences.situation_channels", profile.provenance.get("situation_channels", DECLARED))
            )
        unfit = [
            c
            for c in channels
            if c not in (fitting.get(context.situation, frozenset()) if own is None else own)
        ]
        if unfit:
            used.add(("context.situation", context.provenance))
            code = Code.context_in_transit if context.situation in IN_TRANSIT else Code.context_situation
            blocks.append(reason(code, situation=context.situation, channels=tuple(unfit)))
            channels = [c for c in channels if c not in unfit]
            if own is not None:
                unfit = []
    capped = [c for c in channels if _capped(snapshot, c, at, used)]
    for channel in capped:
        blocks.append(
            reason(Code.frequency_cap, channel=channel, limit=profile.channels[channel].max_per_week)
        )
    soft = tuple(c for c in unfit if not _capped(snapshot, c, at, set()))
    return Open([c for c in channels if c not in capped], blocks, soft)


def _capped(snapshot: Snapshot, channel: str, at: datetime, used: set[tuple[str, str]]) -> bool:
    profile = snapshot.profile
    limit = profile.channels.get(channel, _OPEN).max_per_week
    if limit is None:
        return False
    used.add(("preferences.channels", profile.provenance.get("channel", DECLARED)))
    return sum(1 for c in snapshot.contacts if c.channel == channel and at - WEEK < c.at <= at) >= limit


def next_opening(
    snapshot: Snapshot,
    channels: list[str],
    at: datetime,
    fitting: Mapping[str, frozenset[str]] = FITTING_CHANNELS,
) -> datetime | None:
    """The earliest moment within the horizon when one of `channels` opens: tries, in order, each
    moment at which something that blocks them ends."""
    t = at
    for _ in range(256):
        if open_channels(snapshot, channels, t, set(), fitting).channels:
            return t
        later = [end for end in _block_ends(snapshot, t, channels) if end > t]
        if not later or min(later) - at > HORIZON:
            return None
        t = min(later)
    return None


def _block_ends(snapshot: Snapshot, t: datetime, channels: list[str]) -> list[datetime]:
    profile, ends = snapshot.profile, []
    context = context_at(profile, t)
    if context is not None:
        if context.valid_until is not None:
            ends.append(context.valid_until)
        if context.do_not_disturb_until is not None and context.do_not_disturb_until > t:
            ends.append(context.do_not_disturb_until)
    if profile.quiet_hours is not None and in_quiet_hours(profile, t):
        ends.append(_next_on_clock(profile, t, profile.quiet_hours[1]))
    limited = {c for c in channels if profile.channels.get(c, _OPEN).max_per_week is not None}
    ends.extend(c.at + WEEK for c in snapshot.contacts if c.channel in limited and c.at + WEEK > t)
    return ends


def context_at(profile: Profile, at: datetime) -> Context | None:
    context = profile.context
    if context is None or (context.valid_until is not None and context.valid_until <= at):
        return None
    return context


def zone_of(profile: Profile) -> ZoneInfo:
    try:
        return ZoneInfo(profile.time_zone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def on_clock(moment: datetime, profile: Profile) -> datetime:
    return moment.astimezone(zone_of(profile))


def in_quiet_hours(profile: Profile, at: datetime) -> bool:
    assert profile.quiet_hours is not None
    start, end = profile.quiet_hours
    now = on_clock(at, profile).time()
    return start <= now < end if start < end else (now >= start or now < end)


def _next_on_clock(profile: Profile, after: datetime, wall: time) -> datetime:
    """The first moment after `after` when the customer's clock shows `wall`."""
    local = on_clock(after, profile)
    day: date = local.date()
    for offset in range(3):
        moment = datetime.combine(day + timedelta(days=offset), wall, tzinfo=zone_of(profile))
        if moment > local:
            return moment.astimezone(UTC)
    raise AssertionError("unreachable: a wall time recurs daily")


def end_of_day_part(profile: Profile, moment: datetime) -> datetime:
    zone = zone_of(profile)
    local = moment.astimezone(zone)
    hour = local.hour if local.hour >= DAY_PARTS[0] else local.hour + 24
    midnight = datetime.combine(local.date(), time(0), tzinfo=zone)
    if local.hour < DAY_PARTS[0]:
        midnight -= timedelta(days=1)
    return (midnight + _PART_ENDS[hour]).astimezone(UTC)


def when(moment: datetime, profile: Profile, now: datetime) -> dict[str, Any]:
    """A moment on the customer's clock, and whether it is today (a sentence then names only the time)."""
    local = on_clock(moment, profile)
    return {"until": local.isoformat(), "today": local.date() == on_clock(now, profile).date()}
