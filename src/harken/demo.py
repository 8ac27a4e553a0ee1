"""Demo data: three businesses and customers from the stories Harken was built for."""

from __future__ import annotations

from datetime import timedelta

from harken.clock import system_clock
from harken.consent import service as consent_service
from harken.consent.schemas import Channel, ConsentPut, Method, Status
from harken.console import Store
from harken.db import session_scope
from harken.ledger import keys
from harken.ledger.service import Notary
from harken.orgs import service as org_service
from harken.subjects import service as subject_service

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
        "explorer-tom": [("marketing", Status.granted, [Channel.email]), ("marketing", Status.withdrawn, [])],
        "canadian-chloe": [("marketing", Status.granted, [Channel.email, Channel.post])],
    },
}


def load(store: Store) -> dict[str, str]:
    """Create what is missing (orgs, customers, notices, consents) and issue a fresh API key per org."""
    ring = keys.load_or_create(store.settings.keys_dir)
    notary = Notary(ring, store.settings.checkpoint_every)
    issued: dict[str, str] = {}
    now = system_clock()
    with session_scope(store.sessions) as session:
        for name, customers in ORGS.items():
            org = org_service.by_name(session, name)
            if org is None:
                org, key = org_service.create(session, name=name, now=now)
            else:
                key = org_service.issue_key(session, org=org, now=now)
            issued[name] = key
            for purpose, text in NOTICES.items():
                consent_service.put_notice(session, org=org, purpose=purpose, text=text, locale="en", now=now)
            for ref, decisions in customers.items():
                _, created = subject_service.register(session, org=org, ref=ref, now=now)
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
    return issued
