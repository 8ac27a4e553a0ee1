"""Demo data: three businesses and customers from the stories Harken was built for."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from harken.clock import system_clock
from harken.consent import service as consent_service
from harken.consent.schemas import Channel, ConsentPut, Method, Status
from harken.context import service as context_service
from harken.context.schemas import ContextPut, PersonaPut, PreferencesPatch, Provenance
from harken.db import session_scope
from harken.decisions import service as decision_service
from harken.decisions.schemas import OfferPut
from harken.ledger import keys
from harken.ledger.service import Notary
from harken.orgs import service as org_service
from harken.orgs.models import Org
from harken.profiling import service as profiling_service
from harken.profiling.schemas import QuestionPut
from harken.subjects import service as subject_service
from harken.subjects import tokens, vault
from harken.terminal import Store

NOTICES = {
    "service": "We message you about your bookings and orders: confirmations, changes and receipts.",
    "marketing": "May we send you news and offers about our own products? You can stop at any time.",
    "personalised-offers": "May we choose offers from what you tell us about yourself? Only what you tell us.",
}

ORGS: dict[str, dict[str, list[tuple[str, Status, list[Channel]]]]] = {
    "Skyway Airlines": {
        "traveller-lena": [
            ("service", Status.granted, [Channel.email, Channel.sms, Channel.push]),
            ("marketing", Status.granted, [Channel.email]),
        ],
        "parent-sam": [
            ("service", Status.granted, [Channel.email]),
            ("personalised-offers", Status.granted, [Channel.email, Channel.push]),
        ],
    },
    "Bean There Coffee": {
        "commuter-ana": [("marketing", Status.granted, [Channel.sms, Channel.push])],
        "fan-joe": [("marketing", Status.granted, [Channel.push]), ("analytics", Status.denied, [])],
    },
    "Chapter & Verse Books": {
        "reader-priya": [("personalised-offers", Status.granted, [Channel.email])],
        "reader-lena": [("marketing", Status.granted, [Channel.email])],
        "explorer-tom": [("marketing", Status.granted, [Channel.email]), ("marketing", Status.withdrawn, [])],
        "canadian-chloe": [("marketing", Status.granted, [Channel.email, Channel.post])],
    },
}

# Who signs in to the Preference Centre as whom (the link is printed by the console mailer).
# Lena is one person to two businesses: the airline's traveller-lena and the bookshop's reader-lena.
EMAILS = {
    "traveller-lena": "lena@example.com",
    "reader-lena": "lena@example.com",
    "parent-sam": "sam@example.com",
    "commuter-ana": "ana@example.com",
    "fan-joe": "joe@example.com",
    "reader-priya": "priya@example.com",
    "explorer-tom": "tom@example.com",
    "canadian-chloe": "chloe@example.com",
}
QUESTIONS: dict[str, dict[str, dict[str, Any]]] = {
    "Chapter & Verse Books": {
        "reading-genre": {
            "text": {"en": "Crime or travel writing?", "de": "Krimis oder Reiseliteratur?"},
            "fills": "interest:crime",
            "options": [
                {"id": "crime", "label": {"en": "Crime", "de": "Krimis"}, "value": {"affinity": 0.8}},
                {"id": "travel", "label": {"en": "Travel", "de": "Reisen"}, "value": {"affinity": -0.2}},
            ],
            "intrusiveness": 1,
        }
    },
}


OFFERS: dict[str, dict[str, dict[str, Any]]] = {
    "Skyway Airlines": {
        "weekend-fares": {"title": "Weekend fares to Lisbon", "topics": ["travel", "city-breaks"]},
        "family-holiday": {
            "title": "Family week in the Algarve",
            "topics": ["family", "beach"],
            "personas": ["parent"],
        },
        "lounge-pass": {"title": "Lounge pass", "topics": ["comfort"], "personas": ["employee"]},
        "gate-change": {"title": "Gate change", "channels": ["sms", "push"], "purpose": "service"},
    },
    "Bean There Coffee": {
        "coffee-coupon": {"title": "2-for-1 flat white", "topics": ["coffee"], "channels": ["sms", "push"]},
        "croissant-deal": {"title": "Croissant with any coffee", "topics": ["pastries"]},
    },
    "Chapter & Verse Books": {
        "borneo-guide": {"title": "Borneo: the travel guide", "topics": ["travel", "borneo"]},
        "nordic-noir": {"title": "A Nordic noir thriller", "topics": ["thriller"]},
        "picture-book": {"title": "A picture book", "topics": ["young-children"]},
        "thanksgiving-ca": {
            "title": "Happy Thanksgiving (Canada)",
            "topics": ["holidays"],
            "countries": ["CA"],
        },
        "thanksgiving-us": {"title": "Happy Thanksgiving (US)", "topics": ["holidays"], "countries": ["US"]},
    },
}

# What the demo customers told each business (declared), and one business's guess (inferred).
DECLARED: dict[str, dict[str, Any]] = {
    "commuter-ana": {
        "context": {"situation": "commuting"},
        "preferences": {"interests": {"coffee": 0.8, "pastries": 0.5}, "time_zone": "Europe/London"},
    },
    "fan-joe": {"context": {"do_not_disturb_until": 3}, "preferences": {"interests": {"coffee": 0.6}}},
    "parent-sam": {
        "personas": {
            "parent": {"label": "Parent", "interests": ["family", "beach"]},
            "employee": {"label": "Employee", "interests": ["comfort"]},
        },
        "context": {"persona": "parent", "situation": "home"},
    },
    "reader-priya": {
        "context": {"intent": "researching", "topics": ["travel", "borneo"]},
        "preferences": {"interests": {"thriller": -1}},
        "inferred": {"interests": {"young-children": 0.9, "retro-fashion": 0.8}},
    },
    "canadian-chloe": {"preferences": {"country": "CA", "locale": "en-CA", "interests": {"holidays": 0.6}}},
}


def load(store: Store) -> dict[str, str]:
    """Create what is missing (orgs, customers, notices, consents) and issue a fresh API key per org."""
    ring = keys.load_or_create(store.settings.keys_dir)
    notary = Notary(ring, store.settings.checkpoint_every)
    secret = tokens.load_or_create_secret(store.settings.data_dir / "secret")
    issued: dict[str, str] = {}
    now = system_clock()
    with session_scope(store.sessions) as session:
        vault.bind(session, secret)
        for name, customers in ORGS.items():
            org = org_service.by_name(session, name)
            if org is None:
                org, key = org_service.create(session, name=name, now=now)
            else:
                _, key = org_service.issue_key(session, org=org, by="operator", notary=notary, now=now)
            issued[name] = key
            for purpose, text in NOTICES.items():
                consent_service.put_notice(session, org=org, purpose=purpose, text=text, locale="en", now=now)
            for offer_id, spec in OFFERS[name].items():
                decision_service.put_offer(
                    session, org=org, offer_id=offer_id, body=OfferPut.model_validate(spec), now=now
                )
            for question_id, spec in QUESTIONS.get(name, {}).items():
                profiling_service.put_question(
                    session, org=org, question_id=question_id, body=QuestionPut.model_validate(spec), now=now
                )
            for ref, decisions in customers.items():
                digest = tokens.email_digest(secret, EMAILS[ref]) if ref in EMAILS else None
                _, created = subject_service.register(session, org=org, ref=ref, now=now, email_digest=digest)
                if not created:
                    continue
                for n, (purpose, status, channels) in enumerate(decisions):
                    change = ConsentPut(
                        status=status,
                        channels=channels,
                        method=Method.preference_centre,
                        captured_at=now - timedelta(days=len(decisions) - n),
                    )
                    consent_service.record(
                        session, org=org, ref=ref, purpose=purpose, change=change, notary=notary, now=now
                    )
                _tell(session, org, ref, notary, now)
    return issued


def _tell(session: Session, org: Org, ref: str, notary: Notary, now: datetime) -> None:
    """What the demo customer told this business, as if through its app (and what it guessed)."""
    told = DECLARED.get(ref, {})
    declared: list[context_service.Change] = []
    for key, persona in told.get("personas", {}).items():
        declared += context_service.persona_change(key, PersonaPut.model_validate(persona))
    if "context" in told:
        context = dict(told["context"])
        if "do_not_disturb_until" in context:  # hours from now
            context["do_not_disturb_until"] = now + timedelta(hours=context["do_not_disturb_until"])
        declared += context_service.context_changes(ContextPut.model_validate(context), now)
    if "preferences" in told:
        declared += context_service.preference_changes(
            PreferencesPatch.model_validate(told["preferences"]), now
        )
    inferred = context_service.preference_changes(
        PreferencesPatch.model_validate(told.get("inferred", {})), now
    )
    subject_id = subject_service.get(session, org=org, ref=ref).subject_id
    for provenance, changes in ((Provenance.declared, declared), (Provenance.inferred, inferred)):
        context_service.write(
            session,
            subject_id=subject_id,
            provenance=provenance,
            source=str(org.id),
            changes=changes,
            chain_id=org.chain,
            notary=notary,
            now=now,
        )
