"""The decision engine as a pure function: `decide(snapshot, request, at)` and `resolve(facts, purchases,
at)` over plain data. No database, no HTTP, no clock."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from harken.consent.purposes import CATALOGUE, LegalBasis
from harken.decisions.engine import (
    DECLARED,
    INFERRED,
    OBSERVED,
    ChannelPreference,
    ConsentState,
    Contact,
    Context,
    Decision,
    Fact,
    Feedback,
    Interest,
    LifeEvent,
    Offer,
    Persona,
    Profile,
    Purchase,
    Ranked,
    Reason,
    Request,
    Snapshot,
    decide,
    resolve,
)
from harken.decisions.reasons import Code

TORONTO = "America/Toronto"
ZONE = ZoneInfo(TORONTO)
# Tuesday 3 November 2026, 10:00 in Toronto (EST, UTC-5).
AT = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
DAY, WEEK = timedelta(days=1), timedelta(days=7)

TRIP = Offer("trip", "A weekend in Québec", topics=frozenset({"travel"}))
SKIS = Offer("skis", "Touring skis", topics=frozenset({"skiing"}))
MARKETING = {"marketing": ConsentState("granted", frozenset({"email", "sms", "push"}), None, "api")}


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A wall time in Toronto, in 2026."""
    return datetime(2026, month, day, hour, minute, tzinfo=ZONE)


def declared(affinity: float) -> Interest:
    return Interest(affinity, DECLARED)


def inferred(affinity: float) -> Interest:
    return Interest(affinity, INFERRED)


def granted(*channels: str, expires_at: datetime | None = None) -> ConsentState:
    return ConsentState("granted", frozenset(channels), expires_at, "api")


def context(
    *,
    topics: Iterable[str] = (),
    persona: str | None = None,
    intent: str | None = None,
    situation: str | None = None,
    dnd: datetime | None = None,
    until: datetime | None = AT + timedelta(hours=4),
    provenance: str = DECLARED,
) -> Context:
    return Context(persona, intent, situation, frozenset(topics), dnd, until, provenance)


def customer(
    *,
    consents: dict[str, ConsentState] | None = None,
    purchases: Iterable[Purchase] = (),
    contacts: Iterable[Contact] = (),
    feedback: Iterable[Feedback] = (),
    **profile: Any,
) -> Snapshot:
    """A known customer in Toronto who declared they like travel and agreed to marketing by email, sms
    and push — unless told otherwise."""
    fields = {"time_zone": TORONTO, "interests": {"travel": declared(0.9)}, **profile}
    return Snapshot(
        known=True,
        profile=Profile(**fields),
        consents=MARKETING if consents is None else consents,
        purchases=tuple(purchases),
        contacts=tuple(contacts),
        feedback=tuple(feedback),
    )


def ask(*offers: Offer, purpose: str = "marketing", channels: Iterable[str] = ("email",)) -> Request:
    return Request(purpose, tuple(channels), offers or (TRIP,))


def codes(reasons: Iterable[Reason]) -> list[Code]:
    return [r.code for r in reasons]


def said(code: Code, message: str) -> tuple[Code, str]:
    """A reason as the customer reads it, in English."""
    return (code, message)


def sentences(reasons: Iterable[Reason]) -> tuple[tuple[Code, str], ...]:
    return tuple((r.code, r.message) for r in reasons)


def entry(decision: Decision, offer_id: str) -> Ranked:
    return next(r for r in decision.ranking if r.offer_id == offer_id)


# ---- who, and consent ----------------------------------------------------------------------------


def test_an_unknown_subject_is_never_contacted_not_even_for_service() -> None:
    decision = decide(Snapshot(known=False), ask(purpose="service"), AT)
    assert not decision.allowed and decision.channel is None and decision.offer is None
    assert codes(decision.reasons) == [Code.subject_unknown]
    assert decision.explanation == "Not sending: this business does not know you."


def test_marketing_without_a_consent_record_is_denied() -> None:
    decision = decide(customer(consents={}), ask(), AT)
    assert not decision.allowed
    assert sentences(decision.reasons) == (
        said(Code.consent_missing, "you have not agreed to marketing from this business"),
    )


@pytest.mark.parametrize(
    ("status", "code"), [("denied", Code.consent_denied), ("withdrawn", Code.consent_withdrawn)]
)
def test_a_refused_or_withdrawn_consent_denies_and_says_which(status: str, code: Code) -> None:
    consents = {"marketing": ConsentState(status, frozenset({"email"}), None, "centre")}
    decision = decide(customer(consents=consents), ask(), AT)
    assert not decision.allowed and codes(decision.reasons) == [code]


@pytest.mark.parametrize("status", ["denied", "withdrawn"])
def test_a_global_privacy_control_refusal_has_its_own_code(status: str) -> None:
    consents = {"marketing": ConsentState(status, frozenset(), None, "gpc")}
    decision = decide(customer(consents=consents), ask(), AT)
    assert not decision.allowed and codes(decision.reasons) == [Code.consent_gpc]


def test_a_consent_stops_counting_from_the_moment_it_expires() -> None:
    assert decide(
        customer(consents={"marketing": granted("email", expires_at=AT + timedelta(seconds=1))}), ask(), AT
    ).allowed
    lapsed = decide(customer(consents={"marketing": granted("email", expires_at=AT)}), ask(), AT)
    assert not lapsed.allowed and codes(lapsed.reasons) == [Code.consent_expired]


def test_a_consent_for_other_channels_denies_the_requested_ones() -> None:
    decision = decide(customer(consents={"marketing": granted("sms")}), ask(channels=("email", "push")), AT)
    assert not decision.allowed
    assert sentences(decision.reasons) == (
        said(Code.consent_channel_not_granted, "you have not agreed to be contacted by email, push"),
    )


def test_only_consented_channels_are_used() -> None:
    decision = decide(customer(consents={"marketing": granted("sms")}), ask(channels=("email", "sms")), AT)
    assert decision.allowed and decision.channel == "sms"


