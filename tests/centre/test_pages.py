"""The Preference Centre's pages, through plain GETs and form POSTs as a browser without script sends
them; every change checked where it matters: in the next decision, in what a business sees, in the
receipts and the export."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from harken.jws import keys_from_jwks
from harken.ledger.receipts import verify_receipt
from tests.centre_client import Visitor
from tests.factories import FixedClock
from tests.stories.conftest import Business, candidate, codes

EMAIL = "priya@example.com"


def _shop(business: Callable[[str], Business], name: str = "Chapter & Verse") -> Business:
    shop = business(name)
    shop.call("PUT", "/v1/notices/marketing", {"text": "May we email you about new books?", "locale": "en"})
    shop.offer("thriller-week", topics=["thrillers"])
    shop.offer("borneo-guide", topics=["borneo", "travel"])
    return shop


def test_right_now_one_tap_each_reaches_the_next_decision(
    business: Callable[[str], Business], visitor: Callable[..., Visitor], clock: FixedClock
) -> None:
    shop = _shop(business)
    shop.customer("priya", email=EMAIL, grant={"marketing": ["email", "sms"]})
    me = visitor()
    me.sign_in(EMAIL)
    assert "Nothing right now" in me.get("/centre").text
    me.submit(
        "/centre/businesses",
        f"/centre/businesses/{_org_id(me, 'Chapter &amp; Verse')}/sharing",
        {"profile": "on"},
    )

    me.submit("/centre", "/centre/now", {"field": "situation", "value": "commuting"})
    me.submit("/centre", "/centre/now", {"field": "topics", "value": "Borneo, travel"})
    page = me.get("/centre?done=context").text
    assert "Commuting" in page and "borneo, travel" in page
    assert "This expires by itself at 2 Nov 2026, 12:10" in page  # 4 hours, on the customer's clock (UTC)
    sms = shop.decide("priya", ["borneo-guide"], ["sms"])
    assert sms["allowed"] is False and codes(sms) == ["context.in_transit"]
    email = shop.decide("priya", ["borneo-guide"], ["email"])
    assert email["allowed"] is True and email["offer"] == "borneo-guide"

    # Tapping the same situation again lifts it; do-not-disturb for an hour stops everything until then.
    me.submit("/centre", "/centre/now", {"field": "situation", "value": "commuting"})
    me.submit("/centre", "/centre/now", {"field": "dnd", "value": "1h"})
    page = me.get("/centre").text
    assert "Commuting" not in page.split("What businesses hear now")[1].split("</section>")[0]
    assert "until 2 Nov 2026, 09:10" in page
    held = shop.decide("priya", ["borneo-guide"], ["email"])
    assert codes(held) == ["context.do_not_disturb"]

    me.submit("/centre", "/centre/now", {"field": "clear"})
    assert "Nothing right now" in me.get("/centre").text
    assert shop.decide("priya", ["thriller-week"], ["email"])["allowed"] is False  # no signal any more
    clock.advance(minutes=5)
    assert shop.sees("priya").get("context") is None


def test_a_persona_added_and_chosen_in_the_centre(
    business: Callable[[str], Business], visitor: Callable[..., Visitor]
) -> None:
    shop = _shop(business)
    shop.customer("priya", email=EMAIL, grant={"marketing": ["email"], "personalised-offers": ["email"]})
    me = visitor()
    me.sign_in(EMAIL)
    me.submit("/centre", "/centre/personas", {"label": "Traveller", "interests": "borneo, travel"})
    me.submit("/centre", "/centre/now", {"field": "persona", "value": "traveller"})
    assert 'aria-pressed="true">Traveller' in me.get("/centre").text
    # Declared in the centre: it protects everywhere, but informs only businesses it is shared with.
    assert shop.decide("priya", ["borneo-guide"], ["email"])["allowed"] is False
    me.submit(
        "/centre/businesses",
        f"/centre/businesses/{_org_id(me, 'Chapter &amp; Verse')}/sharing",
        {"profile": "on"},
    )
    decided = shop.decide("priya", ["borneo-guide"], ["email"])
    assert decided["allowed"] is True and "relevance.persona" in codes(candidate(decided, "borneo-guide"))
    me.submit("/centre", "/centre/personas/traveller/remove")
    assert "Traveller" not in me.get("/centre").text


def _org_id(me: Visitor, name: str) -> str:
    page = me.get("/centre/businesses").text
    heading = page.index(f">{name}</h2>")
    return page[:heading].rsplit('id="org-', 1)[1].split('"', 1)[0]


def test_withdrawing_in_the_centre_refuses_the_next_decision_and_leaves_a_receipt(
    business: Callable[[str], Business], visitor: Callable[..., Visitor], client: TestClient
) -> None:
    shop = _shop(business)
    shop.customer("priya", email=EMAIL, grant={"marketing": ["email"]})
    shop.call(
        "PATCH", "/v1/subjects/priya/preferences", {"provenance": "inferred", "interests": {"thrillers": 0.9}}
    )
    assert shop.decide("priya", ["thriller-week"], ["email"])["allowed"] is True
    me = visitor()
    me.sign_in(EMAIL)
    page = me.get("/centre/consents").text
    assert "May we email you about new books?" in page and "The notice (version 1)" in page
    assert "Allowed" in page
    org = _org_id(me, "Chapter &amp; Verse")

    me.submit("/centre/consents", f"/centre/consents/{org}/marketing", {"decision": "withdraw"})
    refused = shop.decide("priya", ["thriller-week"], ["email"])
    assert refused["allowed"] is False and codes(refused) == ["consent.withdrawn"]
    history = shop.call("GET", "/v1/subjects/priya/consents/history?purpose=marketing")["items"]
    assert history[0]["status"] == "withdrawn" and history[0]["method"] == "preference-centre"
    assert history[0]["notice"]["version"] == 1

    # The receipt downloads as a file the customer keeps, signed by the hub.
    page = me.get("/centre/consents").text
    link = page.split('href="/centre/receipts/', 1)[1].split('"', 1)[0]
    download = me.get(f"/centre/receipts/{link}")
    assert download.headers["content-disposition"] == f'attachment; filename="receipt-{link}.json"'
    kept = download.json()
    assert kept["receipt"]["consent_status"] == "withdrawn"
    jwks = client.get("/.well-known/jwks.json").json()
    assert verify_receipt(kept["jws"], keys_from_jwks(jwks))["record_id"] == link

    # Granting again, by text message only.
    me.submit(
        "/centre/consents", f"/centre/consents/{org}/marketing", {"decision": "grant", "channels": ["sms"]}
    )
    assert shop.decide("priya", ["thriller-week"], ["email"])["allowed"] is False
    assert shop.decide("priya", ["thriller-week"], ["sms"])["allowed"] is True


def test_businesses_show_what_each_holds_what_it_asked_and_a_sharing_switch(
    business: Callable[[str], Business], visitor: Callable[..., Visitor]
) -> None:
    shop, airline = _shop(business), business("Skyway Airlines")
    shop.customer("priya", email=EMAIL, grant={"marketing": ["email"]})
    airline.customer("p-77", email=EMAIL, grant={"marketing": ["email"]})
    shop.call(
        "PATCH", "/v1/subjects/priya/preferences", {"provenance": "observed", "interests": {"thrillers": 0.9}}
    )
    shop.decide("priya", ["thriller-week"], ["email"])
    me = visitor()
    me.sign_in(EMAIL)
    me.submit("/centre/preferences", "/centre/preferences/interests", {"topic": "borneo", "affinity": "like"})

    page = me.get("/centre/businesses").text
    shop_part, airline_part = page.split("Skyway Airlines</h2>")[0], page.split("Skyway Airlines</h2>")[1]
    assert "Interest: thrillers" in shop_part and "the business saw it" in shop_part
    assert "asked whether it may contact you for Marketing (Email). Allowed." in shop_part
    assert "Interest: borneo" not in page  # declared in the centre, shared with nobody yet
    assert "It has not asked about you yet." in airline_part

    airline_id = _org_id(me, "Skyway Airlines")
    me.submit("/centre/businesses", f"/centre/businesses/{airline_id}/sharing", {"profile": "on"})
    assert airline.sees("p-77") == {"interest:borneo": {"affinity": 1.0}}
    assert "interest:thrillers" not in airline.sees("p-77")  # the bookshop's observation stays with it
    page = me.get("/centre/businesses").text
    assert "you share this with it" in page.split("Skyway Airlines</h2>")[1]

    me.submit("/centre/businesses", f"/centre/businesses/{airline_id}/sharing", {})
    assert airline.sees("p-77") == {}


def test_what_the_customer_changes_here_replaces_what_they_told_a_business(
    business: Callable[[str], Business], visitor: Callable[..., Visitor]
) -> None:
    shop = _shop(business)
    app = shop.customer("priya", email=EMAIL, grant={"marketing": ["email"]})
    app.preferences(interests={"thrillers": 0.9})
    assert shop.decide("priya", ["thriller-week"], ["email"])["allowed"] is True
    me = visitor()
    me.sign_in(EMAIL)
    assert 'value="like" checked' in me.get("/centre/preferences").text
    me.submit(
        "/centre/preferences", "/centre/preferences/interests", {"topic": "thrillers", "affinity": "never"}
    )
    assert "interest:thrillers" not in shop.sees("priya")  # the old "yes" is gone from the bookshop
    decided = shop.decide("priya", ["thriller-week"], ["email"])
    assert decided["allowed"] is False and "topic.disliked" in codes(decided["ranking"][0])


def test_preferences_save_and_bad_input_names_the_field_and_changes_nothing(
    business: Callable[[str], Business], visitor: Callable[..., Visitor]
) -> None:
    shop = _shop(business)
    shop.customer("priya", email=EMAIL, grant={"marketing": ["email", "sms"]})
    me = visitor()
    me.sign_in(EMAIL)
    me.submit(
        "/centre/preferences",
        "/centre/preferences/quiet-hours",
        {"start": "22:00", "end": "07:00", "time_zone": "Europe/London"},
    )
    me.submit(
        "/centre/preferences", "/centre/preferences/channels", {"allowed-email": "on", "limit-email": "2"}
    )
    me.submit(
        "/centre/preferences",
        "/centre/preferences/life-events",
        {"label": "New baby", "topics": "thrillers", "until": "2027-03-01"},
    )
    me.submit("/centre/preferences", "/centre/preferences/surprise", {"novelty": "often"})
    page = me.get("/centre/preferences").text
    assert 'value="22:00"' in page and 'value="Europe/London"' in page and 'value="2"' in page
    assert "New baby: leave thrillers alone until 1 Mar 2027, 00:00." in page
    assert 'value="often" checked' in page
    sms = shop.decide("priya", ["thriller-week"], ["sms"])
    assert codes(sms) == ["channel.not_allowed"]

    before = me.get("/centre/data/export").json()["data"]
    for action, data, field, said in (
        ("/centre/preferences/quiet-hours", {"start": "22:00", "end": "22:00"}, "end", "must differ"),
        (
            "/centre/preferences/quiet-hours",
            {"start": "22:00", "end": "07:00", "time_zone": "Mars/Olympus"},
            "time_zone",
            "Choose a time zone from the list",
        ),
        ("/centre/preferences/quiet-hours", {"start": "late", "end": "07:00"}, "start", "a time like 22:00"),
        ("/centre/preferences/quiet-hours", {"start": "22:00"}, "end", "Enter both times"),
        ("/centre/preferences/channels", {"limit-sms": "-3"}, "limit-sms", "Enter 0 or more."),
        ("/centre/preferences/channels", {"limit-sms": "lots"}, "limit-sms", "a whole number"),
        (
            "/centre/preferences/life-events",
            {"label": "Move", "topics": "", "until": "2027-01-01"},
            "topics",
            "Please fill this in.",
        ),
        (
            "/centre/preferences/life-events",
            {"label": "Move", "topics": "home", "until": "soon"},
            "until",
            "a date like 2027-03-01",
        ),
        (
            "/centre/preferences/life-events",
            {"label": "Past", "topics": "home", "until": "2020-01-01"},
            "until",
            "a day in the future",
        ),
        (
            "/centre/preferences/interests",
            {"topic": "Not A Topic!", "affinity": "like"},
            "topic",
            "lower-case",
        ),
        ("/centre/preferences/interests", {"topic": "borneo", "affinity": "adore"}, "affinity", "choose one"),
        ("/centre/preferences/surprise", {"novelty": "always"}, "novelty", "choose one"),
    ):
        refused = me.submit("/centre/preferences", action, data, status=422)
        error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', refused.text)
        assert error and said in error[1], (action, data, error)
        assert 'class="error-summary" role="alert"' in refused.text and error[1] in refused.text
        assert "Input should" not in refused.text and "Value error" not in refused.text
    assert me.get("/centre/data/export").json()["data"] == before


def test_the_centre_asks_the_businesses_questions_once(
    business: Callable[[str], Business], visitor: Callable[..., Visitor], clock: FixedClock
) -> None:
    shop = _shop(business)
    shop.call(
        "PUT",
        "/v1/questions/coffee-or-tea",
        {
            "text": {"en": "Coffee or tea?", "de": "Kaffee oder Tee?"},
            "fills": "interest:coffee",
            "options": [
                {"id": "coffee", "label": {"en": "Coffee", "de": "Kaffee"}, "value": {"affinity": 0.9}},
                {"id": "tea", "label": {"en": "Tea", "de": "Tee"}, "value": {"affinity": -0.5}},
            ],
            "intrusiveness": 1,
        },
    )
    shop.call(
        "PUT",
        "/v1/questions/walking",
        {
            "text": {"en": "Do you like walking holidays?"},
            "fills": "interest:walking",
            "options": [{"id": "yes", "label": {"en": "Yes"}, "value": {"affinity": 0.8}}],
            "intrusiveness": 1,
        },
    )
    shop.customer("priya", email=EMAIL)
    me = visitor()
    me.sign_in(EMAIL)
    org = _org_id(me, "Chapter &amp; Verse")
    page = me.get("/centre/businesses").text
    assert "Chapter &amp; Verse would like to know:" in page and "Coffee or tea?" in page

    me.submit(
        "/centre/businesses",
        f"/centre/businesses/{org}/answer",
        {"question_id": "coffee-or-tea", "option": "coffee"},
    )
    assert shop.sees("priya") == {}  # no consent for marketing: the field is not the bookshop's to read
    shop.call("PUT", "/v1/subjects/priya/consents/marketing", {"status": "granted", "channels": ["email"]})
    assert shop.sees("priya") == {"interest:coffee": {"affinity": 0.9}}
    assert "Coffee or tea?" not in me.get("/centre/businesses").text  # one question per week at most
    assert shop.client.get("/v1/subjects/priya/next-question", headers=shop.headers).status_code == 204

    clock.advance(days=7)
    me.sign_in(EMAIL)  # a sign-in lasts 12 hours
    me.submit(
        "/centre/businesses", f"/centre/businesses/{org}/answer", {"question_id": "walking", "decline": "1"}
    )
    clock.advance(days=30)
    me.sign_in(EMAIL)
    page = me.get("/centre/businesses").text
    assert (
        "walking" not in page and "Coffee or tea?" not in page
    )  # declined: not for 180 days; answered: never

    # An answer must name one of the question's options; nothing else is written.
    clock.advance(days=200)
    me.sign_in(EMAIL)
    assert "Do you like walking holidays?" in me.get("/centre/businesses").text
    refused = me.submit(
        "/centre/businesses",
        f"/centre/businesses/{org}/answer",
        {"question_id": "walking", "option": "maybe"},
        status=422,
    )
    assert '<p class="error" id="option-error">Choose an answer' in refused.text


def test_my_data_downloads_everything_and_deletion_stops_all_marketing(
    business: Callable[[str], Business], visitor: Callable[..., Visitor], client: TestClient
) -> None:
    shop, airline = _shop(business), business("Skyway Airlines")
    shop.customer("priya", email=EMAIL, grant={"marketing": ["email"], "personalised-offers": ["email"]})
    airline.customer("p-77", email=EMAIL, grant={"marketing": ["sms"]})
    signed = {"status": "granted", "channels": ["sms"], "evidence": {"form": "booking-7"}}
    airline.call("PUT", "/v1/subjects/p-77/consents/marketing", signed)
    shop.call(
        "POST", "/v1/subjects/priya/events", {"type": "purchase", "item": "isbn-1", "topics": ["thrillers"]}
    )
    shop.call(
        "PATCH", "/v1/subjects/priya/preferences", {"provenance": "inferred", "interests": {"thrillers": 0.6}}
    )
    airline.offer("gate-change", channels=["sms"])
    shop.decide("priya", ["thriller-week"], ["email"])
    me = visitor()
    me.sign_in(EMAIL)
    me.submit("/centre", "/centre/now", {"field": "situation", "value": "home"})

    download = me.get("/centre/data/export")
    assert download.headers["content-disposition"].startswith(
        'attachment; filename="harken-my-data-2026-11-02'
    )
    data = download.json()
    assert [b["name"] for b in data["businesses"]] == ["Chapter & Verse", "Skyway Airlines"]
    assert {(d["field"], d["provenance"], d["source"]) for d in data["data"]} == {
        ("context", "declared", "centre"),
        ("interest:thrillers", "inferred", "Chapter & Verse"),
    }
    assert {(c["business"], c["purpose"], c["status"]) for c in data["consents"]} == {
        ("Chapter & Verse", "marketing", "granted"),
        ("Chapter & Verse", "personalised-offers", "granted"),
        ("Skyway Airlines", "marketing", "granted"),
    }
    assert {"form": "booking-7"} in [c["evidence"] for c in data["consents"]]  # opened for its customer
    jwks = client.get("/.well-known/jwks.json").json()
    for consent in data["consents"]:
        assert verify_receipt(consent["receipt"]["jws"], keys_from_jwks(jwks))["record_id"] == consent["id"]
    assert data["events"][0]["item"] == "isbn-1" and data["decisions"][0]["business"] == "Chapter & Verse"
    assert EMAIL not in json.dumps(data)  # Harken never kept the address, only a keyed digest

    # Deleting needs the box ticked.
    refused = me.submit("/centre/data", "/centre/data/erase", {}, status=422)
    assert '<p class="error" id="confirm-error">Tick the box to confirm.</p>' in refused.text
    erased = me.submit("/centre/data", "/centre/data/erase", {"confirm": "on"})
    assert erased.headers["location"] == "/centre/sign-in?done=erased"
    assert "Your data is erased" in me.get("/centre/sign-in?done=erased").text
    me.get("/centre", status=303)  # signed out: the session went with everything else
    for org, ref, purpose, channels in (
        (shop, "priya", "marketing", ["email"]),
        (shop, "priya", "personalised-offers", ["email"]),
        (airline, "p-77", "marketing", ["sms"]),
        (airline, "p-77", "service", ["sms"]),  # not even service messages
    ):
        refused_now = org.decide(
            ref, ["thriller-week"] if org is shop else ["gate-change"], channels, purpose=purpose
        )
        assert codes(refused_now) == ["subject.erased"]


def test_through_a_business_app_deletion_stops_that_business_marketing(
    business: Callable[[str], Business], visitor: Callable[..., Visitor]
) -> None:
    shop, airline = _shop(business), business("Skyway Airlines")
    shop.customer("priya", email=EMAIL, grant={"marketing": ["email"]})
    airline.customer("p-77", email=EMAIL, grant={"marketing": ["email"], "service": ["email"]})
    me = visitor()
    me.open_from_app(airline.call("POST", "/v1/subjects/p-77/sessions")["token"])
    page = me.get("/centre/data").text
    # The words say what the button does from here: ask this business, stop its marketing; nothing
    # is erased anywhere else (only the person, signed in with their email, can erase everywhere).
    assert "Records your request that Skyway Airlines delete what it holds about you" in page
    assert "Nothing is erased at other businesses" in page
    assert ">Yes, ask Skyway Airlines to delete my data and stop its marketing now</label>" in page
    assert '<button type="submit" class="danger">Ask Skyway Airlines to delete my data</button>' in page
    assert "erase my data everywhere" not in page and ">Delete my data</button>" not in page
    done = me.submit("/centre/data", "/centre/data/erase", {"confirm": "on"})
    assert done.headers["location"] == "/centre/data?done=erasure"
    page = me.get("/centre/data?done=erasure").text
    assert "Your request is recorded, and that business&#39;s marketing has stopped." in page
    assert "On 2 Nov 2026, 08:10 you asked Skyway Airlines to delete your data." in page
    airline.offer("weekend-fares", topics=["travel"])
    assert codes(airline.decide("p-77", ["weekend-fares"], ["email"])) == ["consent.withdrawn"]
    shop.call(
        "PATCH", "/v1/subjects/priya/preferences", {"provenance": "observed", "interests": {"thrillers": 1}}
    )
    assert shop.decide("priya", ["thriller-week"], ["email"])["allowed"] is True  # the bookshop was not asked


def test_opened_from_a_business_app_the_centre_shows_that_business_only(
    business: Callable[[str], Business], visitor: Callable[..., Visitor]
) -> None:
    shop, airline = _shop(business), business("Skyway Airlines")
    shop.customer("priya", email=EMAIL, grant={"marketing": ["email"]})
    airline.customer("p-77", email=EMAIL)
    token = airline.call("POST", "/v1/subjects/p-77/sessions")["token"]
    me = visitor()
    me.open_from_app(token)
    page = me.get("/centre/businesses").text
    assert "Skyway Airlines</h2>" in page and "Chapter &amp; Verse" not in page
    assert "You opened this from Skyway Airlines&#39;s app" in page

    # What the customer says here goes to the airline, as through its app.
    me.submit("/centre", "/centre/now", {"field": "intent", "value": "researching"})
    airline.call("PUT", "/v1/subjects/p-77/consents/marketing", {"status": "granted", "channels": ["email"]})
    assert airline.sees("p-77")["context"]["intent"] == "researching"
    assert "context" not in shop.sees("priya")
    assert [b["name"] for b in me.get("/centre/data/export").json()["businesses"]] == ["Skyway Airlines"]
