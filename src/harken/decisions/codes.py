"""The reason codes a decision gives and what each means: a stable part of the API (docs/reason-codes.md
is generated from `MEANING`). Pure data."""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    # the customer
    subject_unknown = "subject.unknown"
    subject_erased = "subject.erased"
    # terms the customer proffered and the org accepted (MyTerms)
    terms_purpose_excluded = "terms.purpose_excluded"
    terms_offer_purpose_excluded = "terms.offer_purpose_excluded"
    # consent
    consent_not_required = "consent.not_required"
    consent_missing = "consent.missing"
    consent_denied = "consent.denied"
    consent_withdrawn = "consent.withdrawn"
    consent_expired = "consent.expired"
    consent_gpc = "consent.gpc"
    consent_channel_not_granted = "consent.channel_not_granted"
    consent_offer_purpose = "consent.offer_purpose"
    channel_not_allowed = "channel.not_allowed"
    channel_not_offered = "channel.not_offered"
    # context
    context_do_not_disturb = "context.do_not_disturb"
    context_quiet_hours = "context.quiet_hours"
    context_in_transit = "context.in_transit"
    context_situation = "context.situation"
    context_in_a_rush = "context.in_a_rush"
    context_needs_help = "context.needs_help"
    context_no_moment_today = "context.no_moment_today"
    # frequency
    frequency_cap = "frequency.cap"
    # per candidate
    topic_disliked = "topic.disliked"
    life_event_suppressed = "life_event.suppressed"
    purchase_already_bought = "purchase.already_bought"
    purchase_recent_topic = "purchase.recent_topic"
    feedback_suppressed = "feedback.suppressed"
    sensitive_no_explicit_consent = "sensitive.no_explicit_consent"
    sensitive_declared_only = "sensitive.declared_only"
    country_mismatch = "country.mismatch"
    country_unknown = "country.unknown"
    locale_mismatch = "locale.mismatch"
    # ranking
    relevance_context = "relevance.context"
    relevance_persona = "relevance.persona"
    relevance_other_persona = "relevance.other_persona"
    relevance_interest = "relevance.interest"
    relevance_inferred = "relevance.inferred"
    relevance_novelty = "relevance.novelty"
    relevance_learned = "relevance.learned"
    relevance_below_floor = "relevance.below_floor"
    relevance_none = "relevance.none"
    # the answer
    allowed = "decision.allowed"


MEANING: dict[Code, str] = {
    Code.subject_unknown: "The org has no customer with this ref (or it belongs to another org): don't send.",
    Code.subject_erased: "The customer had their data erased: nothing is sent to them, service messages included.",
    Code.terms_purpose_excluded: "The customer proffered terms (MyTerms, IEEE 7012) that this org accepted, and "
    "they do not allow this purpose: don't send. The message names the agreement's title, `data_used` its id "
    "(`terms.SD-BASE`). Service messages on a contract basis still pass under service-delivery terms.",
    Code.terms_offer_purpose_excluded: "The offer serves a purpose the customer's accepted terms (MyTerms) do not "
    "allow; the message names the agreement, `data_used` its id (`terms.SD-BASE`).",
    Code.consent_not_required: "The purpose rests on a contract (service messages): no marketing consent is "
    "needed, and the customer's likes, context and limits do not hold back what is owed.",
    Code.consent_missing: "The customer never decided on this purpose with this org.",
    Code.consent_denied: "The customer refused this purpose.",
    Code.consent_withdrawn: "The customer withdrew consent for this purpose.",
    Code.consent_expired: "The consent for this purpose lapsed (expires_at has passed).",
    Code.consent_gpc: "A Global Privacy Control signal (Sec-GPC: 1) denied sale, sharing and targeting.",
    Code.consent_channel_not_granted: "The consent does not cover this channel.",
    Code.consent_offer_purpose: "The offer serves another purpose, which the customer has not granted.",
    Code.channel_not_allowed: "The customer switched this channel off.",
    Code.channel_not_offered: "The offer cannot be sent on any channel still open.",
    Code.context_do_not_disturb: "The customer set do-not-disturb; retry_after is when it ends.",
    Code.context_quiet_hours: "Inside the customer's quiet hours, in their time zone; retry_after is when they end.",
    Code.context_in_transit: "The customer is commuting or travelling: interrupting channels and offers for "
    "another place do not fit; retry_after is when the declared context ends.",
    Code.context_situation: "The offer is meant for another situation than the customer's current one.",
    Code.context_in_a_rush: "The customer said they are in a rush.",
    Code.context_needs_help: "The customer is looking for help, not offers.",
    Code.context_no_moment_today: "No fitting moment is left today in the customer's time zone.",
    Code.frequency_cap: "The customer's weekly limit for this channel is reached; retry_after is when a slot frees.",
    Code.topic_disliked: "The customer declared they dislike a topic of the offer.",
    Code.life_event_suppressed: "A life event the customer declared pauses offers on this topic until a date.",
    Code.purchase_already_bought: "The customer already bought this item (a gift too: it is about the item, not "
    "an interest) within the offer's suppression window.",
    Code.purchase_recent_topic: "The customer just bought something on this topic; paused for the rest of the "
    "part of the day (morning, afternoon, evening).",
    Code.feedback_suppressed: "The customer dismissed this offer, or found it not relevant, within its window.",
    Code.sensitive_no_explicit_consent: "A sensitive offer needs explicit consent for its sensitive purpose.",
    Code.sensitive_declared_only: "A sensitive offer is ranked on declared data only, never on inferred data.",
    Code.country_mismatch: "The offer is for other countries than the customer's.",
    Code.country_unknown: "The offer targets countries and the customer's country is not known: no guessing.",
    Code.locale_mismatch: "The offer is in a language the customer did not choose.",
    Code.relevance_context: "Matches what the customer said matters right now (intent and topics).",
    Code.relevance_persona: "Fits the persona the customer is being right now.",
    Code.relevance_other_persona: "Targets another of the customer's personas, not the active one.",
    Code.relevance_interest: "Matches an interest the customer declared.",
    Code.relevance_inferred: "Matches an observed or inferred interest (counts half of a declared one).",
    Code.relevance_novelty: "Outside known interests, chosen because the customer asked to be surprised.",
    Code.relevance_learned: "Chosen by the org's learned model from what the customer declared (the likings and "
    "the situation it cites) and the moment: customers who declared the same often took it.",
    Code.relevance_below_floor: "Not relevant enough to this customer to be worth sending.",
    Code.relevance_none: "No candidate is relevant enough: don't send.",
    Code.allowed: "Send: every gate passed.",
}
