"""The overview's charts, each in three forms drawn from one `overview.Table`: an SVG picture (pygal, on the
server, no JavaScript), the same numbers as an accessible text table, and a CSV download.

What each chart answers for the business:
- "Consents: <purpose> · <channel>": are customers granting, refusing, withdrawing, or letting lapse this
  purpose on this channel, day by day?
- "Decisions per day": how often did we ask, and how often was the answer "send"?
- "Why we did not send": what held our messages back: consent, quiet hours, in transit, relevance…?
- "Relevance of what was sent": did what we sent fit the customer well, or only just clear the floor?
- "Feedback per offer": which offers were accepted, dismissed, found not relevant, or made customers opt out?
- "Shares and credentials": how many shares customers granted us and we read, and how many of their
  credentials we verified.

Pure: tables in, text out; no database, no web, no clock. The same table gives byte-for-byte the same SVG
(its element ids come from the chart's slug, and pygal's dated comment and its script are taken out), so
pages and screenshots are stable. The text table is plain data (`TextTable`: a caption, headers, rows of
strings) for the page's template, which escapes it like any other text.
"""

from __future__ import annotations

import csv
import io
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from typing import Any
from xml.etree import ElementTree

import pygal
from pygal.style import Style

from harken.console.overview import Overview, Row, Table

# On import pygal appends a finder for its map plugins (unused here) to sys.meta_path, one of the old kind
# without find_spec: from then on every import that no other finder resolves (a library probing for an
# optional module) warns with ImportWarning, which the tests make an error. It goes again.
sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, pygal.PluginImportFixer)]

SVG = "{http://www.w3.org/2000/svg}"
# One drawing for every screen: 480 by 360 units, shown 310 px wide on a 360 px phone and about 530 px in
# either column of a wide page, so 15-unit text is 10 px on the phone and 16 px on the desktop.
WIDTH, HEIGHT = 480, 360
X_LABEL_SPACE = 80  # units a slanted day needs: beyond what fits, label every nth day
LEGEND_BOX, LEGEND_CHAR = 40, 9  # units a legend entry needs: its box and gap, and each character
LEGEND_ROW = 23  # pygal's: 1.5 times the legend's text
DIGITS = re.compile(r"(\d\.\d)\d+")  # a coordinate's digits past the first decimal
MARGIN = 20  # pygal's own

# Quiet colours for a plain admin page, each at least 3:1 against white (blue, orange, grey, green, red,
# purple, brown, teal). Series differ by hue alone: the text table beside each chart names every number.
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#333333",
    foreground_strong="#111111",
    foreground_subtle="#6b6b6b",
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif",
    label_font_size=15,
    major_label_font_size=15,
    legend_font_size=15,
    title_font_size=15,
    value_font_size=15,
    tooltip_font_size=15,
    no_data_font_size=20,
    guide_stroke_color="#e2e2e2",
    major_guide_stroke_color="#cccccc",
    guide_stroke_dasharray="0",
    major_guide_stroke_dasharray="0",
    opacity="0.9",
    opacity_hover="1",
    transition="0ms",
    colors=("#2a6ebb", "#c8611d", "#6b6b6b", "#2e8540", "#b3261e", "#6f42c1", "#8a5a2b", "#1b7f86"),
)


class Kind(StrEnum):
    """How a table is drawn: counts over days as lines, side-by-side bars, or bars stacked into a total."""

    lines = "lines"
    bars = "bars"
    stacked = "stacked"


PYGAL: dict[Kind, Callable[..., Any]] = {
    Kind.lines: pygal.Line,
    Kind.bars: pygal.Bar,
    Kind.stacked: pygal.StackedBar,
}


@dataclass(frozen=True)
class Chart:
    """One chart of the overview: its numbers, and what it answers."""

    slug: str  # unique on the page: the SVG's ids, the page's anchor, the CSV's file name
    description: str  # what it answers, in a sentence: the SVG's <desc> and the text table's caption
    table: Table
    kind: Kind
    since: date
    until: date

    @property
    def csv_filename(self) -> str:
        return f"harken-{self.slug}-{self.since.isoformat()}-{self.until.isoformat()}.csv"


