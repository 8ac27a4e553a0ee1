"""Story 11, "Remember what I told you" (seed 003).

Once the customer declared something (preferred channel, locale), every org the customer shares it
with sees it — and no org they did not share it with does. (That profiling never asks it again is
the Preference Centre issue's half of this story.)
"""

from __future__ import annotations

from collections.abc import Callable

from tests.stories.conftest import Business, Customer

EMAIL = "remember@example.org"


def test_declared_once_seen_by_every_org_it_is_shared_with(
    business: Callable[[str], Business], verified: Callable[[str], Customer]
) -> None:
    airline, hotel, taxi = business("Skyway Airlines"), business("Harbour Hotel"), business("Quick Taxis")
    at_airline = airline.customer("sky-1", email=EMAIL, grant={"marketing": ["email", "sms"]})
    at_hotel = hotel.customer("guest-42", email=EMAIL, grant={"marketing": ["email", "sms"]})
    taxi.customer("rider-9", email=EMAIL, grant={"marketing": ["email", "sms"]})
    me = verified(EMAIL)  # signed in, they confirmed the three businesses know them
    sharing = {b["name"]: f"/v1/me/sharing/{b['id']}" for b in me.call("GET", "/v1/me/directory")}

    at_airline.preferences(locale="en-GB", channels={"sms": {"allowed": False}, "email": {"allowed": True}})

    assert airline.sees("sky-1")["locale"] == {"value": "en-GB"}
    assert airline.sees("sky-1")["channel:sms"] == {"allowed": False, "max_per_week": None}
    assert "locale" not in hotel.sees("guest-42")  # not shared with the hotel yet
    assert "locale" not in taxi.sees("rider-9")

    me.call("PUT", sharing["Harbour Hotel"], {"profile": True, "purchases": False})

    assert hotel.sees("guest-42")["locale"] == {"value": "en-GB"}
    assert hotel.sees("guest-42")["channel:sms"] == {"allowed": False, "max_per_week": None}
    assert "locale" not in taxi.sees("rider-9")  # still not shared with the taxi firm

    hotel.offer("late-checkout", topics=["comfort"])
    at_hotel.preferences(interests={"comfort": 0.8})
    answer = hotel.decide("guest-42", ["late-checkout"], ["sms", "email"])
    assert answer["channel"] == "email"  # the preferred channel, told to the airline, holds here too

    question = {
        "text": {"en": "Which language shall we write in?"},
        "fills": "locale",
        "options": [{"id": "en-gb", "label": {"en": "English"}, "value": {"value": "en-GB"}}],
        "intrusiveness": 1,
    }
    hotel.call("PUT", "/v1/questions/language", question)
    taxi.call("PUT", "/v1/questions/language", question)
    asked = hotel.client.get("/v1/subjects/guest-42/next-question", headers=hotel.headers)
    assert asked.status_code == 204  # profiling never asks what the customer already told
    assert taxi.client.get("/v1/subjects/rider-9/next-question", headers=taxi.headers).status_code == 200

    me.call("PUT", sharing["Harbour Hotel"], {"profile": False, "purchases": False})
    assert "locale" not in hotel.sees("guest-42")  # and it stops the moment sharing stops


def test_an_org_sees_only_what_its_consented_purposes_need(business: Callable[[str], Business]) -> None:
    shop = business("Chapter & Verse Books")
    reader = shop.customer("n-1")
    reader.preferences(locale="en-GB", interests={"travel": 0.9})
    reader.context(intent="researching", topics=["travel"])

    assert set(shop.sees("n-1")) == {"locale"}  # service needs how to reach them, not what they like

    shop.call(
        "PUT", "/v1/subjects/n-1/consents/personalised-offers", {"status": "granted", "channels": ["email"]}
    )
    assert set(shop.sees("n-1")) == {"locale", "interest:travel", "context"}
