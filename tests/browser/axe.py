"""Accessibility checks with axe-core (the copy bundled in axe-playwright-python).

    assert_accessible(page, "centre home, 360 px, fr-FR")

fails with every serious or critical violation of WCAG 2.0/2.1/2.2 A and AA and axe's best practices.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

from playwright.sync_api import Page

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]
FAILING_IMPACTS = ("serious", "critical")


@cache
def axe_script() -> str:
    return files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")


def run_axe(page: Page) -> dict[str, Any]:
    """axe's results for the whole page as it is now: violations only."""
    # Injected through page.evaluate (the DevTools protocol), not a <script> tag, so the page's
    # Content-Security-Policy cannot block it; a navigation removes it, hence the check each time.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_script())
    options = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
    results: dict[str, Any] = page.evaluate("options => window.axe.run(document, options)", options)
    return results


def serious_violations(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in results["violations"] if v.get("impact") in FAILING_IMPACTS]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        nodes = violation["nodes"]
        targets = [" ".join(str(part) for part in node["target"]) for node in nodes[:3]]
        more = f" (+{len(nodes) - 3} more)" if len(nodes) > 3 else ""
        lines.append(
            f"- {violation['id']} [{violation['impact']}] {violation['help']}\n"
            f"    on {', '.join(targets)}{more}\n"
            f"    see {violation['helpUrl']}"
        )
    return "\n".join(lines)


def assert_accessible(page: Page, context: str) -> None:
    """Fail with a readable list of every serious or critical axe violation on the page."""
    violations = serious_violations(run_axe(page))
    if violations:
        raise AssertionError(
            f"{context}: {len(violations)} serious or critical accessibility violation(s) at {page.url}\n"
            + describe(violations)
        )