@dataclass(frozen=True)
class TextTable:
    """The chart's numbers as the page lists them beside it: strings, escaped by the template."""

    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def charts(seen: Overview) -> tuple[Chart, ...]:
    """Every chart of the overview page, in the page's order."""

    def chart(slug: str, description: str, table: Table, kind: Kind) -> Chart:
        return Chart(slug, description, table, kind, seen.since, seen.until)

    consents = tuple(
        chart(
            slug("consents", table.title),
            f"Consents for {table.title} per day: grants, denials, withdrawals, and grants that lapsed.",
            Table(f"Consents: {table.title}", table.key, table.columns, table.rows),
            Kind.lines,
        )
        for table in seen.consents
    )
    return (
        chart(
            "decisions",
            "Decisions asked per day, by whether the answer was to send.",
            seen.decisions,
            Kind.stacked,
        ),
        chart(
            "not-sent",
            "Decisions not to send per day, by the first reason the answer gave.",
            seen.not_sent,
            Kind.stacked,
        ),
        *consents,
        chart(
            "relevance",
            "How many sent messages had a relevance score in each range (higher fits the customer better).",
            seen.relevance,
            Kind.bars,
        ),
        chart("feedback", "Feedback per offer in the range, by kind.", seen.feedback, Kind.bars),
        chart(
            "shares",
            "Shares customers granted you and your reads of them, and credentials you verified, per day.",
            seen.shares,
            Kind.bars,
        ),
    )


def slug(*parts: str) -> str:
    """Lower-case letters, digits and single hyphens: safe in an id, a URL and a file name."""
    return "-".join(p for p in (re.sub(r"[^a-z0-9]+", "-", part.lower()).strip("-") for part in parts) if p)


