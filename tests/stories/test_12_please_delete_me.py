"""Story 12, "Please delete me" — and 8 minutes later… (seeds 000, 001).

The customer withdraws marketing consent, then asks for erasure. Expected: withdrawal takes effect on
the very next decision; erasure removes the personal data, every org is told (webhook
`subject.erased`), every later decision for that customer is "don't send", and the audit ledger still
verifies.

Here the customer does both in the Preference Centre, signed in as themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from harken.config import Settings
from harken.consent import proof
from harken.ledger import keys
from harken.ledger import service as ledger_service
from harken.models import Base
from harken.subjects import tokens
from harken.webhooks.destinations import Destinations
from harken.webhooks.models import OutboxEvent
from tests.centre_client import Visitor
from tests.factories import FixedClock
from tests.receiver import Receiver, receiving
from tests.stories.conftest import Business, codes
from tests.webhooks.conftest import Worker

EMAIL, NAME = "sam.rivera@example.com", "Sam Rivera"


def everything_stored(session: Session) -> str:
    """Every row of every table, as text: what someone with the database (or a backup) could read."""
    rows = []
    for table in Base.metadata.sorted_tables:
        rows += [repr(tuple(row)) for row in session.execute(text(f'SELECT * FROM "{table.name}"'))]
    return "\n".join(rows)


@pytest.fixture
def receivers(clock: FixedClock) -> Iterator[tuple[Receiver, Receiver]]:
    """Each org's own webhook endpoint, a real HTTP server on this machine."""
    with receiving(clock) as coffee, receiving(clock) as airline:
        yield coffee, airline


def test_withdrawal_then_erasure_in_the_centre(
    business: Callable[[str], Business],
    visitor: Callable[..., Visitor],
    clock: FixedClock,
    session: Session,
    sessions: sessionmaker[Session],
    settings: Settings,
    receivers: tuple[Receiver, Receiver],
) -> None:
    coffee, airline = business("Bean There"), business("Skyway Airlines")
    secrets = [
        org.call("POST", "/v1/webhooks", {"url": hooks.url, "events": ["subject.erased"]})["secret"]
        for org, hooks in zip((coffee, airline), receivers, strict=True)
    ]
    coffee.call("PUT", "/v1/notices/marketing", {"text": "Coupons by text message.", "locale": "en"})
    app = coffee.customer("c-9", email=EMAIL, grant={"marketing": ["sms"]})
    airline.customer("sam", email=EMAIL, grant={"marketing": ["email"]})
    signed = {"status": "granted", "channels": ["email"], "evidence": {"signed_by": NAME, "form": "booking"}}
    airline.call("PUT", "/v1/subjects/sam/consents/marketing", signed)
    app.call("PUT", "/v1/me/personas/runner", {"label": f"{NAME}, runner", "interests": ["deals"]})
    app.preferences(
        life_events={
            "wedding": {"label": f"{NAME}'s wedding", "topics": ["suits"], "until": "2027-06-01T00:00:00Z"}
        }
    )
    coffee.offer("latte-coupon", channels=["sms"])
    airline.offer("weekend-fares", channels=["email"])
    airline.offer("gate-change", channels=["sms"])
    for org, ref, offer, channel in (
        (coffee, "c-9", "latte-coupon", "sms"),
        (airline, "sam", "weekend-fares", "email"),
    ):
        org.call(
            "PATCH",
            f"/v1/subjects/{ref}/preferences",
            {"provenance": "observed", "interests": {"deals": 0.9}},
        )
        org.call("PUT", f"/v1/offers/{offer}", {"title": offer, "topics": ["deals"], "channels": [channel]})
        assert org.decide(ref, [offer], [channel])["allowed"] is True
    assert NAME not in everything_stored(session)  # sealed with Sam's own key, even before

    sam = visitor()
    sam.sign_in(EMAIL)
    consents = sam.get("/centre/consents").text
    bean_there = consents.split(">Bean There</h2>")[0].rsplit('id="org-', 1)[1].split('"', 1)[0]
    sam.submit("/centre/consents", f"/centre/consents/{bean_there}/marketing", {"decision": "withdraw"})

    # The very next decision.
    refused = coffee.decide("c-9", ["latte-coupon"], ["sms"])
    assert refused["allowed"] is False and codes(refused) == ["consent.withdrawn"]
    assert airline.decide("sam", ["weekend-fares"], ["email"])["allowed"] is True  # only what Sam withdrew

    clock.advance(minutes=8)
    sam.submit("/centre/data", "/centre/data/erase", {"confirm": "on"})

    # Every org is told, under its own ref: queued with the erasure, then sent by the worker, signed.
    payloads = session.execute(
        select(OutboxEvent.payload).where(OutboxEvent.type == "subject.erased")
    ).scalars()
    assert sorted(p["data"]["ref"] for p in payloads) == ["c-9", "sam"]
    secret = tokens.load_or_create_secret(settings.data_dir / "secret")
    allowed = Destinations(allowed=tuple(settings.webhook_allowed_networks))
    assert Worker(sessions, clock, secret, allowed).run() == 2
    for org, ref, hooks, hook_secret in zip(
        (coffee, airline), ("c-9", "sam"), receivers, secrets, strict=True
    ):
        [(_, told)] = hooks.events(hook_secret)
        assert (told["type"], told["data"]["ref"]) == ("subject.erased", ref)
        [delivery] = [d for d in org.call("GET", "/v1/webhooks/deliveries") if d["type"] == "subject.erased"]
        assert delivery["status"] == "delivered"
    # Every later decision is "don't send", service messages included.
    for org, ref, offer, channel, purpose in (
        (coffee, "c-9", "latte-coupon", "sms", "marketing"),
        (airline, "sam", "weekend-fares", "email", "marketing"),
        (airline, "sam", "gate-change", "sms", "service"),
    ):
        later = org.decide(ref, [offer], [channel], purpose=purpose)
        assert later["allowed"] is False and codes(later) == ["subject.erased"]
        assert "Sam" not in later["explanation"]
    # Nothing readable is left: not the email, not the name, not what Sam told.
    stored = everything_stored(session)
    for personal in (EMAIL, NAME, "Sam", "wedding", "suits", "runner"):
        assert personal not in stored, personal
    gone = coffee.call("GET", "/v1/subjects/c-9/export", status=410)
    assert gone["type"] == "/problems/subject-erased" and "c-9" not in gone["detail"]

    # The proof stays: the ledger verifies, and every consent record still matches its entry.
    reports = list(ledger_service.verify(session, keys=keys.load(settings.keys_dir)))
    assert reports and all(r.ok for r in reports), [r for r in reports if not r.ok]
    assert list(proof.audit(session)) == []
