"""The console's overview page: each chart's text table and CSV hold the numbers the API answered for the
same data, and nothing of another org's; the date range's default and its errors; data in a label is text
in the SVG and the table, never markup; signed out is the sign-in page."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from harken.console import overview
from harken.decisions.models import DecisionFeedback
from tests.console.conftest import Shop, Staffer
from tests.console.test_overview import Counted, story
from tests.factories import T0, FixedClock

SVG = "{http://www.w3.org/2000/svg}"
Numbers = dict[str, list[list[str]]]  # chart slug → its text table's rows of cells, headers first


class TextTables(HTMLParser):
    """Each chart section's text table, as the page lists it: a row of cells (th or td) per <tr>."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: Numbers = {}
        self.slug: str | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section" and found.get("class") == "chart":
            self.slug = found["id"]
            self.tables[str(self.slug)] = []
        elif tag == "tr" and self.slug:
            self.tables[self.slug].append([])
        elif tag in ("th", "td") and self.slug:
            self.cell = []

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self.slug and self.cell is not None:
            self.tables[self.slug][-1].append("".join(self.cell).strip())
            self.cell = None


def text_tables(page: str) -> Numbers:
    parser = TextTables()
    parser.feed(page)
    return parser.tables


def counted(rows: list[list[str]]) -> Counter[tuple[str, str]]:
    """(key, column) → number, for each non-zero cell below the header row; no totals row."""
    header, *body = rows
    return Counter(
        {
            (row[0], column): int(cell)
            for row in body
            if row[0] != "total"
            for column, cell in zip(header[1:], row[1:], strict=True)
            if int(cell)
        }
    )


def download(staffer: Staffer, slug: str, query: str = "", status: int = 200) -> list[list[str]]:
    response = staffer.get(f"/console/overview/{slug}.csv{query}", status)
    return list(csv.reader(io.StringIO(response.text)))


@pytest.fixture
def two_shops(shop_of: Callable[[str], Shop], clock: FixedClock) -> tuple[Shop, Counted, Shop, Counted]:
    """Two orgs with three days of traffic each through the API (`story`); the hotel's alone has a spa
    offer, a decision on it, and push consents."""
    airline, hotel = shop_of("Skyway Airlines"), shop_of("Harbour Hotel")
    ours = story(airline.api, clock)
    clock.now = T0
    theirs = story(hotel.api, clock, grants=False)
    hotel.api.offer("harbour-spa", topics=["spa"], channels=["push"])
    hotel.api.customer("guest", grant={"personalised-offers": ["push"]})
    theirs.decide("guest", ["harbour-spa"], ["push"])
    return airline, ours, hotel, theirs


def test_the_page_and_the_csv_show_what_the_api_answered_and_nothing_of_another_org(
    two_shops: tuple[Shop, Counted, Shop, Counted], clock: FixedClock
) -> None:
    airline, ours, hotel, theirs = two_shops
    for shop, numbers, refs in (
        (airline, ours, ["ana", "ben", "cat", "dan"]),
        (hotel, theirs, ["ana", "ben", "cat", "dan", "guest"]),
    ):
        staffer = shop.staff(f"ana@{shop.org.name.split()[0].lower()}.test", role="viewer")
        page = staffer.get("/console").text  # the default range, the last 30 days: the story's days in it
        tables = text_tables(page)
        assert counted(tables["decisions"]) == numbers.outcomes
        assert counted(tables["not-sent"]) == numbers.first_reasons
        assert counted(tables["feedback"]) == numbers.feedback
        assert sum(counted(tables["relevance"]).values()) == len(numbers.sent_scores)
        consents = numbers.consents(refs, clock.now)
        from_api = Counter(
            {
                (day, status, f"{purpose} · {channel}"): n
                for (day, purpose, channel, status), n in consents.items()
            }
        )
        from_page = Counter(
            {
                (day, status, unescape(re.sub(r"<[^>]+>", "", heading)).removeprefix("Consents: ")): n
                for slug, heading in re.findall(r'<h3 id="(consents-[a-z0-9-]+)-heading">([^<]+)</h3>', page)
                for (day, status), n in counted(tables[slug]).items()
            }
        )
        assert from_api and from_page == from_api
        for slug, rows in tables.items():  # the CSV: the text table's rows, without the totals
            assert download(staffer, slug) == [row for row in rows if row[0] != "total"]

    airline_staff = airline.staff("bo@skyway.test")
    page = airline_staff.get("/console").text
    assert "harbour-spa" not in page and "push" not in page
    assert "harbour-spa" not in "".join(
        airline_staff.get(f"/console/overview/{s}.csv").text for s in text_tables(page)
    )
    hotel_staff = hotel.staff("bo@harbour.test")
    assert "consents-personalised-offers-push" in text_tables(hotel_staff.get("/console").text)
    airline_staff.get("/console/overview/consents-personalised-offers-push.csv", 404)  # only the hotel's
    airline_staff.get("/console/overview/no-such-chart.csv", 404)