def svg(
    chart: Chart, *, width: int = WIDTH, height: int = HEIGHT, nonce: str | None = None, styled: bool = True
) -> str:
    """The chart as an SVG element to put inline in a page: titled and described for a screen reader, with
    no script, the same for the same chart. It scales to its container (a viewBox of width by height, no
    fixed size), one drawing for a phone and a wide page alike. Its colours are a <style> of pygal's: a page
    whose Content-Security-Policy allows styles by nonce passes its `nonce`; a page of several charts may
    instead leave it out (`styled=False`) and carry `stylesheet()` once."""
    table = chart.table
    # No series at all (no refusal, so no reason code): pygal says there is nothing, given no axis labels
    keys = [row.key for row in table.rows] if table.columns else []
    every = max(1, math.ceil(len(keys) / max(1, width // X_LABEL_SPACE)))
    # As many legend entries side by side as the longest fits, spread evenly over the rows that takes; each
    # row past the first makes the picture taller rather than its plot smaller
    longest = max((len(column) for column in table.columns), default=0)
    fits = max(1, width // (LEGEND_BOX + longest * LEGEND_CHAR))
    legend_rows = math.ceil(len(table.columns) / fits)
    legend_columns = max(1, math.ceil(len(table.columns) / max(1, legend_rows)))
    drawing = PYGAL[chart.kind](
        style=STYLE,
        js=[],  # nothing to fetch or run: the page works without JavaScript
        disable_xml_declaration=True,
        width=width,
        height=height + LEGEND_ROW * max(0, legend_rows - 1),
        # pygal leaves room for len // columns rows of legend: the last row of an uneven split needs its own
        margin_bottom=MARGIN + (LEGEND_ROW if legend_rows > len(table.columns) // legend_columns else 0),
        legend_at_bottom=True,
        legend_at_bottom_columns=legend_columns,
        truncate_legend=-1,
        truncate_label=-1,
        x_labels=keys,
        x_labels_major_every=every,
        show_minor_x_labels=every == 1,
        x_label_rotation=30 if math.ceil(len(keys) / every) > 4 else 0,  # five dates side by side overlap
        x_title=table.key,
        y_labels=_ticks(chart) if table.columns else None,
        include_x_axis=True,
        show_x_guides=False,
        dots_size=3,
        no_data_text="Nothing in this range",
        value_formatter=lambda value: f"{value:.0f}",
    )
    drawing.uuid = chart.slug  # pygal's own is random: the SVG's id, and its style's scope
    for at, column in enumerate(table.columns):
        drawing.add(column, [row.counts[at] for row in table.rows])
    drawing.add_xml_filter(lambda root: _accessible(_slim(root, styled=styled), chart, nonce))
    rendered: str = drawing.render(is_unicode=True)
    return rendered


@cache
def stylesheet() -> str:
    """pygal's style for every chart on a page (all `STYLE`'s colours), scoped to the charts' class rather
    than one chart's id: CSS text for a page's own <style>, where one serves all charts drawn unstyled."""
    table = Table(
        "", "day", tuple(f"s{n}" for n in range(len(STYLE.colors))), (Row("d", (0,) * len(STYLE.colors)),)
    )
    drawn = ElementTree.fromstring(svg(Chart("style", "", table, Kind.lines, date.min, date.min)))
    [style] = (e for e in drawn.iter() if e.tag in ("style", f"{SVG}style"))
    return (style.text or "").replace("#chart-style", "svg.pygal-chart")


def text_table(chart: Chart) -> TextTable:
    """The chart's numbers, one row per key, a total per column at the end."""
    table = chart.table
    rows = tuple((row.key, *(str(n) for n in row.counts)) for row in table.rows)
    totals = ("total", *(str(table.total(c)) for c in table.columns)) if table.rows and table.columns else ()
    return TextTable(chart.description, (table.key, *table.columns), (*rows, *((totals,) if totals else ())))


def csv_text(chart: Chart) -> str:
    """The chart's numbers as CSV (RFC 4180): a header row, then one row per key; no total."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow((chart.table.key, *chart.table.columns))
    writer.writerows((row.key, *row.counts) for row in chart.table.rows)
    return out.getvalue()


def _ticks(chart: Chart) -> list[int]:
    """Whole numbers on the count axis, about five of them: counts are never fractions."""
    rows = [row.counts for row in chart.table.rows]
    highest = max((sum(c) if chart.kind == Kind.stacked else max(c, default=0) for c in rows), default=0)
    step = max(1, math.ceil(highest / 5))
    return list(range(0, max(highest, 1) + step, step))


def _slim(root: ElementTree.Element, *, styled: bool) -> ElementTree.Element:
    """Leave out what only pygal's script would read (each point's tooltip position and hook), square
    corners said outright, and, unless `styled`, the style; keep coordinates to a tenth of a unit (a tenth
    of a pixel at most, on any screen)."""
    for parent in root.iter():
        for child in list(parent):
            tag = child.tag.removeprefix(SVG) if isinstance(child.tag, str) else ""
            tooltip = tag == "desc" and child.get("class", "").split()[:1] in (["x"], ["y"])
            if tooltip or (not styled and tag == "defs"):
                parent.remove(child)
        for name, value in list(parent.attrib.items()):
            if name in ("rx", "ry") and value == "0":  # square corners: the default
                del parent.attrib[name]
            elif name == "class":  # a hook for the script alone
                parent.set(name, " ".join(c for c in value.split() if c != "tooltip-trigger"))
            else:
                parent.set(name, DIGITS.sub(r"\1", value))
    return root


def _accessible(root: ElementTree.Element, chart: Chart, nonce: str | None = None) -> ElementTree.Element:
    """Take out what would make the SVG vary or run (pygal's dated comments, its script of settings, the
    empty tooltip its script would fill, whose inline style a strict page refuses), and name and describe
    it for assistive technology."""
    for parent in root.iter():
        for child in list(parent):
            if (
                not isinstance(child.tag, str)  # a comment's tag is the Comment function, not a name
                or child.tag in ("script", f"{SVG}script")
                or "tooltip" in child.get("class", "").split()
            ):
                parent.remove(child)
    if nonce is not None:
        for style in (e for e in root.iter() if e.tag in ("style", f"{SVG}style")):
            style.set("nonce", nonce)
    title = ElementTree.Element("title", {"id": f"{chart.slug}-title"})
    title.text = chart.table.title  # the page's heading shows it: not drawn again
    desc = ElementTree.Element("desc", {"id": f"{chart.slug}-desc"})
    desc.text = chart.description
    root.insert(0, title)  # first, where a screen reader looks for the picture's name
    root.insert(1, desc)
    root.set("role", "img")
    root.set("aria-labelledby", f"{chart.slug}-title {chart.slug}-desc")
    return root