def test_a_service_message_needs_no_consent_and_passes_every_context_block() -> None:
    """A contract purpose: do-not-disturb, quiet hours, a rush, commuting and a spent weekly limit are
    for marketing, not for the gate change of a flight the customer booked."""
    assert CATALOGUE["service"].legal_basis == LegalBasis.contract
    snapshot = customer(
        consents={},
        context=context(intent="in-a-rush", situation="commuting", dnd=AT + timedelta(hours=3)),
        quiet_hours=(time(9), time(11)),
        channels={"sms": ChannelPreference(True, 1)},
        contacts=[Contact("sms", AT - DAY)],
    )
    gate = Offer("gate", "Your gate changed to B12")
    decision = decide(snapshot, ask(gate, purpose="service", channels=("sms",)), AT)
    assert decision.allowed and decision.channel == "sms" and decision.offer == "gate"
    assert codes(decision.reasons) == [Code.consent_not_required, Code.allowed]
    assert decision.retry_after is None
    assert decision.explanation == (
        "Sending “Your gate changed to B12” by sms because it is a service message about something you arranged."
    )


# ---- channels ------------------------------------------------------------------------------------


def test_a_switched_off_channel_is_skipped_for_the_next_one() -> None:
    snapshot = customer(channels={"sms": ChannelPreference(False, None)})
    decision = decide(snapshot, ask(channels=("sms", "email")), AT)
    assert decision.allowed and decision.channel == "email"
    assert ("preferences.channels", DECLARED) in decision.data_used


@pytest.mark.parametrize("purpose", ["marketing", "service"])
def test_when_every_requested_channel_is_switched_off_nothing_is_sent(purpose: str) -> None:
    snapshot = customer(channels={"sms": ChannelPreference(False, None), "push": ChannelPreference(False, 3)})
    decision = decide(snapshot, ask(purpose=purpose, channels=("sms", "push")), AT)
    assert not decision.allowed and decision.retry_after is None
    assert sentences(decision.reasons) == (said(Code.channel_not_allowed, "you switched off sms, push"),)


# ---- context -------------------------------------------------------------------------------------


def test_do_not_disturb_denies_marketing_until_it_ends() -> None:
    ends = AT + timedelta(hours=2)
    snapshot = customer(context=context(dnd=ends, until=ends))
    decision = decide(snapshot, ask(channels=("email", "sms")), AT)
    assert not decision.allowed and decision.retry_after == ends
    assert codes(decision.reasons) == [Code.context_do_not_disturb]
    assert decision.explanation == (
        "Not sending: you asked not to be disturbed until 12:00; a better moment is 12:00 (America/Toronto)."
    )
    assert decide(snapshot, ask(), ends).allowed


def test_an_ended_do_not_disturb_no_longer_blocks() -> None:
    snapshot = customer(context=context(dnd=AT - timedelta(minutes=1)))
    assert decide(snapshot, ask(), AT).allowed


@pytest.mark.parametrize(
    ("moment", "retry_after"),
    [
        (local(3, 21, 59), None),
        (local(3, 22, 0), local(4, 7)),
        (local(3, 23, 30), local(4, 7)),
        (local(4, 0, 30), local(4, 7)),
        (local(4, 6, 59), local(4, 7)),
        (local(4, 7, 0), None),
    ],
)
def test_quiet_hours_that_wrap_midnight_hold_in_the_customers_zone(
    moment: datetime, retry_after: datetime | None
) -> None:
    snapshot = customer(quiet_hours=(time(22), time(7)))
    decision = decide(snapshot, ask(), moment.astimezone(UTC))
    assert decision.allowed is (retry_after is None)
    assert decision.retry_after == retry_after
    if retry_after is not None:
        assert sentences(decision.reasons)[0] == said(
            Code.context_quiet_hours, "it is inside your quiet hours (22:00 to 07:00)"
        )


@pytest.mark.parametrize(
    ("moment", "retry_after"),
    [
        # Fall back, 1 November 2026: 02:00 EDT becomes 01:00 EST.
        (datetime(2026, 11, 1, 3, 0, tzinfo=UTC), datetime(2026, 11, 1, 12, 0, tzinfo=UTC)),  # 23:00 EDT
        (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 12, 0, tzinfo=UTC)),  # 01:30 EDT
        (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), datetime(2026, 11, 1, 12, 0, tzinfo=UTC)),  # 01:30 EST
        (datetime(2026, 11, 1, 11, 30, tzinfo=UTC), datetime(2026, 11, 1, 12, 0, tzinfo=UTC)),  # 06:30 EST
        # Spring forward, 8 March 2026: 02:00 EST becomes 03:00 EDT.
        (datetime(2026, 3, 8, 4, 0, tzinfo=UTC), datetime(2026, 3, 8, 11, 0, tzinfo=UTC)),  # 23:00 EST
        (datetime(2026, 3, 8, 6, 30, tzinfo=UTC), datetime(2026, 3, 8, 11, 0, tzinfo=UTC)),  # 01:30 EST
        (datetime(2026, 3, 8, 11, 30, tzinfo=UTC), None),  # 07:30 EDT: over, though 06:30 in winter time
    ],
)
def test_quiet_hours_end_at_seven_local_on_the_nights_the_clocks_change(
    moment: datetime, retry_after: datetime | None
) -> None:
    snapshot = customer(quiet_hours=(time(22), time(7)))
    decision = decide(snapshot, ask(), moment)
    assert decision.allowed is (retry_after is None)
    assert decision.retry_after == retry_after


@pytest.mark.parametrize(
    ("intent", "reason"),
    [
        ("in-a-rush", said(Code.context_in_a_rush, "you said you're in a rush")),
        ("need-help", said(Code.context_needs_help, "you said you need help right now, not offers")),
    ],
)
def test_in_a_rush_or_needing_help_closes_every_channel_until_the_context_ends(
    intent: str, reason: tuple[Code, str]
) -> None:
    ends = AT + timedelta(minutes=45)
    snapshot = customer(context=context(intent=intent, until=ends))
    decision = decide(snapshot, ask(channels=("email", "sms", "push")), AT)
    assert not decision.allowed and sentences(decision.reasons) == (reason,)
    assert decision.retry_after == ends
    assert decide(snapshot, ask(), ends).allowed


