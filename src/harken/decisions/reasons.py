"""Every reason a decision can give: a stable code, what it means, and the sentence shown for it.

The engine gives a reason as its code and the plain values its sentence needs (`Reason(code, params)`);
the sentence is written only at the edge, in the reader's language: `render(reason, language)`, and
`explain(explanation, language)` for the decision's one-sentence explanation. The codes are part of
the API (docs/reason-codes.md is generated from this table and checked by a test); sentences may
improve, codes never change meaning.

Pure: no database, no web, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from babel.dates import format_date, format_datetime


class Code(StrEnum):
    # the customer
    subject_unknown = "subject.unknown"
    subject_erased = "subject.erased"
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
    relevance_below_floor = "relevance.below_floor"
    relevance_none = "relevance.none"
    # the answer
    allowed = "decision.allowed"


MEANING: dict[Code, str] = {
    Code.subject_unknown: "The org has no customer with this ref (or it belongs to another org): don't send.",
    Code.subject_erased: "The customer had their data erased: nothing is sent to them, service messages included.",
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
    Code.relevance_below_floor: "Not relevant enough to this customer to be worth sending.",
    Code.relevance_none: "No candidate is relevant enough: don't send.",
    Code.allowed: "Send: every gate passed.",
}

# The sentence shown for each code, to the customer ("you"), in each language the API and the centre
# speak; `render` fills it with the reason's values, put in words of the same language.
ENGLISH: dict[Code, str] = {
    Code.subject_unknown: "this business does not know you",
    Code.subject_erased: "you asked for your data to be erased",
    Code.consent_not_required: "it is a service message about something you arranged",
    Code.consent_missing: "you have not agreed to {purpose} from this business",
    Code.consent_denied: "you said no to {purpose} from this business",
    Code.consent_withdrawn: "you withdrew your consent to {purpose}",
    Code.consent_expired: "your consent to {purpose} has expired",
    Code.consent_gpc: "your browser's Global Privacy Control signal refuses {purpose}",
    Code.consent_channel_not_granted: "you have not agreed to be contacted by {channels}",
    Code.consent_offer_purpose: "you have not agreed to {purpose}",
    Code.channel_not_allowed: "you switched off {channels}",
    Code.channel_not_offered: "this offer cannot be sent by {channels}",
    Code.context_do_not_disturb: "you asked not to be disturbed until {until}",
    Code.context_quiet_hours: "it is inside your quiet hours ({start} to {end})",
    Code.context_in_transit: "you're {situation} right now, which does not suit {channels}",
    Code.context_situation: "you're {situation} right now, which does not suit {channels}",
    Code.context_in_a_rush: "you said you're in a rush",
    Code.context_needs_help: "you said you need help right now, not offers",
    Code.context_no_moment_today: "no suitable moment is left today",
    Code.frequency_cap: "you allow at most {limit} messages a week by {channel}, and that many were sent",
    Code.topic_disliked: "you told us you don't like {topic}",
    Code.life_event_suppressed: "you asked for a pause on {topic} until {day}",
    Code.purchase_already_bought: "you already bought {item}",
    Code.purchase_recent_topic: "you just bought something on {topic}",
    Code.feedback_suppressed: "you set this offer aside recently",
    Code.sensitive_no_explicit_consent: "it touches a sensitive subject and you have not explicitly agreed to {purpose}",
    Code.sensitive_declared_only: "it touches a sensitive subject, so only what you told us counts",
    Code.country_mismatch: "it is meant for another country than yours ({country})",
    Code.country_unknown: "it is meant for particular countries and we don't know yours",
    Code.locale_mismatch: "it is not in your language ({locale})",
    Code.relevance_context: "{intent} {topics}",
    Code.relevance_persona: "it fits you as {persona} right now",
    Code.relevance_other_persona: "it is meant for you as someone other than {persona}",
    Code.relevance_interest: "you told us you like {topic}",
    Code.relevance_inferred: "it relates to {topic}, which the business noticed you buy or browse",
    Code.relevance_novelty: "you asked to be surprised now and then",
    Code.relevance_below_floor: "it is not relevant enough to you",
    Code.relevance_none: "nothing on offer is relevant enough to you",
    Code.allowed: "every check passed",
}
GERMAN: dict[Code, str] = {
    Code.subject_unknown: "Dieses Unternehmen kennt Sie nicht",
    Code.subject_erased: "Sie haben Ihre Daten löschen lassen",
    Code.consent_not_required: "Es ist eine Servicenachricht zu etwas, das Sie vereinbart haben",
    Code.consent_missing: "Sie haben dem Zweck „{purpose}“ bei diesem Unternehmen nicht zugestimmt",
    Code.consent_denied: "Sie haben dem Zweck „{purpose}“ bei diesem Unternehmen widersprochen",
    Code.consent_withdrawn: "Sie haben Ihre Einwilligung zum Zweck „{purpose}“ widerrufen",
    Code.consent_expired: "Ihre Einwilligung zum Zweck „{purpose}“ ist abgelaufen",
    Code.consent_gpc: "Das Global-Privacy-Control-Signal Ihres Browsers lehnt den Zweck „{purpose}“ ab",
    Code.consent_channel_not_granted: "Sie haben einer Kontaktaufnahme per {channels} nicht zugestimmt",
    Code.consent_offer_purpose: "Sie haben dem Zweck „{purpose}“ nicht zugestimmt",
    Code.channel_not_allowed: "Sie haben {channels} abgeschaltet",
    Code.channel_not_offered: "Dieses Angebot kann nicht per {channels} gesendet werden",
    Code.context_do_not_disturb: "Sie möchten bis {until} nicht gestört werden",
    Code.context_quiet_hours: "Es ist gerade Ihre Ruhezeit ({start} bis {end})",
    Code.context_in_transit: "Sie sind gerade {situation}, das passt nicht zu {channels}",
    Code.context_situation: "Sie sind gerade {situation}, das passt nicht zu {channels}",
    Code.context_in_a_rush: "Sie haben gesagt, dass Sie es eilig haben",
    Code.context_needs_help: "Sie haben gesagt, dass Sie gerade Hilfe brauchen, keine Angebote",
    Code.context_no_moment_today: "Heute bleibt kein passender Zeitpunkt mehr",
    Code.frequency_cap: "Sie erlauben höchstens {limit} Nachrichten pro Woche per {channel}, und so viele wurden "
    "schon gesendet",
    Code.topic_disliked: "Sie haben uns gesagt, dass Sie {topic} nicht mögen",
    Code.life_event_suppressed: "Sie haben {topic} bis {day} pausiert",
    Code.purchase_already_bought: "Sie haben {item} schon gekauft",
    Code.purchase_recent_topic: "Sie haben gerade etwas zum Thema {topic} gekauft",
    Code.feedback_suppressed: "Sie haben dieses Angebot kürzlich beiseitegelegt",
    Code.sensitive_no_explicit_consent: "Es berührt ein sensibles Thema, und Sie haben dem Zweck „{purpose}“ "
    "nicht ausdrücklich zugestimmt",
    Code.sensitive_declared_only: "Es berührt ein sensibles Thema, daher zählt nur, was Sie uns gesagt haben",
    Code.country_mismatch: "Es ist für ein anderes Land als Ihres gedacht ({country})",
    Code.country_unknown: "Es ist für bestimmte Länder gedacht, und wir kennen Ihres nicht",
    Code.locale_mismatch: "Es ist nicht in Ihrer Sprache ({locale})",
    Code.relevance_context: "Es geht um {topics}, und Sie {intent}",
    Code.relevance_persona: "Es passt gerade zu Ihnen als {persona}",
    Code.relevance_other_persona: "Es richtet sich an Sie in einer anderen Rolle als {persona}",
    Code.relevance_interest: "Sie haben uns gesagt, dass Sie {topic} mögen",
    Code.relevance_inferred: "Es hat mit {topic} zu tun, und das Unternehmen hat bemerkt, dass Sie so etwas "
    "kaufen oder ansehen",
    Code.relevance_novelty: "Sie möchten ab und zu überrascht werden",
    Code.relevance_below_floor: "Es ist für Sie nicht relevant genug",
    Code.relevance_none: "Nichts im Angebot ist für Sie relevant genug",
    Code.allowed: "Alle Prüfungen sind bestanden",
}
FRENCH: dict[Code, str] = {
    Code.subject_unknown: "cette entreprise ne vous connaît pas",
    Code.subject_erased: "vous avez demandé l'effacement de vos données",
    Code.consent_not_required: "c'est un message de service sur quelque chose que vous avez convenu",
    Code.consent_missing: "vous n'avez pas accepté « {purpose} » de la part de cette entreprise",
    Code.consent_denied: "vous avez refusé « {purpose} » de la part de cette entreprise",
    Code.consent_withdrawn: "vous avez retiré votre consentement à « {purpose} »",
    Code.consent_expired: "votre consentement à « {purpose} » a expiré",
    Code.consent_gpc: "le signal Global Privacy Control de votre navigateur refuse « {purpose} »",
    Code.consent_channel_not_granted: "vous n'avez pas accepté d'être contacté par {channels}",
    Code.consent_offer_purpose: "vous n'avez pas accepté « {purpose} »",
    Code.channel_not_allowed: "vous avez désactivé {channels}",
    Code.channel_not_offered: "cette offre ne peut pas être envoyée par {channels}",
    Code.context_do_not_disturb: "vous avez demandé à ne pas être dérangé jusqu'à {until}",
    Code.context_quiet_hours: "c'est pendant vos heures de calme ({start} à {end})",
    Code.context_in_transit: "vous êtes {situation} en ce moment, ce qui ne convient pas à {channels}",
    Code.context_situation: "vous êtes {situation} en ce moment, ce qui ne convient pas à {channels}",
    Code.context_in_a_rush: "vous avez dit être pressé",
    Code.context_needs_help: "vous avez dit avoir besoin d'aide en ce moment, pas d'offres",
    Code.context_no_moment_today: "il ne reste aucun moment adapté aujourd'hui",
    Code.frequency_cap: "vous autorisez au plus {limit} messages par semaine par {channel}, et ils ont été envoyés",
    Code.topic_disliked: "vous nous avez dit ne pas aimer {topic}",
    Code.life_event_suppressed: "vous avez demandé une pause sur {topic} jusqu'au {day}",
    Code.purchase_already_bought: "vous avez déjà acheté {item}",
    Code.purchase_recent_topic: "vous venez d'acheter quelque chose sur le thème {topic}",
    Code.feedback_suppressed: "vous avez récemment mis cette offre de côté",
    Code.sensitive_no_explicit_consent: "cela touche un sujet sensible et vous n'avez pas expressément accepté "
    "« {purpose} »",
    Code.sensitive_declared_only: "cela touche un sujet sensible, donc seul ce que vous nous avez dit compte",
    Code.country_mismatch: "c'est destiné à un autre pays que le vôtre ({country})",
    Code.country_unknown: "c'est destiné à certains pays et nous ne connaissons pas le vôtre",
    Code.locale_mismatch: "ce n'est pas dans votre langue ({locale})",
    Code.relevance_context: "cela concerne {topics}, et vous {intent}",
    Code.relevance_persona: "cela vous convient en tant que {persona} en ce moment",
    Code.relevance_other_persona: "c'est destiné à vous dans un autre rôle que {persona}",
    Code.relevance_interest: "vous nous avez dit aimer {topic}",
    Code.relevance_inferred: "cela concerne {topic}, et l'entreprise a remarqué que vous en achetez ou en "
    "regardez",
    Code.relevance_novelty: "vous avez demandé à être surpris de temps en temps",
    Code.relevance_below_floor: "ce n'est pas assez pertinent pour vous",
    Code.relevance_none: "rien de ce qui est proposé n'est assez pertinent pour vous",
    Code.allowed: "toutes les vérifications sont passées",
}
SENTENCES: dict[str, dict[Code, str]] = {"en": ENGLISH, "de": GERMAN, "fr": FRENCH}
DEFAULT = "en"
LANGUAGES = tuple(SENTENCES)
MESSAGES = ENGLISH  # the API's default language

# The words a sentence is filled with: the decision's frame, and the values the engine gives as keys.
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "sending": "Sending “{title}” by {channel} because {because}.",
        "refusing": "Not sending: {because}{when}.",
        "better_moment": "; a better moment is {at} ({zone})",
        "next_moment": "; no suitable moment is left today, the next is {at} ({zone})",
        "unshared_topic": "one of its topics",
        "chosen_day": "a date you chose",
        "this_offer": "this offer",
        "intent.browsing": "you're browsing",
        "intent.buying": "you're looking to buy",
        "intent.researching": "you're researching",
        "intent.in-a-rush": "you're in a rush",
        "intent.need-help": "you need help",
        "intent.": "you're interested in",
    },
    "de": {
        "sending": "„{title}“ wird per {channel} gesendet: {because}.",
        "refusing": "Wird nicht gesendet: {because}{when}.",
        "better_moment": "; ein besserer Zeitpunkt ist {at} ({zone})",
        "next_moment": "; heute bleibt kein passender Zeitpunkt mehr, der nächste ist {at} ({zone})",
        "unshared_topic": "eines seiner Themen",
        "chosen_day": "zu einem von Ihnen gewählten Datum",
        "this_offer": "diesem Angebot",
        "intent.browsing": "stöbern gerade",
        "intent.buying": "möchten etwas kaufen",
        "intent.researching": "informieren sich gerade",
        "intent.in-a-rush": "haben es eilig",
        "intent.need-help": "brauchen Hilfe",
        "intent.": "interessieren sich gerade dafür",
        "channel.email": "E-Mail",
        "channel.sms": "SMS",
        "channel.push": "App-Benachrichtigung",
        "channel.phone": "Anruf",
        "channel.post": "Post",
        "channel.in-app": "In-App-Nachricht",
        "purpose.service": "Servicenachrichten",
        "purpose.marketing": "Marketing",
        "purpose.personalised-offers": "Personalisierte Angebote",
        "purpose.partner-sharing": "Weitergabe an Partner",
        "purpose.analytics": "Analyse",
        "purpose.health-offers": "Gesundheitsangebote",
        "purpose.financial-offers": "Finanzangebote",
        "situation.home": "zu Hause",
        "situation.work": "bei der Arbeit",
        "situation.commuting": "auf dem Arbeitsweg",
        "situation.travelling": "auf Reisen",
        "situation.out": "unterwegs",
    },
    "fr": {
        "sending": "Envoi de « {title} » par {channel} : {because}.",
        "refusing": "Pas d'envoi : {because}{when}.",
        "better_moment": " ; un meilleur moment est {at} ({zone})",
        "next_moment": " ; il ne reste aucun moment adapté aujourd'hui, le prochain est {at} ({zone})",
        "unshared_topic": "l'un de ses thèmes",
        "chosen_day": "une date que vous avez choisie",
        "this_offer": "cette offre",
        "intent.browsing": "regardez en ce moment",
        "intent.buying": "cherchez à acheter",
        "intent.researching": "vous renseignez",
        "intent.in-a-rush": "êtes pressé",
        "intent.need-help": "avez besoin d'aide",
        "intent.": "vous y intéressez en ce moment",
        "channel.email": "e-mail",
        "channel.sms": "SMS",
        "channel.push": "notification d'application",
        "channel.phone": "appel",
        "channel.post": "courrier",
        "channel.in-app": "message dans l'application",
        "purpose.service": "Messages de service",
        "purpose.marketing": "Marketing",
        "purpose.personalised-offers": "Offres personnalisées",
        "purpose.partner-sharing": "Partage avec des partenaires",
        "purpose.analytics": "Statistiques",
        "purpose.health-offers": "Offres santé",
        "purpose.financial-offers": "Offres financières",
        "situation.home": "à la maison",
        "situation.work": "au travail",
        "situation.commuting": "en trajet",
        "situation.travelling": "en voyage",
        "situation.out": "dehors",
    },
}


assert set(ENGLISH) == set(Code) == set(MEANING), "every reason code needs a meaning and a message"
assert all(set(sentences) == set(Code) for sentences in SENTENCES.values()), "a language lacks a sentence"


class Reason(NamedTuple):
    """A reason as the engine gives it: its code and the plain values (strings, numbers, tuples of
    strings, ISO 8601 moments) its sentence needs; the sentence itself is written by `render`."""

    code: Code
    params: Mapping[str, Any] = {}

    @property
    def message(self) -> str:
        """The sentence in English, the API's default language."""
        return render(self)


