"""The public board in a real Chromium (Debian's, driven by Playwright): phones, offline, and
its search, filters and sort with and without its script.

Every page is opened at 1280 and 390 px. At 390 px no page may be wider than the viewport
(``scrollWidth``, the measure of sideways scrolling); every request the browser makes is
recorded, and anything but the board's own files fails the test. Screenshots of both widths
are kept in the test's folder (``HITOS_BOARD_SHOTS`` names another folder to keep them).

``HITOS_BOARD_FROM`` names a board already built (the demo's, ``.hitos/board/gt-pan5``): the
pages a citizen opens first are then measured and photographed from it (``docs/board/``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_board import Built, published_board

CHROMIUM = Path("/usr/bin/chromium")
WIDTHS = (1280, 390)
TABLE_OVERFLOW = """
    Math.max(0, ...[...document.querySelectorAll("main table")].map(
        t => t.getBoundingClientRect().right
             - document.querySelector("main h1").getBoundingClientRect().right))
"""
"""How far the widest table sticks out of the page's column, in px (0: every table fits)."""


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return published_board(tmp_path_factory.mktemp("board"))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is required: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


def pages_of(board: Built) -> list[Path]:
    return sorted(board.folder.rglob("*.html"))


def test_no_page_is_wider_than_a_phone_and_nothing_is_loaded_from_outside(board, browser, tmp_path):
    shots = Path(os.environ.get("HITOS_BOARD_SHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    requested: list[str] = []
    widths: dict[tuple[str, int], int] = {}
    overflow: dict[tuple[str, int], float] = {}
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.route("**/*", lambda route: _only_local(route, requested))
        page = context.new_page()
        for path in pages_of(board):
            relative = path.relative_to(board.folder).as_posix()
            page.goto(path.as_uri())
            widths[(relative, width)] = page.evaluate("document.documentElement.scrollWidth")
            overflow[(relative, width)] = page.evaluate(TABLE_OVERFLOW)
            name = relative.replace("/", "_").removesuffix(".html")
            page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
        context.close()

    assert len(widths) == 2 * 10
    assert {page: w for (page, width), w in widths.items() if w > width} == {}
    assert {key: px for key, px in overflow.items() if px > 1} == {}
    assert [url for url in requested if not url.startswith("file://")] == []
    assert any(url.endswith("/estilo.css") for url in requested)


def _only_local(route: object, requested: list[str]) -> None:
    """Let the board's own files load; refuse (and record) anything else."""
    url = route.request.url  # type: ignore[attr-defined]
    requested.append(url)
    if url.startswith("file://"):
        route.continue_()  # type: ignore[attr-defined]
    else:
        route.abort()  # type: ignore[attr-defined]


def test_the_width_check_fails_on_a_page_that_scrolls_sideways(board, browser, tmp_path):
    wide = tmp_path / "ancho.html"
    shutil.copyfile(board.folder / "estilo.css", tmp_path / "estilo.css")
    wide.write_text(
        '<link rel="stylesheet" href="estilo.css"><table><tr>'
        + "<td>columna-sin-espacios-muy-larga</td>" * 12
        + "</tr></table>",
        "utf-8",
    )
    page = browser.new_page(viewport={"width": 390, "height": 900})
    page.goto(wide.as_uri())

    assert page.evaluate("document.documentElement.scrollWidth") > 390
    page.close()


def test_a_phone_reads_each_table_row_as_a_card_with_its_column_names(board, browser):
    page = browser.new_page(viewport={"width": 390, "height": 900})
    page.goto((board.folder / "hitos.html").as_uri())
    cell = page.locator("#lista-hitos tr").first.locator("td[data-label='Estado']")

    label = cell.evaluate("c => getComputedStyle(c, '::before').content")
    header = page.locator("table.fichas thead").first.bounding_box()
    assert label == '"Estado"'
    assert header is not None and header["width"] <= 1
    assert page.locator("#lista-hitos tr").first.bounding_box()["width"] <= 390
    page.goto((board.folder / "compromisos" / "C01.html").as_uri())
    assert page.locator("#hito-1\\.1").bounding_box()["width"] <= 390
    page.close()


def shown(page: object, rows: str) -> list[str]:
    """The first cell's text of each row a reader sees, top to bottom."""
    return page.eval_on_selector_all(  # type: ignore[attr-defined]
        rows, "rows => rows.filter(r => !r.hidden).map(r => r.cells[0].innerText.trim())"
    )


def test_the_milestone_list_filters_and_sorts_what_it_shows(board, browser):
    page = browser.new_page(viewport={"width": 390, "height": 900})
    page.goto((board.folder / "hitos.html").as_uri())
    rows = "#lista-hitos tr"
    form = page.locator("form.filtros")

    assert form.is_visible()
    assert shown(page, rows) == ["1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "2.10"]
    form.get_by_label("Estado").select_option("started")
    assert shown(page, rows) == ["1.2", "1.3"]
    assert "estado=started" in page.url
    form.get_by_label("Estado").select_option("")
    form.get_by_label("Buscar").fill("catalogo")  # accents and case folded: «Catálogo.»
    assert shown(page, rows) == ["2.2"]
    assert form.locator(".filtros-cuenta").inner_text() == "Se muestran 1 de 7."
    form.get_by_label("Buscar").fill("")
    form.get_by_label("Ordenar por").select_option("-avance")
    # 100, 100, 40 (1.3 last known), 30, 0; then 2.2 and 2.10 without data, last
    assert shown(page, rows) == ["1.1", "2.3", "1.3", "1.2", "2.1", "2.2", "2.10"]
    form.get_by_label("Ordenar por").select_option("avance")
    assert shown(page, rows) == ["2.1", "1.2", "1.3", "1.1", "2.3", "2.2", "2.10"]
    form.get_by_label("Solo los vencidos").check()
    assert shown(page, rows) == ["1.3", "2.2"]  # ended before the 2023-03 deadline, not completed
    page.close()


def test_a_shared_address_opens_the_list_filtered(board, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((board.folder / "hitos.html").as_uri() + "?estado=no_data")

    assert shown(page, "#lista-hitos tr") == ["2.2", "2.10"]
    assert page.locator("form.filtros select[name=estado]").input_value() == "no_data"
    page.close()


def test_without_its_script_every_page_is_whole_and_shows_no_dead_controls(board, browser):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 900})
    page = context.new_page()
    page.goto((board.folder / "hitos.html").as_uri() + "?estado=started")

    assert shown(page, "#lista-hitos tr") == ["1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "2.10"]
    assert page.locator("form.filtros").count() == 1
    assert page.locator("form.filtros").is_hidden()
    context.close()


DOCS_PAGES = ("index.html", "hitos.html", "compromisos/C01.html", "compromisos/C06.html",
              "instituciones/MINGOB.html", "ogp.html")  # fmt: skip
"""What a citizen opens first on the sample plan's board: home, the milestones, a commitment,
the commitment nobody reported, an institution, the OGP view."""


SHOT_HEIGHT = 3000
"""The top of a long page is what the screenshots keep (about three phone screens): the whole
of the milestone list at 390 px was 1 MB of PNG."""


def test_the_sample_plans_board_fits_a_phone_and_a_screen(browser, tmp_path):
    built = os.environ.get("HITOS_BOARD_FROM")
    if not built:
        pytest.skip("HITOS_BOARD_FROM names no built board (make demo, then .hitos/board/gt-pan5)")
    shots = Path(os.environ.get("HITOS_BOARD_SHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    widths = {}
    for width in WIDTHS:
        page = browser.new_page(viewport={"width": width, "height": 900})
        for relative in DOCS_PAGES:
            page.goto((Path(built) / relative).as_uri())
            widths[(relative, width)] = page.evaluate("document.documentElement.scrollWidth")
            name = relative.replace("/", "_").removesuffix(".html")
            height = page.evaluate("document.documentElement.scrollHeight")
            top = {"x": 0, "y": 0, "width": width, "height": min(height, SHOT_HEIGHT)}
            page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True, clip=top)
        page.close()

    assert {key: w for key, w in widths.items() if w > key[1]} == {}
