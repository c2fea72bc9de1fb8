"""The Mesa's papers in a real Chromium: the deck's slides are 1280×720 and nothing spills out
of them; the communiqué and the board's Mesa pages read on a phone (no sideways scrolling at
390 px); nothing is loaded from outside."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from console.app import create_app
from tasks.mesa import agreements, communique, sessions
from tasks.mesa.assessments import assess
from tasks.mesa.pack import write_pack
from tasks.publication.board import build_board
from tests.network import free_port, serving
from tests.test_board_browser import browser  # noqa: F401 (a fixture)
from tests.test_consolidation import CURRENT, PREVIOUS
from tests.test_mesa import DIRECTOR, Mesa, mesa, published  # noqa: F401 (a fixture)
from tests.test_mesa_console import PASSWORD, SOCIETY, World, world  # noqa: F401 (a fixture)

SLIDE_OVERFLOW = """
    Math.max(0, ...[...document.querySelectorAll(".slide")].map(s => {
        const foot = s.querySelector(".pie").getBoundingClientRect().top;
        const last = [...s.children].filter(c => !c.classList.contains("pie")).pop();
        return Math.max(s.scrollWidth - s.clientWidth, s.scrollHeight - s.clientHeight,
                        last.getBoundingClientRect().bottom - foot);
    }))
"""
"""How far the fullest slide's content runs past its own box or into its footer, in px (0:
everything shows)."""


@pytest.fixture
def papers(mesa: Mesa) -> dict[str, Path]:
    s, p = mesa.settings, mesa.plan
    sessions.schedule(s, p, CURRENT, date(2023, 3, 29), "10:00", "Salón de la Comisión")
    published(mesa, PREVIOUS)
    published(mesa, CURRENT)
    note = "El portal no muestra los datos prometidos; pedimos el acta de entrega. " * 3
    assess(s, p, CURRENT, "1.1", "disagree", "RED", note, evidence="https://red.example/a/1.1")
    agreements.add(s, p, CURRENT, "Publicar el acta de entrega del portal", "MINGOB",
                   date(2023, 4, 14), "1.1")  # fmt: skip
    approved = communique.approve(s, p, CURRENT, DIRECTOR)
    board = build_board(s, p).folder
    return {
        **write_pack(s, p, CURRENT),
        **communique.write(s, approved),
        "board_mesa": board / "mesa" / "index.html",
        "board_communique": board / "mesa" / f"{CURRENT}.html",
    }


@pytest.mark.parametrize("mesa", ["sqlite"], indirect=True)
def test_the_deck_is_1280_by_720_and_the_communique_reads_on_a_phone(
    papers,
    browser,
):
    requested: list[str] = []

    def record(route: Any) -> None:
        requested.append(route.request.url)
        route.continue_()

    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.route("**/*", record)
    page = context.new_page()
    page.goto(papers["deck_html"].as_uri())
    sizes = page.evaluate(
        "[...document.querySelectorAll('.slide')].map(s => [s.offsetWidth, s.offsetHeight])"
    )
    assert set(map(tuple, sizes)) == {(1280, 720)} and len(sizes) == 4 + 2
    assert page.evaluate(SLIDE_OVERFLOW) == 0
    assert page.evaluate("document.documentElement.scrollWidth") == 1280
    context.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844})
    phone.route("**/*", record)
    page = phone.new_page()
    for name in ("html", "agenda_html", "board_mesa", "board_communique"):
        page.goto(papers[name].as_uri())
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
    phone.close()
    assert [url for url in requested if not url.startswith("file://")] == []


@pytest.fixture
def mesa_console(world: World) -> Iterator[str]:
    """uvicorn serving the console of the Mesa's test world on a free loopback port."""
    port = free_port()
    app = create_app(world.settings, world.plan)
    with serving(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error")):
        yield f"http://127.0.0.1:{port}"


def test_civil_society_assesses_from_a_phone(
    world,
    mesa_console,
    browser,
    tmp_path,
):
    shots = Path(os.environ.get("HITOS_MESA_SHOTS", tmp_path))
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{mesa_console}/login")
    page.fill("#email", SOCIETY)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/mesa/{CURRENT}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    form = page.locator("#hito-1\\.2 form")
    form.locator("select").select_option("cannot-verify")
    form.locator("textarea").fill("El enlace de evidencia no abre.")
    form.locator("button").click()
    page.wait_for_load_state()
    assert "Valoración guardada" in page.content()
    assert "No se puede verificar (RED): El enlace de evidencia no abre." in page.inner_text(
        "#hito-1\\.2"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("#hito-1\\.2").screenshot(path=str(shots / "console-cso-390.png"))
    context.close()