def test_commuting_closes_sms_and_push_but_not_email() -> None:
    ends = AT + timedelta(hours=1)
    snapshot = customer(context=context(situation="commuting", until=ends))
    decision = decide(snapshot, ask(channels=("sms", "push", "email")), AT)
    assert decision.allowed and decision.channel == "email"
    assert said(
        Code.context_in_transit, "you're commuting right now, which does not suit sms, push"
    ) in sentences(decision.reasons)

    interrupting = decide(snapshot, ask(channels=("sms", "push")), AT)
    assert not interrupting.allowed and codes(interrupting.reasons) == [Code.context_in_transit]
    assert interrupting.retry_after == ends


def test_at_work_a_phone_call_does_not_fit() -> None:
    snapshot = customer(consents={"marketing": granted("phone", "email")}, context=context(situation="work"))
    decision = decide(snapshot, ask(channels=("phone", "email")), AT)
    assert decision.allowed and decision.channel == "email"
    assert Code.context_situation in codes(decision.reasons)


# ---- frequency -----------------------------------------------------------------------------------


def test_the_weekly_limit_frees_a_slot_when_the_oldest_counted_contact_is_a_week_old() -> None:
    oldest = AT - timedelta(days=6)
    contacts = [
        Contact("sms", AT - timedelta(days=8)),  # outside the week: not counted
        Contact("sms", oldest),
        Contact("sms", AT - timedelta(days=2)),
        Contact("email", AT - timedelta(days=6, hours=12)),  # another channel: not counted
    ]
    snapshot = customer(channels={"sms": ChannelPreference(True, 2)}, contacts=contacts)
    decision = decide(snapshot, ask(channels=("sms",)), AT)
    assert not decision.allowed
    assert sentences(decision.reasons)[0] == said(
        Code.frequency_cap, "you allow at most 2 messages a week by sms, and that many were sent"
    )
    assert decision.retry_after == oldest + WEEK
    assert decide(snapshot, ask(channels=("sms",)), oldest + WEEK).allowed


def test_a_channel_at_its_weekly_limit_gives_way_to_an_open_one() -> None:
    snapshot = customer(channels={"sms": ChannelPreference(True, 1)}, contacts=[Contact("sms", AT - DAY)])
    decision = decide(snapshot, ask(channels=("sms", "email")), AT)
    assert decision.allowed and decision.channel == "email"
    assert Code.frequency_cap in codes(decision.reasons)


def test_over_a_lowered_limit_a_slot_frees_only_when_enough_contacts_age_out() -> None:
    contacts = [Contact("sms", AT - timedelta(days=6)), Contact("sms", AT - timedelta(days=3))]
    snapshot = customer(channels={"sms": ChannelPreference(True, 1)}, contacts=contacts)
    decision = decide(snapshot, ask(channels=("sms",)), AT)
    assert decision.retry_after == AT + timedelta(days=4)


def test_a_limit_of_zero_never_opens_the_channel() -> None:
    snapshot = customer(channels={"sms": ChannelPreference(True, 0)})
    decision = decide(snapshot, ask(channels=("sms",)), AT)
    assert not decision.allowed and decision.retry_after is None


# ---- when to try again: every block at once ------------------------------------------------------


def test_do_not_disturb_ending_inside_quiet_hours_retries_when_they_end() -> None:
    ends = local(3, 23)
    snapshot = customer(context=context(dnd=ends, until=ends), quiet_hours=(time(22), time(7)))
    decision = decide(snapshot, ask(), AT)
    assert not decision.allowed and decision.retry_after == local(4, 7)
    assert codes(decision.reasons) == [Code.context_do_not_disturb, Code.context_no_moment_today]
    assert decision.explanation == (
        "Not sending: you asked not to be disturbed until 23:00; "
        "no suitable moment is left today, the next is Wednesday 07:00 (America/Toronto)."
    )


def test_a_weekly_slot_freeing_inside_quiet_hours_retries_when_they_end() -> None:
    counted = datetime(2026, 10, 28, 6, 0, tzinfo=UTC)  # frees on 4 November at 01:00 in Toronto
    snapshot = customer(
        channels={"sms": ChannelPreference(True, 1)},
        contacts=[Contact("sms", counted)],
        quiet_hours=(time(22), time(7)),
    )
    decision = decide(snapshot, ask(channels=("sms",)), AT)
    assert decision.retry_after == local(4, 7)


def test_commuting_then_quiet_hours_retry_when_both_are_over() -> None:
    snapshot = customer(
        context=context(situation="commuting", until=local(3, 22, 30)), quiet_hours=(time(22), time(7))
    )
    decision = decide(snapshot, ask(channels=("sms",)), local(3, 18).astimezone(UTC))
    assert decision.retry_after == local(4, 7)


# ---- each candidate ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("skiing", "dropped"),
    [(declared(-0.5), True), (declared(-1.0), True), (declared(-0.4), False), (inferred(-1.0), False)],
)
def test_a_declared_dislike_drops_an_offer_and_anything_milder_only_lowers_it(
    skiing: Interest, dropped: bool
) -> None:
    package = Offer("package", "Ski and stay", topics=frozenset({"travel", "skiing"}))
    snapshot = customer(interests={"travel": declared(0.9), "skiing": skiing})
    judged = entry(decide(snapshot, ask(package), AT), "package")
    if dropped:
        assert sentences(judged.reasons) == (said(Code.topic_disliked, "you told us you don't like skiing"),)
        assert not judged.eligible
    else:
        assert judged.eligible and judged.score < 0.9


