"""Reasons are codes with values; their sentences are written at the edge, in the reader's language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from harken.decisions.engine import ConsentState, Context, Offer, Profile, Request, Snapshot, decide
from harken.decisions.reasons import (
    LANGUAGES,
    SENTENCES,
    WORDS,
    Code,
    Explanation,
    Reason,
    explain,
    language,
    reason,
    render,
)
from tests.decisions.corpus import CASES, case

# Values for every placeholder a sentence may have, as the engine gives them.
VALUES = {
    "purpose": "marketing",
    "channels": ("email", "sms"),
    "channel": "sms",
    "until": "2026-11-04T09:30:00-05:00",
    "today": False,
    "start": "22:00",
    "end": "07:00",
    "situation": "commuting",
    "limit": 2,
    "topic": "travel",
    "day": "2026-12-03",
    "item": "boots-42",
    "country": "CA",
    "locale": "fr-CA",
    "intent": "buying",
    "topics": ("books", "toys"),
    "persona": "Parent",
    "agreement": "SD-BASE",  # MyTerms: the agreement's id, and its title (rendered in the reader's language)
    "title": "Service delivery only",
}


@pytest.mark.parametrize("code", list(Code))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_sentence_renders_with_the_values_the_engine_gives(code: Code, lang: str) -> None:
    sentence = render(Reason(code, VALUES), lang)
    assert sentence.strip() and "{" not in sentence and "}" not in sentence
    assert "None" not in sentence


def test_german_sentences_start_with_a_capital_and_use_german_quotes() -> None:
    for code, sentence in SENTENCES["de"].items():
        assert sentence[0].isupper() or sentence.startswith("{"), code
        assert '"' not in sentence and "'" not in sentence, code


def test_german_names_the_channels_purposes_and_moments_in_german() -> None:
    assert render(reason(Code.channel_not_allowed, channels=("email", "push")), "de") == (
        "Sie haben E-Mail, App-Benachrichtigung abgeschaltet"
    )
    assert render(reason(Code.consent_withdrawn, purpose="personalised-offers"), "de") == (
        "Sie haben Ihre Einwilligung zum Zweck „Personalisierte Angebote“ widerrufen"
    )
    assert render(
        reason(Code.context_do_not_disturb, until="2026-11-04T09:30:00-05:00", today=False), "de"
    ) == ("Sie möchten bis Mittwoch, 4. November, 09:30 nicht gestört werden")
    assert render(
        reason(Code.context_do_not_disturb, until="2026-11-04T09:30:00-05:00", today=True), "en"
    ) == ("you asked not to be disturbed until 09:30")
    assert render(reason(Code.life_event_suppressed, topic=None, day=None), "de") == (
        "Sie haben eines seiner Themen bis zu einem von Ihnen gewählten Datum pausiert"
    )
    assert render(reason(Code.context_situation, situation="out", channels=()), "de") == (
        "Sie sind gerade unterwegs, das passt nicht zu diesem Angebot"
    )


def test_a_language_without_sentences_falls_back_to_english() -> None:
    quiet = reason(Code.context_quiet_hours, start="22:00", end="07:00")
    assert render(quiet, "it") == render(quiet) == "it is inside your quiet hours (22:00 to 07:00)"
    assert language(["it", "de", "en"]) == "de" and language(["it"]) == language([]) == "en"
    assert language(["fr", "de"]) == "fr"
    assert set(LANGUAGES) == set(WORDS)


def test_the_explanation_is_written_in_the_asked_language() -> None:
    at = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
    snapshot = Snapshot(
        known=True,
        profile=Profile(
            context=Context(None, "buying", None, frozenset({"skiing"}), None, None, "declared"),
            time_zone="Europe/Berlin",
        ),
        consents={"marketing": ConsentState("granted", frozenset({"email"}), None, "api")},
    )
    skis = Offer("skis", "Touring skis", topics=frozenset({"skiing"}))
    decision = decide(snapshot, Request("marketing", ("email",), (skis,)), at)
    assert decision.explanation == "Sending “Touring skis” by email because you're looking to buy skiing."
    assert (
        explain(decision.explained, "de")
        == "„Touring skis“ wird per E-Mail gesendet: Es geht um skiing, und Sie möchten etwas kaufen."
    )
    refused = decide(Snapshot(known=False), Request("marketing", ("email",), (skis,)), at)
    assert explain(refused.explained, "de") == "Wird nicht gesendet: Dieses Unternehmen kennt Sie nicht."


def test_a_better_moment_is_named_on_the_customers_clock_in_their_language() -> None:
    held = Explanation(
        reason(Code.context_quiet_hours, start="22:00", end="07:00"),
        retry="2026-11-04T07:00:00+01:00",
        zone="Europe/Berlin",
        next_day=True,
    )
    assert explain(held) == (
        "Not sending: it is inside your quiet hours (22:00 to 07:00); no suitable moment is left today, "
        "the next is Wednesday 07:00 (Europe/Berlin)."
    )
    assert explain(held, "de") == (
        "Wird nicht gesendet: Es ist gerade Ihre Ruhezeit (22:00 bis 07:00); heute bleibt kein passender "
        "Zeitpunkt mehr, der nächste ist Mittwoch 07:00 (Europe/Berlin)."
    )


def test_an_explanation_reads_back_from_json_and_says_the_same() -> None:
    for seed in range(0, CASES, 7):
        explained = decide(*case(seed)).explained
        again = Explanation.from_json(explained.as_json())
        for lang in LANGUAGES:
            assert explain(again, lang) == explain(explained, lang)


def test_french_sentences_use_french_words_and_dates() -> None:
    assert render(reason(Code.consent_withdrawn, purpose="marketing"), "fr") == (
        "vous avez retiré votre consentement à « Marketing »"
    )
    assert render(reason(Code.life_event_suppressed, topic="meubles", day="2027-03-01"), "fr") == (
        "vous avez demandé une pause sur meubles jusqu'au 1 mars 2027"
    )
    quiet = Explanation(
        because=reason(Code.context_quiet_hours, start="22:00", end="07:00"),
        retry="2026-11-03T07:00:00+01:00",
        zone="Europe/Paris",
        next_day=True,
    )
    assert explain(quiet, "fr") == (
        "Pas d'envoi : c'est pendant vos heures de calme (22:00 à 07:00) ; il ne reste aucun moment adapté "
        "aujourd'hui, le prochain est mardi 07:00 (Europe/Paris)."
    )
