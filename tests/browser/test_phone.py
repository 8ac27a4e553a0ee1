"""Every page of the centre on a 360 px phone, in English, German and French, filled with data: no page
wider than the screen, the header and navigation a small part of a 360x640 screen, no select too narrow
for its longest option, fields side by side lined up, and no serious axe violation.

Run with -s to see what each page measured (header height, page width)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.axe import describe, run_axe, serious_violations
from tests.browser.conftest import NewContext
from tests.browser.harness import PHONE, CentreHub
from tests.browser.test_centre import PAGES, Orgs, fill_in, register, sign_in
from tests.browser.test_centre import orgs as orgs  # the fixture

SCREEN = 640  # the height of the smallest phone screen we design for, in CSS px
HEADER_AT_MOST = SCREEN // 5  # much less than a third: a fifth at most

MEASURE = """() => {
  document.querySelectorAll("details").forEach(d => { d.open = true; });  // their content must fit too
  const header = document.querySelector("header").getBoundingClientRect();
  const canvas = document.createElement("canvas").getContext("2d");
  const narrow = [...document.querySelectorAll("select")].filter(s => s.checkVisibility()).filter(s => {
    const style = getComputedStyle(s);
    canvas.font = style.font;
    const longest = Math.max(...[...s.options].map(o => canvas.measureText(o.text).width));
    const room = s.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 16;
    return longest > room;  // 16 px: the arrow
  }).map(s => "#" + s.id);
  const misaligned = [];
  for (const row of document.querySelectorAll(".row")) {
    const controls = [...row.querySelectorAll(":scope > div > :is(input, select)")];
    const tops = new Map();
    for (const c of controls) {
      const line = Math.round(c.parentElement.getBoundingClientRect().top);
      tops.set(line, [...(tops.get(line) || []), [c.id, Math.round(c.getBoundingClientRect().top)]]);
    }
    for (const side of tops.values()) {
      if (new Set(side.map(([, top]) => top)).size > 1) misaligned.push(side.map(([id, top]) => id + "@" + top).join(" "));
    }
  }
  const wide = [...document.body.querySelectorAll("*")].filter(
    e => e.getBoundingClientRect().right > window.innerWidth + 0.5);
  return {
    width: document.documentElement.scrollWidth,
    header: Math.round(header.height),
    narrow, misaligned,
    rows: [...document.querySelectorAll(".row :is(input, select)")].map(
      c => c.id + "@" + Math.round(c.getBoundingClientRect().left) + "," + Math.round(c.getBoundingClientRect().top)
        + " " + c.clientWidth),
    wide: wide.filter(e => !wide.some(o => o !== e && e.contains(o))).slice(0, 5).map(
      e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + " " + Math.round(e.getBoundingClientRect().right)),
  };
}"""


def measure(page: Page, label: str, problems: list[str]) -> None:
    page.wait_for_load_state()
    violations = serious_violations(run_axe(page))
    if violations:
        problems.append(f"{label}: axe:\n{describe(violations)}")
    found = page.evaluate(MEASURE)
    print(f"{label}: page {found['width']} px wide, header {found['header']} px high", found["rows"])
    if found["width"] > PHONE:
        problems.append(f"{label}: {found['width']} px wide > {PHONE}; too wide: {found['wide']}")
    if found["header"] > HEADER_AT_MOST:
        problems.append(f"{label}: header {found['header']} px > {HEADER_AT_MOST} ({SCREEN} / 5)")
    if found["narrow"]:
        problems.append(f"{label}: selects too narrow for their longest option: {found['narrow']}")
    if found["misaligned"]:
        problems.append(f"{label}: fields side by side not lined up: {found['misaligned']}")


@pytest.mark.parametrize("language", ["en", "de", "fr"])
def test_every_page_fits_a_phone_in_every_language(
    centre_hub: CentreHub, orgs: Orgs, new_context: NewContext, language: str
) -> None:
    me = register(
        orgs.shop,
        f"phone-{language}",
        centre_hub.address(f"phone-{language}"),
        ("marketing", "personalised-offers"),
    )
    fill_in(me, orgs, centre_hub)
    page = new_context(width=PHONE).new_page()
    url, problems = centre_hub.url, list[str]()
    for path, name in (
        (f"/centre/sign-in?lang={language}", "sign-in"),
        ("/centre/no-such-page", "not-found"),
    ):
        page.goto(f"{url}{path}")
        assert page.evaluate("() => document.documentElement.lang") == language
        measure(page, f"{language} {name}", problems)
    page.goto(f"{url}/centre/sign-in?lang=en")
    sign_in(page, centre_hub, me.email)
    page.goto(f"{url}/centre?lang={language}")  # kept in a cookie from here on
    for name in PAGES:
        page.goto(f"{url}/centre" if name == "now" else f"{url}/centre/{name}")
        assert page.evaluate("() => document.documentElement.lang") == language, name
        measure(page, f"{language} {name}", problems)
    # A refused form, its errors beside the fields, must fit too.
    page.goto(f"{url}/centre/preferences")
    page.locator("#qh-start").fill("")
    page.locator("#qh-end").fill("07:00")
    page.locator("form[action='/centre/preferences/quiet-hours'] button[type=submit]").first.click()
    assert page.locator("#start-error").is_visible()
    measure(page, f"{language} preferences refused", problems)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