def test_a_life_event_pauses_offers_on_its_topics() -> None:
    wine = Offer("wine", "A wine tour", topics=frozenset({"travel", "alcohol"}))
    snapshot = customer(
        life_events=(LifeEvent("pregnancy", frozenset({"alcohol"}), AT + timedelta(days=30)),)
    )
    decision = decide(snapshot, ask(wine, TRIP), AT)
    assert decision.offer == "trip"
    assert sentences(entry(decision, "wine").reasons) == (
        said(Code.life_event_suppressed, "you asked for a pause on alcohol until 03 December 2026"),
    )


@pytest.mark.parametrize(("days_ago", "held_back"), [(29, True), (30, False), (365, False)])
def test_an_item_already_bought_is_held_back_for_the_offers_suppress_days_and_not_after(
    days_ago: int, held_back: bool
) -> None:
    boots = Offer("boots", "Winter boots", topics=frozenset({"travel"}), item="boots-42", suppress_days=30)
    bought = Purchase("boots-42", frozenset(), False, AT - timedelta(days=days_ago))
    decision = decide(customer(purchases=[bought]), ask(boots), AT)
    assert decision.allowed is not held_back
    if held_back:
        assert codes(entry(decision, "boots").reasons) == [Code.purchase_already_bought]


@pytest.mark.parametrize(
    ("bought", "asked", "paused"),
    [
        (local(3, 9, 15), local(3, 11, 59), True),  # a morning purchase pauses the morning
        (local(3, 9, 15), local(3, 12, 0), False),
        (local(3, 23, 30), local(4, 4, 59), True),  # a night purchase pauses the night
        (local(3, 23, 30), local(4, 5, 0), False),
        (local(4, 2, 0), local(4, 4, 59), True),
    ],
)
def test_a_purchase_on_a_topic_pauses_it_until_the_end_of_that_part_of_the_day(
    bought: datetime, asked: datetime, paused: bool
) -> None:
    flight = Purchase("YUL-YYZ", frozenset({"travel"}), False, bought.astimezone(UTC))
    decision = decide(customer(purchases=[flight]), ask(), asked.astimezone(UTC))
    assert decision.allowed is not paused
    if paused:
        assert sentences(entry(decision, "trip").reasons) == (
            said(Code.purchase_recent_topic, "you just bought something on travel"),
        )


def test_a_gift_pauses_no_topic_and_is_never_mentioned() -> None:
    gift = Purchase(None, frozenset({"travel"}), True, AT - timedelta(minutes=5))
    decision = decide(customer(purchases=[gift]), ask(), AT)
    assert decision.allowed and decision.offer == "trip"
    assert "gift" not in decision.explanation and "bought" not in decision.explanation


@pytest.mark.parametrize(
    ("kind", "days_ago", "held_back"),
    [
        ("dismissed", 29, True),
        ("not-relevant", 29, True),
        ("dismissed", 30, False),
        ("accepted", 1, False),
        ("opted-out", 1, False),  # opting out withdraws consent; it is not a feedback filter
    ],
)
def test_a_dismissed_offer_is_held_back_for_its_window(kind: str, days_ago: int, held_back: bool) -> None:
    snapshot = customer(feedback=[Feedback("trip", kind, AT - timedelta(days=days_ago))])
    decision = decide(snapshot, ask(), AT)
    assert decision.allowed is not held_back
    if held_back:
        assert codes(entry(decision, "trip").reasons) == [Code.feedback_suppressed]


def test_feedback_on_one_offer_leaves_the_others_alone() -> None:
    snapshot = customer(feedback=[Feedback("skis", "dismissed", AT - DAY)])
    assert decide(snapshot, ask(), AT).offer == "trip"


PRENATAL = Offer("prenatal", "Prenatal yoga", topics=frozenset({"pregnancy"}), purpose="health-offers")


@pytest.mark.parametrize(
    ("offer", "consents"),
    [
        (Offer("vitamins", "Vitamins", topics=frozenset({"pregnancy"}), sensitive=True), MARKETING),
        (PRENATAL, MARKETING),
        (PRENATAL, {**MARKETING, "health-offers": ConsentState("denied", frozenset({"email"}), None, "api")}),
        (PRENATAL, {**MARKETING, "health-offers": granted("email", expires_at=AT)}),
    ],
    ids=["sensitive-under-marketing", "no-health-consent", "health-denied", "health-expired"],
)
def test_a_sensitive_offer_without_explicit_consent_is_dropped(
    offer: Offer, consents: dict[str, ConsentState]
) -> None:
    snapshot = customer(consents=consents, interests={"pregnancy": declared(1.0)})
    decision = decide(snapshot, ask(offer), AT)
    assert not decision.allowed
    assert codes(entry(decision, offer.id).reasons) == [Code.sensitive_no_explicit_consent]


def test_a_sensitive_offer_is_ranked_on_declared_interest_only() -> None:
    consents = {**MARKETING, "health-offers": granted("email")}
    guessed = decide(
        customer(consents=consents, interests={"pregnancy": inferred(1.0)}, novelty=1.0), ask(PRENATAL), AT
    )
    assert not guessed.allowed
    assert codes(entry(guessed, "prenatal").reasons) == [
        Code.sensitive_declared_only,
        Code.relevance_below_floor,
    ]

    told = decide(customer(consents=consents, interests={"pregnancy": declared(0.8)}), ask(PRENATAL), AT)
    assert told.allowed and told.offer == "prenatal"
    assert codes(entry(told, "prenatal").reasons) == [Code.relevance_interest, Code.sensitive_declared_only]
    assert told.explanation == "Sending “Prenatal yoga” by email because you told us you like pregnancy."


def test_an_offer_for_another_purpose_needs_that_purpose_granted() -> None:
    personal = Offer(
        "personal", "Picked for you", topics=frozenset({"travel"}), purpose="personalised-offers"
    )
    without = decide(customer(), ask(personal), AT)
    assert codes(entry(without, "personal").reasons) == [Code.consent_offer_purpose]
    with_it = decide(
        customer(consents={**MARKETING, "personalised-offers": granted("email")}), ask(personal), AT
    )
    assert with_it.allowed and with_it.offer == "personal"


