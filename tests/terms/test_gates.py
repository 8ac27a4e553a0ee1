"""Accepted MyTerms are hard gates of the pure engine: "service delivery only" refuses every marketing and
personalised-offers decision, naming the agreement, while a service message passes; an offer serving a
purpose the terms exclude is dropped; terms that allow the purpose change nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from harken.decisions.engine import ConsentState, Interest, Offer, Profile, Request, Snapshot, Terms, decide
from harken.decisions.reasons import Code, render
from harken.terms import roster

AT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
BOOKS = Offer("thrillers", "New thrillers", topics=frozenset({"books"}))
SHIPPED = Offer("shipped", "Your order shipped", topics=frozenset({"books"}))


def terms(*ids: str) -> tuple[Terms, ...]:
    found = [roster.AGREEMENTS[i] for i in ids]
    return tuple(Terms(a.id, a.title, a.terms.allowed()) for a in found)


def snapshot(*ids: str) -> Snapshot:
    granted = ConsentState("granted", frozenset({"email"}), None, "api")
    return Snapshot(
        known=True,
        profile=Profile(interests={"books": Interest(1.0, "declared")}),
        consents={"marketing": granted, "personalised-offers": granted},
        terms=terms(*ids),
    )


def test_service_delivery_only_refuses_marketing_and_personalised_offers_naming_the_agreement() -> None:
    for purpose in ("marketing", "personalised-offers"):
        decision = decide(snapshot("SD-BASE"), Request(purpose, ("email",), (BOOKS,)), AT)
        assert not decision.allowed
        assert [r.code for r in decision.reasons] == [Code.terms_purpose_excluded]
        assert decision.reasons[0].params["agreement"] == "SD-BASE"
        assert ("terms.SD-BASE", "declared") in decision.data_used
    assert decide(snapshot(), Request("marketing", ("email",), (BOOKS,)), AT).allowed  # without: sent


def test_a_service_message_still_passes_and_a_marketing_offer_inside_it_is_dropped() -> None:
    sneaky = BOOKS._replace(id="sneaky", purpose="marketing")
    decision = decide(snapshot("SD-BASE"), Request("service", ("email",), (sneaky, SHIPPED)), AT)
    assert decision.allowed and decision.offer == "shipped"
    dropped = next(r for r in decision.ranking if r.offer_id == "sneaky")
    assert not dropped.eligible and [r.code for r in dropped.reasons] == [Code.terms_offer_purpose_excluded]


def test_terms_that_allow_the_purpose_change_nothing() -> None:
    request = Request("marketing", ("email",), (BOOKS,))
    assert decide(snapshot("NO-AI", "INTENT"), request, AT) == decide(snapshot(), request, AT)
    goods = decide(snapshot("GS-ONLY"), request, AT)
    assert goods.allowed  # its own goods, told to everyone alike
    assert not decide(snapshot("GS-ONLY"), Request("personalised-offers", ("email",), (BOOKS,)), AT).allowed


def test_the_reason_names_the_agreement_in_each_language() -> None:
    decision = decide(snapshot("SD-BASE"), Request("marketing", ("email",), (BOOKS,)), AT)
    why = decision.reasons[0]
    assert "Service delivery only" in render(why, "en")
    assert "Nur Leistungserbringung" in render(why, "de")
    assert "Fourniture du service uniquement" in render(why, "fr")


def test_the_machine_vocabulary_closes_the_purposes_it_names() -> None:
    sd = roster.AGREEMENTS["SD-BASE"].terms.allowed()
    assert sd == {"service"}
    assert "analytics" not in roster.AGREEMENTS["INTENT"].terms.allowed()
    assert "partner-sharing" not in roster.AGREEMENTS["INTENT"].terms.allowed()
    assert not roster.AGREEMENTS["NO-AI"].terms.ai_training
    assert all(a.id == key and a.version >= 1 and a.text for key, a in roster.AGREEMENTS.items())
