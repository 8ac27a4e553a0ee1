"""Story 12, "Please delete me" — and 8 minutes later… (seeds 000, 001).

The customer withdraws marketing consent, then asks for erasure. Expected: withdrawal takes effect on
the very next decision; erasure removes the personal data, every org is told (webhook
`subject.erased`), every later decision for that customer is "don't send", and the audit ledger still
verifies.

Here the customer does both in the Preference Centre. The request for erasure is recorded and stops
all marketing at once, by every business; removing the data itself by crypto-shredding, and telling
every org by webhook, come with the integrations (webhooks, erasure) and are tested there.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from harken.config import Settings
from harken.ledger import keys
from harken.ledger import service as ledger_service
from tests.centre_client import Visitor
from tests.factories import FixedClock
from tests.stories.conftest import Business, codes


def test_withdrawal_then_deletion_in_the_centre(
    business: Callable[[str], Business],
    visitor: Callable[..., Visitor],
    clock: FixedClock,
    session: Session,
    settings: Settings,
) -> None:
    coffee, airline = business("Bean There"), business("Skyway Airlines")
    coffee.call("PUT", "/v1/notices/marketing", {"text": "Coupons by text message.", "locale": "en"})
    coffee.customer("c-9", email="sam@example.com", grant={"marketing": ["sms"]})
    airline.customer("sam", email="sam@example.com", grant={"marketing": ["email"]})
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

    sam = visitor()
    sam.sign_in("sam@example.com")
    consents = sam.get("/centre/consents").text
    bean_there = consents.split(">Bean There</h2>")[0].rsplit('id="org-', 1)[1].split('"', 1)[0]
    sam.submit("/centre/consents", f"/centre/consents/{bean_there}/marketing", {"decision": "withdraw"})

    # The very next decision.
    refused = coffee.decide("c-9", ["latte-coupon"], ["sms"])
    assert refused["allowed"] is False and codes(refused) == ["consent.withdrawn"]
    assert airline.decide("sam", ["weekend-fares"], ["email"])["allowed"] is True  # only what Sam withdrew

    clock.advance(minutes=8)
    sam.submit("/centre/data", "/centre/data/erase", {"confirm": "on"})
    for org, ref, offer, channel in (
        (coffee, "c-9", "latte-coupon", "sms"),
        (airline, "sam", "weekend-fares", "email"),
    ):
        later = org.decide(ref, [offer], [channel])
        assert later["allowed"] is False and codes(later) == ["consent.withdrawn"]
    # What Sam still needs for a flight he bought still reaches him.
    assert airline.decide("sam", ["gate-change"], ["sms"], purpose="service")["allowed"] is True

    reports = list(ledger_service.verify(session, keys=keys.load(settings.keys_dir)))
    assert reports and all(r.ok for r in reports), [r for r in reports if not r.ok]
