"""The overview page's weight: an org with 30 and 90 days of everyday traffic (sends, refusals for six
reasons, feedback, consents granted and withdrawn), its page measured in bytes and each chart's picture
with it. Each chart is drawn once, for every screen, and styled by one stylesheet for all, so a page of 90
days stays light.

    .venv/bin/pytest -q -p no:randomly tests/console/test_overview_weight.py -n 0 -s

prints the figures (docs/benchmarks.md records them)."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from datetime import timedelta

import pytest

from tests.console.conftest import Shop
from tests.factories import T0, FixedClock
from tests.stories.conftest import Business

KB = 1024
# The page in bytes, before compression; each chart drawn twice (720 and 360 units wide), it was 641,055
# bytes at 30 days and 1,538,014 at 90.
PAGE_BUDGET = {30: 200 * KB, 90: 480 * KB}
FEEDBACK = ("accepted", "dismissed", "not-relevant", "opted-out")
COFFEE = {"topics": ["coffee"], "channels": ["email", "sms"]}


def everyday(org: Business, clock: FixedClock, days: int) -> None:
    """`days` days of one org's traffic from T0: each day every customer is asked about once, sends and
    refusals alike (no consent, a channel not granted, a withdrawal, a disliked topic, a stranger, and the
    weekly cap once the keen ones have had theirs), feedback on what was sent, one consent changing."""
    for offer in ("coffee-beans", "coffee-mug", "espresso-class"):
        org.offer(offer, **COFFEE)
    keen = [f"keen-{n}" for n in range(4)]
    for ref in keen:
        org.customer(ref, grant={"marketing": ["email", "sms"]}).preferences(interests={"coffee": 0.9})
    org.customer("undecided")
    org.customer("sms-only", grant={"marketing": ["sms"]}).preferences(interests={"coffee": 0.9})
    org.customer("fickle", grant={"marketing": ["email"]}).preferences(interests={"coffee": 0.9})
    org.customer("no-coffee", grant={"marketing": ["email"]}).preferences(interests={"coffee": -1.0})
    offers = ["coffee-beans", "coffee-mug", "espresso-class"]
    for day in range(days):
        clock.now = T0 + timedelta(days=day)
        fickle = {"status": "withdrawn", "channels": []} if day % 3 == 1 else None
        if day % 3 == 0 and day:
            fickle = {"status": "granted", "channels": ["email"]}
        if fickle:
            org.call("PUT", "/v1/subjects/fickle/consents/marketing", fickle)
        for at, ref in enumerate([*keen, "undecided", "sms-only", "fickle", "no-coffee", "stranger"]):
            answer = org.decide(ref, [offers[(day + at) % 3]], ["email"])
            if answer["allowed"] and (day + at) % 2:
                kind = FEEDBACK[(day + at) % 4]
                org.call(
                    "POST", f"/v1/decisions/{answer['decision_id']}/feedback", {"kind": kind}, status=204
                )


def pictures(page: str) -> dict[str, list[str]]:
    """Each chart's pictures (every <svg> in its section), by the chart's slug."""
    return {
        slug: re.findall(r"<svg.*?</svg>", body, re.S)
        for slug, body in re.findall(r'<section class="chart" id="([a-z0-9-]+)"(.*?)</section>', page, re.S)
    }


@pytest.mark.slow
@pytest.mark.parametrize("days", [30, 90])
def test_the_overview_page_stays_light_over_30_and_90_days(
    days: int, shop_of: Callable[[str], Shop], clock: FixedClock
) -> None:
    shop = shop_of("Corner Café")
    everyday(shop.api, clock, days)
    staffer = shop.staff("eve@corner.test", role="viewer")
    since, until = T0.date(), T0.date() + timedelta(days=days)
    response = staffer.get(f"/console?since={since.isoformat()}&until={until.isoformat()}")
    page = response.text
    drawn = pictures(page)
    sizes = {slug: sum(len(svg.encode()) for svg in svgs) for slug, svgs in drawn.items()}
    total = len(response.content)

    gzipped = len(gzip.compress(response.content))
    charts = ", ".join(f"{slug} {size:,}" for slug, size in sizes.items())
    print(f"\nWEIGHT {days} days: page {total:,} B ({gzipped:,} B gzipped); charts {sum(sizes.values()):,} B")
    print(f"WEIGHT {days} days, each chart: {charts}")
    assert "consents-marketing-email" in drawn and "consents-marketing-sms" in drawn
    not_sent = re.search(r'<section class="chart" id="not-sent".*?</section>', page, re.S)
    assert not_sent and not_sent.group().count('<th scope="col">') == 1 + 6  # day, 5 reasons, other
    assert total <= PAGE_BUDGET[days], total
    assert {len(svgs) for svgs in drawn.values()} == {1}  # each chart drawn once, for every screen
    assert page.count("<style") == 1  # one stylesheet for all charts
