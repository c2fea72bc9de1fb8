"""The report page in a real Chromium (Debian's, driven by Playwright): a phone and a desk.

At 390 px the page may not be wider than the screen (``scrollWidth``, the measure of sideways
scrolling) and the chart's words must stay legible; at 1280 px nothing sticks out either. The
page is the one ``test_report`` writes from its hand-computed ledger, or any report named by
``HITOS_REPORT_PAGE`` (the demo's, for the screenshots in ``docs/report/``); screenshots of
both widths (the first screen, the commitments, the first milestones) are kept in the test's
folder, or in ``HITOS_REPORT_SHOTS``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.core.states import ReportState
from tests.test_consolidation import PREVIOUS, build_ledger, record_report
from tests.test_report import publish

CHROMIUM = Path("/usr/bin/chromium")
WIDTHS = (1280, 390)
SMALLEST_CHART_TEXT = """
    Math.min(...[...document.querySelectorAll("svg.chart text")].map(
        t => t.getBoundingClientRect().height))
"""
"""The height of the chart's smallest words on screen, in px."""
WIDEST_ELEMENT = """
    Math.max(...[...document.querySelectorAll("body *")].map(
        e => e.getBoundingClientRect().right))
"""
"""How far right the page's furthest element reaches, in px."""


@pytest.fixture(scope="module")
def page_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("HITOS_REPORT_PAGE")
    if chosen:
        return Path(chosen).resolve()
    folder = tmp_path_factory.mktemp("report")
    ledger = build_ledger(folder)
    record_report(ledger, PREVIOUS, 1, ReportState.PUBLISHED)
    return publish(ledger, folder / "reports")["html"]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is required: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


def test_the_page_fits_a_phone_and_a_desk_without_sideways_scrolling(page_path, browser, tmp_path):
    shots = Path(os.environ.get("HITOS_REPORT_SHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    requested: list[str] = []
    widths: dict[int, int] = {}
    reach: dict[int, float] = {}
    chart_text: dict[int, float] = {}
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.route("**/*", lambda route: _only_the_page(route, requested))
        page = context.new_page()
        page.goto(page_path.as_uri())
        widths[width] = page.evaluate("document.documentElement.scrollWidth")
        reach[width] = page.evaluate(WIDEST_ELEMENT)
        chart_text[width] = page.evaluate(SMALLEST_CHART_TEXT)
        _shoot(page, shots, width)
        context.close()

    assert {w: px for w, px in widths.items() if px > w} == {}
    assert {w: px for w, px in reach.items() if px > w} == {}
    # the charts' words on a phone: legible (12 px and more), not a thumbnail of the desk's
    assert chart_text[390] >= 11
    assert [url for url in requested if url != page_path.as_uri()] == []


def _shoot(page: object, shots: Path, width: int) -> None:
    """The first screen, the commitments' section, and the first 1,000 px of the milestones: what
    docs/report.md shows (a whole page is 10,000 to 40,000 px tall)."""
    page.screenshot(path=str(shots / f"page-{width}-top.png"))  # type: ignore[attr-defined]
    commitments = page.locator("section.nueva-pagina")  # type: ignore[attr-defined]
    commitments.screenshot(path=str(shots / f"page-{width}-commitments.png"))
    top = page.evaluate(  # type: ignore[attr-defined]
        "document.querySelector('table.hitos').getBoundingClientRect().top + window.scrollY"
    )
    clip = {"x": 0, "y": top - 40, "width": width, "height": 1000}
    page.screenshot(path=str(shots / f"page-{width}-milestones.png"), full_page=True, clip=clip)  # type: ignore[attr-defined]


def _only_the_page(route: object, requested: list[str]) -> None:
    """Let the page load; refuse (and record) anything else: the report loads nothing."""
    url = route.request.url  # type: ignore[attr-defined]
    requested.append(url)
    if url.startswith("file://") and url.endswith(".html"):
        route.continue_()  # type: ignore[attr-defined]
    else:
        route.abort()  # type: ignore[attr-defined]
