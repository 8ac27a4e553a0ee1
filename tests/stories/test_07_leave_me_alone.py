"""Story 7, "Leave me alone to watch the match" (seeds 000, 001).

The customer set do-not-disturb until 22:00: every marketing request is denied with
`context.do_not_disturb` and `retry_after` = 22:00 in the customer's time zone; a service message with
legal basis *contract* (flight gate change) still goes through. After 22:00 the context has expired.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.factories import FixedClock
from tests.stories.conftest import Business, codes


def test_do_not_disturb_stops_marketing_but_not_service(
    business: Callable[[str], Business], clock: FixedClock
) -> None:
    airline = business("Skyway Airlines")
    clock.advance(hours=10)  # 18:10 UTC, 19:10 in Madrid
    fan = airline.customer("f-1", grant={"marketing": ["sms", "email", "push"]})
    fan.preferences(time_zone="Europe/Madrid", interests={"travel": 0.9})
    fan.context(do_not_disturb_until="2026-11-02T22:00:00+01:00")  # 22:00 in Madrid
    airline.offer("weekend-fares", topics=["travel"])
    airline.offer("gate-change-ib123", channels=["sms"])

    for channels in (["sms"], ["email"], ["push", "email"]):
        marketing = airline.decide("f-1", ["weekend-fares"], channels)
        assert marketing["allowed"] is False
        assert codes(marketing) == ["context.do_not_disturb"]
        assert marketing["retry_after"] == "2026-11-02T21:00:00Z"
        assert "22:00" in marketing["explanation"]

    service = airline.decide("f-1", ["gate-change-ib123"], ["sms"], purpose="service")
    assert service["allowed"] is True
    assert service["channel"] == "sms"
    assert "consent.not_required" in codes(service)

    clock.advance(hours=3)  # 21:10 UTC = 22:10 in Madrid: the context expired by itself
    fan = airline.customer("f-1")  # the app's next session
    assert not [d for d in fan.call("GET", "/v1/me")["data"] if d["field"] == "context"]
    assert airline.decide("f-1", ["weekend-fares"], ["sms"])["allowed"] is True