def test_an_offer_goes_only_by_its_own_channels() -> None:
    by_post = Offer(
        "catalogue", "Winter catalogue", topics=frozenset({"travel"}), channels=frozenset({"post"})
    )
    decision = decide(customer(), ask(by_post, channels=("email", "sms")), AT)
    assert codes(entry(decision, "catalogue").reasons) == [Code.channel_not_offered]
    by_sms = by_post._replace(channels=frozenset({"sms"}))
    assert decide(customer(), ask(by_sms, channels=("email", "sms")), AT).channel == "sms"


@pytest.mark.parametrize(
    ("situation", "code"),
    [("work", Code.context_situation), ("commuting", Code.context_in_transit), (None, None)],
)
def test_an_offer_meant_for_another_situation_is_dropped(situation: str | None, code: Code | None) -> None:
    at_home = TRIP._replace(situations=frozenset({"home"}))
    decision = decide(customer(context=context(situation=situation)), ask(at_home), AT)
    assert decision.allowed is (code is None)
    if code is not None:
        assert codes(entry(decision, "trip").reasons) == [code]


@pytest.mark.parametrize(
    ("country", "code"),
    [(None, Code.country_unknown), ("FR", Code.country_mismatch), ("ca", None), ("CA", None)],
)
def test_an_offer_for_particular_countries_needs_the_customers_country(
    country: str | None, code: Code | None
) -> None:
    canadian = TRIP._replace(countries=frozenset({"CA", "US"}))
    decision = decide(customer(country=country), ask(canadian), AT)
    assert decision.allowed is (code is None)
    if code is not None:
        assert codes(entry(decision, "trip").reasons) == [code]


@pytest.mark.parametrize(
    ("locale", "offered", "matches"),
    [
        ("en-CA", ("en",), True),  # the same language
        ("en_CA", ("en-CA",), True),
        ("en-CA", ("fr", "fr-CA"), False),
        ("fr-CA", ("fr-FR",), False),  # another variety of the language
        (None, ("fr",), True),  # no language known: nothing to mismatch
    ],
)
def test_an_offer_in_another_language_is_dropped(
    locale: str | None, offered: tuple[str, ...], matches: bool
) -> None:
    decision = decide(customer(locale=locale), ask(TRIP._replace(locales=offered)), AT)
    assert decision.allowed is matches
    if not matches:
        assert sentences(entry(decision, "trip").reasons) == (
            said(Code.locale_mismatch, f"it is not in your language ({locale})"),
        )


# ---- ranking -------------------------------------------------------------------------------------


def test_declared_context_topics_outrank_inferred_interests() -> None:
    snapshot = customer(
        context=context(intent="buying", topics={"skiing"}), interests={"travel": inferred(1.0)}
    )
    decision = decide(snapshot, ask(TRIP, SKIS), AT)
    assert decision.offer == "skis"
    assert [r.offer_id for r in decision.ranking] == ["skis", "trip"]
    assert decision.explanation == "Sending “Touring skis” by email because you're looking to buy skiing."


def test_the_active_persona_ranks_its_offers_first_and_switching_persona_flips_it() -> None:
    personas = {
        "parent": Persona("parent", "Parent", frozenset({"toys"}), DECLARED),
        "traveller": Persona("traveller", "Business traveller", frozenset({"lounges"}), DECLARED),
    }
    toys = Offer("toys", "Travel games", topics=frozenset({"toys"}), personas=frozenset({"parent"}))
    lounge = Offer("lounge", "Lounge pass", topics=frozenset({"lounges"}), personas=frozenset({"traveller"}))

    as_parent = decide(
        customer(personas=personas, interests={}, context=context(persona="parent")), ask(lounge, toys), AT
    )
    assert [r.offer_id for r in as_parent.ranking] == ["toys", "lounge"]
    assert as_parent.offer == "toys" and not entry(as_parent, "lounge").eligible
    assert as_parent.explanation == "Sending “Travel games” by email because it fits you as Parent right now."

    as_traveller = decide(
        customer(personas=personas, interests={}, context=context(persona="traveller")), ask(lounge, toys), AT
    )
    assert [r.offer_id for r in as_traveller.ranking] == ["lounge", "toys"]
    assert as_traveller.offer == "lounge"


def test_without_novelty_an_offer_on_unknown_topics_is_never_sent() -> None:
    pottery = Offer("pottery", "A pottery class", topics=frozenset({"pottery"}))
    decision = decide(customer(novelty=0.0), ask(pottery), AT)
    assert not decision.allowed
    assert codes(decision.reasons) == [Code.relevance_below_floor, Code.relevance_none]
    assert decision.explanation == "Not sending: it is not relevant enough to you."


def test_with_novelty_an_unknown_topic_may_surprise_but_a_disliked_one_never() -> None:
    pottery = Offer("pottery", "A pottery class", topics=frozenset({"pottery"}))
    golf = Offer("golf", "Golf lessons", topics=frozenset({"golf"}))
    bingo = Offer("bingo", "Bingo night", topics=frozenset({"bingo"}))
    snapshot = customer(novelty=1.0, interests={"golf": declared(-0.6), "bingo": inferred(-0.2)})
    decision = decide(snapshot, ask(golf, bingo, pottery), AT)
    assert decision.allowed and decision.offer == "pottery"
    assert (
        decision.explanation
        == "Sending “A pottery class” by email because you asked to be surprised now and then."
    )
    assert codes(entry(decision, "golf").reasons) == [Code.topic_disliked]
    assert not entry(decision, "bingo").eligible


def test_equally_relevant_offers_keep_the_callers_order() -> None:
    again = TRIP._replace(id="trip-2", title="Another weekend")
    assert [r.offer_id for r in decide(customer(), ask(again, TRIP), AT).ranking] == ["trip-2", "trip"]
    assert [r.offer_id for r in decide(customer(), ask(TRIP, again), AT).ranking] == ["trip", "trip-2"]


def test_no_candidates_means_nothing_to_send() -> None:
    decision = decide(customer(), Request("marketing", ("email",), ()), AT)
    assert not decision.allowed and codes(decision.reasons) == [Code.relevance_none]


