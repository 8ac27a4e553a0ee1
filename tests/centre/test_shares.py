"""Shares made and taken back in the Preference Centre, checked where it matters: in what each business
reads with GET /v1/shares/{id}, at once."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harken.shares.models import Share, ShareGrant
from tests.centre_client import Visitor, csrf_of
from tests.stories.conftest import Business, Customer

EMAIL = "sam@example.com"
NOT_FOUND = "There is nothing here"
PERSON_ONLY = "Only you can do this, signed in with your email"
SHARE_ID = re.compile(r'action="/centre/shares/([0-9a-f-]{36})/revoke"')


class Trip:
    """Sam flies LHR to FRA; a hotel and a taxi firm are on the hub too. Sam is signed in."""

    def __init__(self, business: Callable[[str], Business], visitor: Callable[..., Visitor]) -> None:
        self.airline, self.hotel, self.taxi = (
            business("Skyway Airlines"),
            business("Harbour Hotel"),
            business("City Taxi"),
        )
        self.sam: Customer = self.airline.customer("sam", email=EMAIL)
        self.ids = {b["name"]: b["id"] for b in self.sam.call("GET", "/v1/me/directory")}
        self.me = visitor()
        self.me.sign_in(EMAIL)

    def share(self, grants: dict[str, tuple[str, list[str]]], **form: Any) -> str:
        """Share through the page's form (name -> purpose and fields); the new share's id."""
        before = set(SHARE_ID.findall(self.me.get("/centre/shares").text))
        data = {"label": "Frankfurt", "expires": "1d", **TRIP, **form}
        for name, (purpose, fields) in grants.items():
            data[f"purpose-{self.ids[name]}"] = purpose
            data[f"fields-{self.ids[name]}"] = fields
        done = self.me.submit("/centre/shares", "/centre/shares", data)
        assert done.headers["location"] == "/centre/shares?done=shared"
        made: set[str] = set(SHARE_ID.findall(self.me.get("/centre/shares").text)) - before
        [share_id] = made
        return share_id


TRIP = {
    "trip.flight": "lh903",
    "trip.origin": "LHR",
    "trip.destination": "fra",
    "trip.status": "delayed",
    "trip.delay_minutes": "120",
    "trip.arrives_at": "2026-11-02T21:40",
    "trip.party_size": "2",
}


@pytest.fixture
def trip(business: Callable[[str], Business], visitor: Callable[..., Visitor]) -> Trip:
    return Trip(business, visitor)


def test_each_business_named_reads_exactly_its_fields_and_no_other_reads_at_all(trip: Trip) -> None:
    trip.sam.preferences(time_zone="Europe/Berlin")  # the arrival is typed on Sam's clock
    trip.sam.context(situation="travelling")
    share = trip.share(
        {
            "Harbour Hotel": ("service", ["trip.arrives_at", "trip.party_size"]),
            "City Taxi": ("service", ["trip.destination", "trip.arrives_at", "context"]),
        }
    )

    hotel = trip.hotel.call("GET", f"/v1/shares/{share}")
    assert hotel["purpose"] == "service" and hotel["ref"] is None
    assert hotel["data"] == {"trip.arrives_at": "2026-11-02T21:40:00+01:00", "trip.party_size": 2}
    taxi = trip.taxi.call("GET", f"/v1/shares/{share}")
    assert set(taxi["data"]) == {"trip.destination", "trip.arrives_at", "context"}
    assert taxi["data"]["trip.destination"] == "FRA" and taxi["data"]["context"]["situation"] == "travelling"
    trip.airline.call("GET", f"/v1/shares/{share}", status=404)  # Sam's airline, but not named

    page = trip.me.get("/centre/shares?done=shared").text
    assert "Shared. Each business you chose can read its part now" in page
    assert '<h2 id="share-' in page and ">Frankfurt</h2>" in page
    assert (
        page.index("<dt>Flight</dt>")
        < page.index("<dt>Arrival</dt>")
        < page.index("<dt>How many of you</dt>")
    )
    assert "LH903" in page and "Delayed" in page and "120 min" in page and "2 Nov 2026, 21:40" in page
    assert "For Service messages: Arrival, How many of you" in page
    assert page.count("read 1 time so far") == 2
    assert "Harbour Hotel read what you shared with it: Arrival, How many of you." in page


def test_taking_a_share_back_from_one_business_stops_it_at_once_and_not_the_others(trip: Trip) -> None:
    share = trip.share(
        {
            "Skyway Airlines": ("service", ["trip.delay_minutes"]),
            "Harbour Hotel": ("service", ["trip.arrives_at"]),
        }
    )
    assert trip.airline.call("GET", f"/v1/shares/{share}")["data"] == {"trip.delay_minutes": 120}
    trip.hotel.call("GET", f"/v1/shares/{share}")

    hotel = trip.ids["Harbour Hotel"]
    done = trip.me.submit("/centre/shares", f"/centre/shares/{share}/orgs/{hotel}/revoke")
    assert done.headers["location"] == "/centre/shares?done=unshared"
    trip.hotel.call("GET", f"/v1/shares/{share}", status=404)
    trip.airline.call("GET", f"/v1/shares/{share}")
    page = trip.me.get("/centre/shares").text
    assert f'action="/centre/shares/{share}/orgs/{hotel}/revoke"' not in page
    assert "Taken back" in page and "Can read it" in page and "read 2 times so far" in page
    # The airline deals with Sam: its reads are also where the centre shows what it asked.
    businesses = trip.me.get("/centre/businesses").text
    assert businesses.count("Skyway Airlines read what you shared with it: Delay in minutes.") == 2

    trip.me.submit("/centre/shares", f"/centre/shares/{share}/revoke")
    trip.airline.call("GET", f"/v1/shares/{share}", status=404)
    page = trip.me.get("/centre/shares").text
    assert "You took it back on" in page and "Can read it" not in page
    assert f'action="/centre/shares/{share}/revoke"' not in page


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"trip.flight": "not a flight"}, "trip.flight"),
        ({"trip.origin": "London"}, "trip.origin"),
        ({"trip.party_size": "0"}, "trip.party_size"),
        ({"trip.delay_minutes": "soon"}, "trip.delay_minutes"),
        ({"trip.arrives_at": "tonight"}, "trip.arrives_at"),
        ({"trip.status": "boarding"}, "trip.status"),
        ({"label": "x" * 81}, "label"),
        ({"expires": "1y"}, "expires"),
        ({"fields-{hotel}": []}, "businesses"),
        ({"fields-{hotel}": ["trip.gate"]}, "fields-{hotel}"),
        ({"trip.arrives_at": ""}, "fields-{hotel}"),  # ticked, but the trip does not say it
        ({"purpose-{hotel}": "gossip"}, "purpose-{hotel}"),
        ({"fields-{nobody}": ["context"], "purpose-{nobody}": "service"}, "org-{nobody}"),
    ],
)
def test_bad_input_names_the_field_keeps_what_was_typed_and_writes_nothing(
    trip: Trip, session: Session, changes: dict[str, Any], field: str
) -> None:
    hotel, nobody = trip.ids["Harbour Hotel"], str(uuid.uuid4())
    data = {
        **TRIP,
        "label": "Frankfurt",
        "expires": "1d",
        f"purpose-{hotel}": "service",
        f"fields-{hotel}": ["trip.arrives_at"],
    }
    data.update({k.format(hotel=hotel, nobody=nobody): v for k, v in changes.items()})
    refused = trip.me.submit("/centre/shares", "/centre/shares", data, status=422)
    assert 'class="error-summary" role="alert"' in refused.text
    named = field.format(hotel=hotel, nobody=nobody).replace(".", "-")
    assert f'<p class="error" id="{named}-error">' in refused.text or field.startswith("org-")  # by its field
    assert (
        "Input should" not in refused.text and "Value error" not in refused.text
    )  # in words, not pydantic's
    if field == "fields-{hotel}":
        assert "Harbour Hotel: " in refused.text  # the message names the business
    assert 'value="Frankfurt"' in refused.text or field == "label"  # the form as typed, to correct
    for model in (Share, ShareGrant):
        assert session.execute(select(func.count()).select_from(model)).scalar_one() == 0


def test_another_customers_share_is_the_same_404_as_a_made_up_one(
    trip: Trip, visitor: Callable[..., Visitor]
) -> None:
    share = trip.share({"Harbour Hotel": ("service", ["trip.arrives_at"])})
    trip.airline.customer("priya", email="priya@example.com")
    priya = visitor()
    priya.sign_in("priya@example.com")
    assert share not in priya.get("/centre/shares").text
    csrf = csrf_of(priya.get("/centre/shares").text)
    hotel, made_up = trip.ids["Harbour Hotel"], str(uuid.uuid4())
    for action in ("/centre/shares/{share}/revoke", f"/centre/shares/{{share}}/orgs/{hotel}/revoke"):
        hers = priya.http.post(action.format(share=share), data={"csrf": csrf})
        nobodys = priya.http.post(action.format(share=made_up), data={"csrf": csrf})
        assert hers.status_code == nobodys.status_code == 404
        assert NOT_FOUND in hers.text and "Frankfurt" not in hers.text
        assert hers.text.replace(share, "ID") == nobodys.text.replace(made_up, "ID")
    # Sam's own share, from a business it never named: not found either, and nothing taken back.
    taxi = trip.ids["City Taxi"]
    csrf = csrf_of(trip.me.get("/centre/shares").text)
    unnamed = trip.me.http.post(f"/centre/shares/{share}/orgs/{taxi}/revoke", data={"csrf": csrf})
    assert unnamed.status_code == 404 and NOT_FOUND in unnamed.text
    trip.hotel.call("GET", f"/v1/shares/{share}")


def test_a_session_from_an_app_may_neither_make_nor_take_back_shares(
    trip: Trip, visitor: Callable[..., Visitor], session: Session
) -> None:
    """A business's app acts inside its window only: carrying the person's context to other businesses,
    or taking it back, is for the verified person alone."""
    in_centre = trip.share({"Harbour Hotel": ("service", ["trip.arrives_at"])})
    token = trip.airline.call("POST", "/v1/subjects/sam/sessions")["token"]
    in_app = visitor()
    in_app.open_from_app(token)
    assert in_centre not in in_app.get("/centre/shares").text
    csrf = csrf_of(in_app.get("/centre/shares").text)
    hotel = trip.ids["Harbour Hotel"]
    for action in (f"/centre/shares/{in_centre}/revoke", f"/centre/shares/{in_centre}/orgs/{hotel}/revoke"):
        refused = in_app.http.post(action, data={"csrf": csrf})
        assert refused.status_code == 403 and PERSON_ONLY in refused.text
    trip.hotel.call("GET", f"/v1/shares/{in_centre}")

    made_there = {"label": "From the app", "expires": "1h", f"fields-{hotel}": ["trip.flight"], **TRIP}
    made = in_app.submit(
        "/centre/shares", "/centre/shares", {**made_there, f"purpose-{hotel}": "service"}, 403
    )
    assert PERSON_ONLY in made.text
    assert session.execute(select(func.count()).select_from(Share)).scalar_one() == 1
    assert "From the app" not in trip.me.get("/centre/shares").text