class Explanation(NamedTuple):
    """The decision in one sentence, as values: `explain` writes it. Sending names the offer's title
    and channel and a reason for it; not sending, the first reason and when a better moment comes."""

    because: Reason
    title: str | None = None  # sending: the offer's title
    channel: str | None = None
    retry: str | None = None  # not sending: a better moment, ISO 8601 on the customer's clock
    zone: str | None = None  # the customer's time zone, named
    next_day: bool = False  # the better moment is not today

    def as_json(self) -> dict[str, Any]:
        """A JSON value `from_json` reads back, to write the explanation again later, in any language."""
        return {
            **self._asdict(),
            "because": {"code": str(self.because.code), "params": dict(self.because.params)},
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Explanation:
        because = value["because"]
        return cls(**{**value, "because": Reason(Code(because["code"]), because["params"])})


def reason(code: Code, **values: Any) -> Reason:
    # _make skips Reason()'s Python-level __new__: a decision builds dozens of reasons
    return Reason._make((code, values)) if values else _PLAIN[code]


_PLAIN = {code: Reason(code) for code in Code}


def language(wanted: Iterable[str]) -> str:
    """The first of `wanted` (languages, most wanted first) that sentences are written in, else English."""
    return next((w for w in wanted if w in SENTENCES), DEFAULT)


def render(reason: Reason, language: str = DEFAULT) -> str:
    """The reason's sentence in `language` (English if it is not one of `LANGUAGES`)."""
    if language not in SENTENCES:
        language = DEFAULT
    if not reason.params:
        return SENTENCES[language][reason.code]
    return SENTENCES[language][reason.code].format_map(_values(reason, WORDS[language], language))


def explain(explanation: Explanation, language: str = DEFAULT) -> str:
    """The decision's one-sentence explanation in `language` (English if it is not one of `LANGUAGES`)."""
    if language not in SENTENCES:
        language = DEFAULT
    words = WORDS[language]
    because = render(explanation.because, language)
    if explanation.title is not None:
        channel = _name(words, "channel", explanation.channel or "")
        return words["sending"].format(title=explanation.title, channel=channel, because=because)
    when = ""
    if explanation.retry is not None:
        moment = datetime.fromisoformat(explanation.retry)
        frame = "next_moment" if explanation.next_day else "better_moment"
        at = _moment(moment, language, weekday=explanation.next_day)
        when = words[frame].format(at=at, zone=explanation.zone)
    return words["refusing"].format(because=because, when=when)


def _values(reason: Reason, words: dict[str, str], language: str) -> dict[str, str]:
    """The reason's values in words of `language`: names for keys, the language's dates and lists."""
    found: dict[str, str] = {}
    for key, value in reason.params.items():
        if key in ("purpose", "channel", "situation"):
            found[key] = _name(words, key, value)
        elif key == "channels":
            found[key] = (
                ", ".join(_name(words, "channel", c) for c in value) if value else words["this_offer"]
            )
        elif key == "topics":
            found[key] = ", ".join(value)
        elif key == "intent":
            found[key] = words.get(f"intent.{value or ''}", words["intent."])
        elif key == "topic":
            found[key] = words["unshared_topic"] if value is None else value
        elif key == "until":
            moment = datetime.fromisoformat(value)
            found[key] = _moment(moment, language, weekday=not reason.params.get("today", True), day=True)
        elif key == "day":
            found[key] = words["chosen_day"] if value is None else _day(date.fromisoformat(value), language)
        else:
            found[key] = str(value)
    return found


def _name(words: dict[str, str], kind: str, key: str) -> str:
    return words.get(f"{kind}.{key}", key)


def _moment(moment: datetime, language: str, *, weekday: bool, day: bool = False) -> str:
    """A time on the customer's clock; with the weekday (and the date, if `day`) when it is not today."""
    if language == DEFAULT:  # as the API has always written it
        return (
            f"{moment:%A %d %B %H:%M}"
            if weekday and day
            else f"{moment:%A %H:%M}"
            if weekday
            else f"{moment:%H:%M}"
        )
    with_day, _ = PATTERNS[language]
    pattern = with_day if weekday and day else "EEEE HH:mm" if weekday else "HH:mm"
    return format_datetime(moment, pattern, tzinfo=moment.tzinfo, locale=language)


def _day(day: date, language: str) -> str:
    return f"{day:%d %B %Y}" if language == DEFAULT else format_date(day, PATTERNS[language][1], locale=language)


# Babel's patterns for a weekday with its date and time, and for a date, in each language but English.
PATTERNS = {"de": ("EEEE, d. MMMM, HH:mm", "d. MMMM y"), "fr": ("EEEE d MMMM, HH:mm", "d MMMM y")}