# ---- the explanation -----------------------------------------------------------------------------


def test_the_explanation_is_one_sentence_citing_a_declared_reason() -> None:
    stay = Offer("stay", "A weekend in Québec", topics=frozenset({"travel", "hotels"}))
    snapshot = customer(interests={"hotels": inferred(0.6), "travel": declared(0.9)})
    decision = decide(snapshot, ask(stay), AT)
    assert (
        decision.explanation == "Sending “A weekend in Québec” by email because you told us you like travel."
    )
    assert len(re.findall(r"[.!?](\s|$)", decision.explanation)) == 1
    assert ("preferences.interests", DECLARED) in decision.data_used


def test_unshared_data_never_selects_or_explains_an_offer() -> None:
    facts = [
        Fact(
            "context",
            {"persona": "skier", "topics": ["skiing"], "intent": "buying"},
            DECLARED,
            AT,
            AT + DAY,
            shared=False,
        ),
        Fact("persona:skier", {"label": "Skier", "interests": ["skiing"]}, DECLARED, AT, shared=False),
        Fact("interest:skiing", {"affinity": 1.0}, DECLARED, AT, shared=False),
        Fact("interest:travel", {"affinity": 0.8}, INFERRED, AT, shared=True),
    ]
    snapshot = Snapshot(known=True, profile=resolve(facts, (), AT), consents=MARKETING)
    decision = decide(snapshot, ask(SKIS, TRIP), AT)
    assert decision.offer == "trip"
    assert not entry(decision, "skis").eligible
    assert "skiing" not in decision.explanation and "Skier" not in decision.explanation


# ---- resolving facts -----------------------------------------------------------------------------


def travel(affinity: float, provenance: str, at: datetime, **rest: Any) -> Fact:
    return Fact("interest:travel", {"affinity": affinity}, provenance, at, **rest)


@pytest.mark.parametrize("reverse", [False, True])
def test_resolve_keeps_the_declared_value_whatever_the_order_or_timestamps(reverse: bool) -> None:
    facts = [
        travel(-0.2, DECLARED, AT - timedelta(days=300)),
        travel(0.9, INFERRED, AT - timedelta(minutes=1)),
        travel(0.7, OBSERVED, AT - timedelta(minutes=2)),
    ]
    profile = resolve(reversed(facts) if reverse else facts, (), AT)
    assert profile.interests["travel"] == Interest(-0.2, DECLARED)


def test_resolve_keeps_the_latest_of_two_declared_values() -> None:
    facts = [travel(0.9, DECLARED, AT - DAY), travel(0.1, DECLARED, AT - timedelta(days=2))]
    assert resolve(facts, (), AT).interests["travel"] == declared(0.9)


def test_resolve_leaves_out_facts_that_expired() -> None:
    facts = [
        travel(0.9, DECLARED, AT - DAY, valid_until=AT),
        travel(0.4, INFERRED, AT - DAY),
        Fact("context", {"topics": ["skiing"]}, DECLARED, AT - DAY, AT),
        Fact(
            "life_event:move", {"until": (AT - DAY).isoformat(), "topics": ["furniture"]}, DECLARED, AT - DAY
        ),
    ]
    profile = resolve(facts, (), AT)
    assert profile.interests["travel"] == inferred(0.4)
    assert profile.context is None and profile.life_events == ()


def test_unshared_facts_keep_only_what_protects_the_customer() -> None:
    dnd = AT + timedelta(hours=2)
    facts = [
        Fact(
            "context",
            {
                "persona": "parent",
                "intent": "buying",
                "situation": "commuting",
                "topics": ["toys"],
                "do_not_disturb_until": dnd.isoformat(),
            },
            DECLARED,
            AT,
            AT + timedelta(hours=4),
        ),
        Fact("persona:parent", {"label": "Parent", "interests": ["toys"]}, DECLARED, AT),
        Fact("interest:toys", {"affinity": 0.9}, DECLARED, AT),
        Fact("interest:golf", {"affinity": -0.8}, DECLARED, AT),
        Fact("channel:sms", {"allowed": False}, DECLARED, AT),
        Fact("quiet_hours", {"start": "22:00", "end": "07:00"}, DECLARED, AT),
        Fact("time_zone", {"value": TORONTO}, DECLARED, AT),
        Fact("locale", {"value": "fr-CA"}, DECLARED, AT),
        Fact("country", {"value": "CA"}, DECLARED, AT),
        Fact("novelty", {"value": 0.8}, DECLARED, AT),
        Fact(
            "life_event:bereavement", {"until": (AT + WEEK).isoformat(), "topics": ["flowers"]}, DECLARED, AT
        ),
    ]
    profile = resolve([f._replace(shared=False) for f in facts], (), AT)
    assert profile.context == Context(
        None, None, "commuting", frozenset(), dnd, AT + timedelta(hours=4), DECLARED, shared=False
    )
    assert profile.personas == {}
    assert profile.interests == {"golf": declared(-0.8)._replace(shared=False)}
    assert profile.channels == {"sms": ChannelPreference(False, None)}
    assert profile.quiet_hours == (time(22), time(7)) and profile.time_zone == TORONTO
    assert profile.life_events == (LifeEvent("bereavement", frozenset({"flowers"}), AT + WEEK, shared=False),)
    assert (profile.locale, profile.country, profile.novelty) == (None, None, 0.0)

    shared = resolve(facts, (), AT)
    assert (
        shared.context is not None
        and shared.context.topics == {"toys"}
        and shared.context.persona == "parent"
    )
    assert (shared.locale, shared.country, shared.novelty) == ("fr-CA", "CA", 0.8)