def test_a_csv_is_named_and_typed_for_download_with_its_header_row(
    two_shops: tuple[Shop, Counted, Shop, Counted],
) -> None:
    airline, ours, _, _ = two_shops
    staffer = airline.staff("bo@skyway.test")
    query = "?since=2026-11-02&until=2026-11-05"
    response = staffer.get(f"/console/overview/decisions.csv{query}")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="harken-decisions-2026-11-02-2026-11-05.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["day", "sent", "not sent"]
    assert [row[0] for row in rows[1:]] == ["2026-11-02", "2026-11-03", "2026-11-04"]
    expected = [[str(ours.outcomes[(day, c)]) for c in ("sent", "not sent")] for day, *_ in rows[1:]]
    assert [row[1:] for row in rows[1:]] == expected
    assert response.text.endswith("\r\n") and 'href="/console/overview/decisions.csv' in staffer.get(
        f"/console{query}"
    ).text.replace("&amp;", "&")
    assert download(staffer, "feedback", query)[0] == ["offer", *overview.FEEDBACK_COLUMNS]


def test_the_range_defaults_to_the_last_30_days_and_a_bad_one_is_the_page_again_saying_why(
    shop_of: Callable[[str], Shop], clock: FixedClock
) -> None:
    shop = shop_of("Corner Shop")
    staffer = shop.staff("eve@corner.test")
    today = clock.now.date()
    page = unescape(staffer.get("/console").text)
    since, until = today - timedelta(days=29), today + timedelta(days=1)
    assert f"from {since.isoformat()} up to, but not including, {until.isoformat()}" in page
    assert f'value="{since.isoformat()}"' in page and f'value="{until.isoformat()}"' in page
    assert [row[0] for row in text_tables(page)["decisions"][1:-1]] == overview.days(since, until)
    assert len(text_tables(page)["decisions"]) == 1 + 30 + 1  # headers, 30 days, totals

    for query, field in (
        ("since=yesterday", "since"),
        ("since=2026-11-02&until=2026-13-01", "until"),
        ("since=2026-11-05&until=2026-11-05", "until"),
        ("since=2026-11-05&until=2026-11-01", "until"),
        ("since=2025-01-01&until=2026-11-01", "until"),
    ):
        refused = staffer.get(f"/console?{query}", 422).text
        assert f'id="{field}-error"' in refused and f'aria-describedby="{field}-error"' in refused, query
        assert 'class="chart"' not in refused
        assert (
            staffer.get(f"/console/overview/decisions.csv?{query}", 422)
            .headers["content-type"]
            .startswith("text/html")
        )
    kept = staffer.get("/console?since=yesterday", 422).text
    assert 'value="yesterday"' in kept  # what was typed, kept

    one_day = text_tables(staffer.get("/console?since=2026-11-02&until=2026-11-03").text)
    assert one_day["decisions"] == [
        ["day", "sent", "not sent"],
        ["2026-11-02", "0", "0"],
        ["total", "0", "0"],
    ]


def test_data_in_a_label_is_text_in_the_svg_the_table_and_the_csv_never_markup(
    shop_of: Callable[[str], Shop], session: Session
) -> None:
    shop = shop_of("Corner Shop")
    story_of = story(shop.api, FixedClock())
    decision_id, _ = story_of.decision_ids[0]
    shop.api.call("POST", f"/v1/decisions/{decision_id}/feedback", {"kind": "accepted"}, status=204)
    evil = '<b>x</b>&"'
    session.execute(
        update(DecisionFeedback).where(DecisionFeedback.org_id == shop.org.id).values(offer_id=evil)
    )
    session.commit()
    staffer = shop.staff("eve@corner.test")
    page = staffer.get("/console?since=2026-11-01&until=2026-11-10").text
    assert "<b>" not in page and "&lt;b&gt;x&lt;/b&gt;&amp;" in page
    [svg] = re.findall(r'<svg[^>]*id="chart-feedback".*?</svg>', page, re.S)
    root = ElementTree.fromstring(svg)
    assert not [e for e in root.iter() if e.tag in ("b", f"{SVG}b")]  # no element made from the label
    assert evil in [e.text for e in root.iter(f"{SVG}text")]
    assert [row[0] for row in text_tables(page)["feedback"][1:-1]] == [evil]
    assert download(staffer, "feedback", "?since=2026-11-01&until=2026-11-10")[1][0] == evil


def test_charts_allow_their_own_styles_by_a_nonce_and_nothing_else(shop_of: Callable[[str], Shop]) -> None:
    shop = shop_of("Corner Shop")
    staffer = shop.staff("eve@corner.test")
    response = staffer.get("/console")
    [nonce] = re.findall(
        r"style-src 'self' 'nonce-([A-Za-z0-9_-]+)';", response.headers["content-security-policy"]
    )
    styles = re.findall(r"<style[^>]*>", response.text)
    assert styles and all(f'nonce="{nonce}"' in style for style in styles)
    assert "<script" not in response.text and " style=" not in response.text
    assert nonce not in staffer.get("/console").headers["content-security-policy"]  # a new one each time


def test_signed_out_is_the_sign_in_page_and_a_viewer_reads_the_charts(
    shop_of: Callable[[str], Shop], client: TestClient
) -> None:
    shop = shop_of("Corner Shop")
    stranger = TestClient(client.app, follow_redirects=False)
    for path in ("/console", "/console/overview/decisions.csv", "/console?since=2026-11-01&until=2026-11-02"):
        response = stranger.get(path)
        assert (response.status_code, response.headers["location"]) == (303, "/console/sign-in"), path
    viewer = shop.staff("vi@corner.test", role="viewer")
    assert "decisions" in text_tables(viewer.get("/console").text)
    assert download(viewer, "decisions")[0] == ["day", "sent", "not sent"]
