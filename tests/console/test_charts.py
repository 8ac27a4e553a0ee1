"""The overview's charts: an SVG with no script, titled and described, that draws each series' numbers and
is the same for the same numbers; a text table and a CSV with those numbers; and, built through the API,
the numbers the API answered."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from harken.console import charts, overview
from harken.console.charts import Chart, Kind
from harken.console.overview import Overview, Row, Table
from harken.orgs.models import Org
from tests.factories import T0, FixedClock
from tests.stories.conftest import Business

SVG = "{http://www.w3.org/2000/svg}"
SINCE, UNTIL = date(2026, 11, 2), date(2026, 11, 5)
DAYS = overview.days(SINCE, UNTIL)


def table(columns: tuple[str, ...] = ("sent", "not sent"), *rows: Row) -> Table:
    return Table(
        "Decisions per day",
        "day",
        columns,
        rows or (Row(DAYS[0], (3, 1)), Row(DAYS[1], (0, 0)), Row(DAYS[2], (12, 7))),
    )


def chart(kind: Kind = Kind.stacked, numbers: Table | None = None, slug: str = "decisions") -> Chart:
    return Chart(
        slug,
        "Decisions asked per day, by whether the answer was to send.",
        numbers or table(),
        kind,
        SINCE,
        UNTIL,
    )


def drawn(svg: str) -> dict[str, list[tuple[str, int]]]:
    """Each series the SVG draws (by its legend) → its points as (x label, value), read from the picture."""
    root = ElementTree.fromstring(svg)
    names = {
        legend.get("id", "").removeprefix("activate-"): legend.findtext(f"{SVG}text")
        for legend in root.iter(f"{SVG}g")
        if "legend" in legend.get("class", "").split()
    }
    found: dict[str, list[tuple[str, int]]] = {}
    for group in root.iter(f"{SVG}g"):
        serie = next((c for c in group.get("class", "").split() if re.fullmatch(r"serie-\d+", c)), None)
        if serie is None:
            continue
        values = [d.text or "" for d in group.iter(f"{SVG}desc") if d.get("class") == "value"]
        labels = [d.text or "" for d in group.iter(f"{SVG}desc") if d.get("class") == "x_label"]
        points = found.setdefault(str(names[serie]), [])  # a line's path and its dots are two groups
        points += [(label, int(value)) for label, value in zip(labels, values, strict=True)]
    return found


@pytest.mark.parametrize("kind", list(Kind))
def test_the_svg_parses_runs_no_script_and_is_titled_and_described(kind: Kind) -> None:
    svg = charts.svg(chart(kind))
    root = ElementTree.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    assert (
        "<script" not in svg
        and "javascript" not in svg.lower()
        and "http://" not in svg.replace(SVG[1:-1], "")
    )
    title, desc = root[0], root[1]
    assert (title.tag, title.text) == (f"{SVG}title", "Decisions per day")
    assert (desc.tag, desc.text) == (
        f"{SVG}desc",
        "Decisions asked per day, by whether the answer was to send.",
    )
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"


@pytest.mark.parametrize("kind", list(Kind))
def test_the_svg_draws_each_series_numbers_by_its_name(kind: Kind) -> None:
    assert drawn(charts.svg(chart(kind))) == {
        "sent": [(DAYS[0], 3), (DAYS[1], 0), (DAYS[2], 12)],
        "not sent": [(DAYS[0], 1), (DAYS[1], 0), (DAYS[2], 7)],
    }


def test_the_same_numbers_draw_the_same_svg_and_other_charts_their_own_ids() -> None:
    once, again = charts.svg(chart()), charts.svg(chart(numbers=table()))
    assert once == again
    other = charts.svg(chart(slug="not-sent"))
    assert 'id="chart-decisions"' in once and 'id="chart-not-sent"' in other
    assert "chart-decisions" not in other  # two charts on one page do not style each other
    changed = charts.svg(chart(numbers=table(("sent", "not sent"), Row(DAYS[0], (3, 2)))))
    assert changed != once


def test_a_chart_with_nothing_says_so() -> None:
    empty = Table("Feedback per offer", "offer", overview.FEEDBACK_COLUMNS, ())
    svg = charts.svg(chart(Kind.bars, empty, "feedback"))
    assert "Nothing in this range" in svg
    assert charts.csv_text(chart(Kind.bars, empty)) == "offer,accepted,dismissed,not-relevant,opted-out\r\n"
    assert charts.text_table(chart(Kind.bars, empty)).rows == ()


def test_the_csv_round_trips_to_the_same_numbers() -> None:
    numbers = table()
    read = list(csv.reader(io.StringIO(charts.csv_text(chart(numbers=numbers)))))
    assert read[0] == ["day", "sent", "not sent"]
    assert [Row(key, tuple(int(n) for n in counts)) for key, *counts in read[1:]] == list(numbers.rows)


def test_a_csv_quotes_what_would_break_a_column() -> None:
    bins = Table("Relevance of what was sent", "score", ("sent",), (Row("[0.25, 0.50)", (4,)),))
    read = list(csv.reader(io.StringIO(charts.csv_text(chart(Kind.bars, bins)))))
    assert read == [["score", "sent"], ["[0.25, 0.50)", "4"]]


def test_the_text_table_lists_the_numbers_and_their_totals() -> None:
    listed = charts.text_table(chart())
    assert listed.caption == "Decisions asked per day, by whether the answer was to send."
    assert listed.headers == ("day", "sent", "not sent")
    assert listed.rows == (
        (DAYS[0], "3", "1"),
        (DAYS[1], "0", "0"),
        (DAYS[2], "12", "7"),
        ("total", "15", "8"),
    )


def test_slugs_are_safe_in_ids_urls_and_file_names() -> None:
    assert charts.slug("consents", "marketing · in-app") == "consents-marketing-in-app"
    assert charts.slug("consents", "<script>") == "consents-script"
    assert chart().csv_filename == "harken-decisions-2026-11-02-2026-11-05.csv"


@pytest.fixture
def business(client: TestClient, session: Session) -> Callable[[str], Business]:
    return lambda name: Business(client, session, name)


def test_the_charts_show_the_numbers_the_api_answered(
    business: Callable[[str], Business], clock: FixedClock, session: Session
) -> None:
    shop = business("Corner Shop")
    shop.offer("coffee-beans", topics=["coffee"], channels=["email"])
    shop.customer("ana", grant={"marketing": ["email"]}).preferences(interests={"coffee": 0.9})
    shop.customer("ben")
    answered: Counter[tuple[str, str]] = Counter()
    why: Counter[tuple[str, str]] = Counter()
    for day in range(3):
        clock.now = T0 + timedelta(days=day)
        for ref in ("ana", "ben", "nobody")[: day + 1]:
            answer = shop.decide(ref, ["coffee-beans"], ["email"])
            answered[(answer["at"][:10], "sent" if answer["allowed"] else "not sent")] += 1
            if not answer["allowed"]:
                why[(answer["at"][:10], answer["reasons"][0]["code"])] += 1
    org_id = session.execute(select(Org.id).where(Org.name == "Corner Shop")).scalar_one()
    since, until = T0.date(), T0.date() + timedelta(days=4)

    seen: Overview = overview.overview(session, org_id=org_id, since=since, until=until, now=clock.now)
    by_slug = {c.slug: c for c in charts.charts(seen)}
    assert list(by_slug) == [
        "decisions",
        "not-sent",
        "consents-marketing-email",
        "relevance",
        "feedback",
        "shares",
    ]

    for slug, expected in (("decisions", answered), ("not-sent", why)):
        shown = drawn(charts.svg(by_slug[slug]))
        assert (
            Counter({(day, name): n for name, points in shown.items() for day, n in points if n}) == expected
        )
        rows = list(csv.DictReader(io.StringIO(charts.csv_text(by_slug[slug]))))
        assert [r["day"] for r in rows] == overview.days(since, until)
        assert (
            Counter({(r["day"], name): int(r[name]) for r in rows for name in shown if int(r[name])})
            == expected
        )
    assert drawn(charts.svg(by_slug["consents-marketing-email"]))["granted"][0] == (since.isoformat(), 1)


def test_one_drawing_scales_with_its_page_and_another_size_keeps_its_numbers() -> None:
    root = ElementTree.fromstring(charts.svg(chart()))
    assert root.get("viewBox") == f"0 0 {charts.WIDTH} {charts.HEIGHT}" and root.get("width") is None
    narrow = charts.svg(chart(), width=400)
    assert ElementTree.fromstring(narrow).get("viewBox") == f"0 0 400 {charts.HEIGHT}"
    assert drawn(narrow) == drawn(charts.svg(chart()))


@pytest.mark.parametrize("kind", list(Kind))
def test_the_svg_holds_no_tooltip_data_and_no_coordinate_finer_than_a_tenth(kind: Kind) -> None:
    svg = charts.svg(chart(kind))
    root = ElementTree.fromstring(svg)
    assert {d.get("class") for d in root.iter(f"{SVG}desc") if d.get("class")} == {"value", "x_label"}
    assert "tooltip-trigger" not in svg and not re.search(r"\d\.\d\d", svg.split("</defs>")[1])


def test_a_page_of_charts_styles_them_all_with_one_stylesheet() -> None:
    styled = ElementTree.fromstring(charts.svg(chart(), nonce="n0nce"))
    [style] = styled.iter(f"{SVG}style")
    assert style.get("nonce") == "n0nce" and "#chart-decisions .color-1" in (style.text or "")
    plain = charts.svg(chart(), styled=False)
    assert "<style" not in plain and drawn(plain) == drawn(charts.svg(chart()))
    shared = charts.stylesheet()
    assert "#chart-" not in shared and "&gt;" not in shared and "</" not in shared
    assert ".pygal-chart .color-7" in shared  # every colour, for charts of up to eight series
    assert ElementTree.fromstring(plain).get("class") == "pygal-chart"
    # a chart's own rules are the page's, scoped to its id alone
    for rule in re.findall(
        r"[^{}]+\{[^}]*\}", (style.text or "").replace("#chart-decisions", "svg.pygal-chart")
    ):
        assert rule.strip() in shared


@pytest.mark.parametrize("kind", list(Kind))
def test_days_with_no_series_at_all_say_there_is_nothing(kind: Kind) -> None:
    no_reasons = Table("Why we did not send", "day", (), tuple(Row(day, ()) for day in DAYS))
    assert "Nothing in this range" in charts.svg(chart(kind, no_reasons, "not-sent"))