def test_an_unshared_dislike_or_life_event_still_stops_an_offer() -> None:
    facts = [
        Fact("interest:skiing", {"affinity": -0.9}, DECLARED, AT - DAY, shared=False),
        Fact(
            "life_event:move",
            {"until": (AT + WEEK).isoformat(), "topics": ["travel"]},
            DECLARED,
            AT,
            shared=False,
        ),
    ]
    snapshot = Snapshot(known=True, profile=resolve(facts, (), AT), consents=MARKETING)
    decision = decide(snapshot, ask(SKIS._replace(topics=frozenset({"skiing", "golf"})), TRIP), AT)
    assert not decision.allowed
    assert [codes(r.reasons) for r in decision.ranking] == [
        [Code.topic_disliked],
        [Code.life_event_suppressed],
    ]


@pytest.mark.parametrize("intent", ["in-a-rush", "need-help"])
def test_an_unshared_rush_or_call_for_help_still_protects(intent: str) -> None:
    fact = Fact("context", {"intent": intent}, DECLARED, AT, AT + DAY, shared=False)
    profile = resolve([fact], (), AT)
    assert profile.context is not None and profile.context.intent == intent


def test_a_purchase_for_oneself_is_an_observed_interest_and_a_gift_is_none() -> None:
    purchases = [
        Purchase("tent", frozenset({"camping"}), False, AT - DAY),
        Purchase("doll", frozenset({"toys"}), True, AT - DAY),
    ]
    profile = resolve([], purchases, AT)
    assert list(profile.interests) == ["camping"]
    assert profile.interests["camping"].provenance == OBSERVED and profile.interests["camping"].affinity > 0


def test_a_declared_interest_overrides_what_a_purchase_suggests() -> None:
    purchases = [Purchase("tent", frozenset({"camping"}), False, AT - DAY)]
    fact = Fact("interest:camping", {"affinity": -0.7}, DECLARED, AT - timedelta(days=90))
    assert resolve([fact], purchases, AT).interests == {"camping": declared(-0.7)}


# ---- properties ----------------------------------------------------------------------------------

TOPICS = ("travel", "skiing", "golf", "toys")
CHANNELS = ("email", "sms", "push")
NOT_CONTRACT = sorted(k for k, p in CATALOGUE.items() if p.legal_basis != LegalBasis.contract)

offers = st.lists(
    st.tuples(
        st.sampled_from(("a", "b", "c", "d")),
        st.frozensets(st.sampled_from(TOPICS), max_size=3),
        st.frozensets(st.sampled_from(CHANNELS), max_size=2),
    ).map(lambda o: Offer(o[0], "An offer", topics=o[1], channels=o[2])),
    min_size=1,
    max_size=4,
    unique_by=lambda o: o.id,
)
consent_states = st.builds(
    ConsentState,
    status=st.sampled_from(("granted", "denied", "withdrawn")),
    channels=st.frozensets(st.sampled_from(CHANNELS)),
    expires_at=st.none() | st.sampled_from((AT - DAY, AT, AT + DAY)),
    method=st.sampled_from(("api", "centre", "gpc")),
)


def _granted_for(consent: ConsentState | None, channels: tuple[str, ...]) -> bool:
    return (
        consent is not None
        and consent.status == "granted"
        and (consent.expires_at is None or consent.expires_at > AT)
        and bool(consent.channels & set(channels))
    )


@settings(max_examples=300)
@given(
    purpose=st.sampled_from(NOT_CONTRACT),
    consent=st.none() | consent_states,
    channels=st.lists(st.sampled_from(CHANNELS), min_size=1, unique=True).map(tuple),
    candidates=offers,
)
def test_decide_never_allows_without_consent_for_a_non_contract_purpose(
    purpose: str, consent: ConsentState | None, channels: tuple[str, ...], candidates: list[Offer]
) -> None:
    assume(not _granted_for(consent, channels))
    # Every other purpose granted everywhere: none of them stands in for the one asked about.
    consents = {k: granted(*CHANNELS) for k in CATALOGUE if k != purpose}
    if consent is not None:
        consents[purpose] = consent
    snapshot = customer(consents=consents, interests={t: declared(1.0) for t in TOPICS}, novelty=1.0)
    decision = decide(snapshot, Request(purpose, channels, tuple(candidates)), AT)
    assert not decision.allowed and decision.offer is None and decision.channel is None


declared_affinities = st.dictionaries(st.sampled_from(TOPICS), st.floats(-1, 1, allow_nan=False))
other_facts = st.lists(
    st.tuples(
        st.sampled_from(TOPICS),
        st.floats(-1, 1, allow_nan=False),
        st.sampled_from((OBSERVED, INFERRED)),
        st.integers(-1000, 0),
        st.booleans(),
    ).map(
        lambda f: Fact(
            f"interest:{f[0]}", {"affinity": f[1]}, f[2], AT + timedelta(minutes=f[3]), shared=f[4]
        )
    ),
    max_size=6,
)
purchases = st.lists(
    st.builds(
        Purchase,
        item=st.none(),
        topics=st.frozensets(st.sampled_from(TOPICS), max_size=2),
        gift=st.booleans(),
        at=st.integers(1, 30).map(lambda d: AT - timedelta(days=d)),
    ),
    max_size=3,
)


@settings(max_examples=300)
@given(
    declared_by_topic=declared_affinities,
    shared=st.booleans(),
    others=other_facts,
    bought=purchases,
    context_topics=st.frozensets(st.sampled_from(TOPICS)),
    novelty=st.sampled_from((0.0, 0.5, 1.0)),
    purpose=st.sampled_from(("marketing", "personalised-offers")),
    candidates=offers,
)
def test_an_allowed_offer_never_touches_a_topic_the_customer_declared_they_dislike(
    declared_by_topic: dict[str, float],
    shared: bool,
    others: list[Fact],
    bought: list[Purchase],
    context_topics: frozenset[str],
    novelty: float,
    purpose: str,
    candidates: list[Offer],
) -> None:
    facts = [
        Fact(f"interest:{t}", {"affinity": a}, DECLARED, AT - DAY, shared=shared)
        for t, a in declared_by_topic.items()
    ]
    facts += [*others, Fact("context", {"topics": sorted(context_topics)}, DECLARED, AT - DAY, AT + DAY)]
    facts.append(Fact("novelty", {"value": novelty}, DECLARED, AT - DAY))
    snapshot = Snapshot(
        known=True,
        profile=resolve(facts, bought, AT),
        consents={"marketing": granted(*CHANNELS), "personalised-offers": granted(*CHANNELS)},
        purchases=tuple(bought),
    )
    decision = decide(snapshot, Request(purpose, CHANNELS, tuple(candidates)), AT)
    if decision.allowed:  # (service messages on a contract are owed whatever the customer likes)
        chosen = next(o for o in candidates if o.id == decision.offer)
        assert all(declared_by_topic.get(t, 0.0) > -0.5 for t in chosen.topics)


