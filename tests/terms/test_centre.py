"""The centre's "My terms" page: offer an agreement to every business or some, see each answer in the
customer's language, withdraw; a business's app may see its window's terms but proffers nothing."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from harken.terms.models import TermsProffer
from tests.centre_client import Visitor, csrf_of
from tests.stories.conftest import Business

EMAIL = "ines@example.com"
PERSON_ONLY = "Only you can do this, signed in with your email"
WITHDRAW = re.compile(r'action="/centre/terms/([0-9a-f-]{36})/withdraw"')


def test_offer_terms_to_some_businesses_see_the_answers_and_withdraw(
    business: Callable[[str], Business], visitor: Callable[..., Visitor], session: Session
) -> None:
    shop, cafe = business("Chapter One Books"), business("Bean There")
    shop.customer("ines", email=EMAIL)
    cafe.customer("c-9", email=EMAIL)
    me = visitor()
    me.sign_in(EMAIL)
    page = me.get("/centre/terms").text
    assert "Service delivery only" in page and "Chapter One Books" in page and "Bean There" in page
    shop_id = shop.call("GET", "/v1/terms/accepted")["org"]

    refused = me.submit("/centre/terms", "/centre/terms", {"agreement": "SD-BASE", "to": "some"}, status=422)
    assert 'id="orgs-error"' in refused.text and "tick at least one" in refused.text
    me.submit("/centre/terms", "/centre/terms", {"agreement": "NOPE", "to": "all"}, status=422)
    for orgs in (["not-an-id"], [str(uuid.uuid4())]):  # not an id; not a business she deals with
        bad = me.submit(
            "/centre/terms", "/centre/terms", {"agreement": "NO-AI", "to": "some", "orgs": orgs}, 422
        )
        assert 'id="orgs-error"' in bad.text
    assert session.execute(select(func.count()).select_from(TermsProffer)).scalar_one() == 0

    done = me.submit(
        "/centre/terms", "/centre/terms", {"agreement": "SD-BASE", "to": "some", "orgs": [shop_id]}
    )
    assert done.headers["location"] == "/centre/terms?done=proffered"
    assert cafe.call("GET", "/v1/terms/proffers")["items"] == []
    [proffer] = shop.call("GET", "/v1/terms/proffers")["items"]
    assert "Waiting for an answer." in me.get("/centre/terms").text
    shop.call("POST", f"/v1/terms/proffers/{proffer['id']}/alternative", {"agreement": "GS-ONLY"})
    assert "It offers “Goods and services only” instead." in me.get("/centre/terms").text
    german = me.http.get("/centre/terms?lang=de").text
    assert "Es bietet stattdessen „Nur Waren und Dienstleistungen“ an." in german
    me.http.get("/centre/terms?lang=en")  # the choice is remembered: back to English
    shop.call("POST", f"/v1/terms/proffers/{proffer['id']}/accept")
    assert "Accepted: these terms bind this business." in me.get("/centre/terms").text

    [found] = WITHDRAW.findall(me.get("/centre/terms").text)
    assert found == proffer["id"]
    withdrawn = me.submit("/centre/terms", f"/centre/terms/{found}/withdraw")
    assert withdrawn.headers["location"] == "/centre/terms?done=withdrawn"
    assert shop.call("GET", f"/v1/terms/proffers/{found}")["record"]["state"] == "withdrawn"


def test_a_session_from_an_app_sees_its_window_and_proffers_nothing(
    business: Callable[[str], Business], visitor: Callable[..., Visitor], session: Session
) -> None:
    shop = business("Chapter One Books")
    shop.customer("ines", email=EMAIL)
    me = visitor()
    me.sign_in(EMAIL)
    me.submit("/centre/terms", "/centre/terms", {"agreement": "NO-AI", "to": "all"})
    in_app = visitor()
    in_app.open_from_app(shop.call("POST", "/v1/subjects/ines/sessions")["token"])
    page = in_app.get("/centre/terms").text
    assert "No AI training" in page
    refused = in_app.submit("/centre/terms", "/centre/terms", {"agreement": "SD-BASE", "to": "all"}, 403)
    assert PERSON_ONLY in refused.text
    [found] = WITHDRAW.findall(page)
    gone = in_app.http.post(f"/centre/terms/{found}/withdraw", data={"csrf": csrf_of(page)})
    assert gone.status_code == 403 and PERSON_ONLY in gone.text
    assert session.execute(select(func.count()).select_from(TermsProffer)).scalar_one() == 1