@settings(max_examples=300)
@given(
    interests=st.dictionaries(
        st.sampled_from(TOPICS),
        st.builds(
            Interest, st.floats(-1, 1, allow_nan=False), st.sampled_from((DECLARED, OBSERVED, INFERRED))
        ),
    ),
    context_topics=st.frozensets(st.sampled_from(TOPICS)),
    novelty=st.sampled_from((0.0, 0.5, 1.0)),
    purpose=st.sampled_from(("marketing", "service")),
    candidates=offers,
)
def test_the_ranking_lists_eligible_offers_first_best_score_first(
    interests: dict[str, Interest],
    context_topics: frozenset[str],
    novelty: float,
    purpose: str,
    candidates: list[Offer],
) -> None:
    snapshot = customer(
        interests=interests,
        context=context(topics=context_topics),
        novelty=novelty,
        consents={"marketing": granted(*CHANNELS)},
    )
    decision = decide(snapshot, Request(purpose, CHANNELS, tuple(candidates)), AT)
    if not decision.ranking:
        return
    flags = [r.eligible for r in decision.ranking]
    assert flags == sorted(flags, reverse=True)
    scores = [r.score for r in decision.ranking if r.eligible]
    assert scores == sorted(scores, reverse=True)
    assert decision.allowed is bool(scores)
    if decision.allowed:
        assert decision.offer == decision.ranking[0].offer_id


@settings(max_examples=200)
@given(
    values=st.lists(
        st.tuples(st.floats(-1, 1, allow_nan=False), st.sampled_from((DECLARED, OBSERVED, INFERRED))),
        min_size=1,
        max_size=6,
    ),
    minutes=st.lists(st.integers(-10_000, 0), min_size=6, max_size=6, unique=True),
    order=st.randoms(use_true_random=False),
)
def test_resolve_keeps_the_latest_declared_value_whatever_the_order(
    values: list[tuple[float, str]], minutes: list[int], order: Any
) -> None:
    facts = [travel(a, p, AT + timedelta(minutes=m)) for (a, p), m in zip(values, minutes, strict=False)]
    decl = [f for f in facts if f.provenance == DECLARED]
    assume(decl)
    order.shuffle(facts)
    latest = max(decl, key=lambda f: f.at)
    assert resolve(facts, (), AT).interests["travel"] == declared(latest.value["affinity"])


# ---- engine bugs: these fail until the engine is fixed -------------------------------------------


@pytest.mark.parametrize(
    "snapshot",
    [
        customer(
            consents={"marketing": granted("sms")},
            context=context(situation="commuting", until=AT + timedelta(hours=1)),
        ),
        customer(
            channels={"email": ChannelPreference(False, None)},
            context=context(situation="commuting", until=AT + timedelta(hours=1)),
        ),
    ],
    ids=["email-not-consented", "email-switched-off"],
)
def test_retry_after_waits_for_a_channel_the_customer_left_open(snapshot: Snapshot) -> None:
    """Only sms may be used (email is not consented, or switched off) and commuting closes it until the
    context ends: that is the moment to try again, not now."""
    decision = decide(snapshot, ask(channels=("sms", "email")), AT)
    assert not decision.allowed
    assert decision.retry_after == AT + timedelta(hours=1)


def test_a_do_not_disturb_longer_than_a_week_still_says_when_it_ends() -> None:
    """The service accepts do-not-disturb up to 30 days, and context.do_not_disturb documents
    "retry_after is when it ends"."""
    ends = AT + timedelta(days=10)
    decision = decide(customer(context=context(dnd=ends, until=ends)), ask(), AT)
    assert not decision.allowed and codes(decision.reasons)[0] == Code.context_do_not_disturb
    assert decision.retry_after == ends


def test_retry_after_is_found_however_many_contacts_on_other_channels_age_out_first() -> None:
    sms = Contact("sms", AT - timedelta(days=6))  # frees the one weekly sms slot tomorrow
    emails = [Contact("email", AT - WEEK + timedelta(hours=h)) for h in range(1, 15)]  # no email limit
    snapshot = customer(channels={"sms": ChannelPreference(True, 1)}, contacts=[sms, *emails])
    decision = decide(snapshot, ask(channels=("sms",)), AT)
    assert not decision.allowed
    assert decision.retry_after == AT + DAY


def test_an_offer_meant_for_another_persona_is_never_said_to_fit_the_active_one() -> None:
    personas = {"parent": Persona("parent", "Parent", frozenset({"toys"}), DECLARED)}
    for_travellers = Offer(
        "games", "Games for the flight", topics=frozenset({"toys"}), personas=frozenset({"traveller"})
    )
    snapshot = customer(
        personas=personas, interests={"toys": declared(0.9)}, context=context(persona="parent")
    )
    decision = decide(snapshot, ask(for_travellers), AT)
    judged = codes(entry(decision, "games").reasons)
    assert Code.relevance_other_persona in judged
    assert Code.relevance_persona not in judged
    assert "fits you as Parent" not in decision.explanation


def test_a_sensitive_offer_goes_only_by_a_channel_its_explicit_consent_covers() -> None:
    consents = {"marketing": granted("sms", "email"), "health-offers": granted("email")}
    snapshot = customer(consents=consents, interests={"pregnancy": declared(0.9)})
    decision = decide(snapshot, ask(PRENATAL, channels=("sms", "email")), AT)
    assert decision.allowed and decision.offer == "prenatal"
    assert decision.channel == "email"
