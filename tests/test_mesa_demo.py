"""The demo replays the seed: its 2023-03 session's communiqué names exactly the institutions,
commitments and milestones of the Mesa of 29 March 2023 (``../shared/data/000_…txt``), and its
2023-08 session carries one agreement from March and hears one disputed milestone.

The demo runs once, in ``tests/test_flows.py`` (it takes minutes); it calls
``assert_the_mesa_replays_the_seed`` on what it wrote.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from tasks.mesa.simulation import session_day
from tasks.settings import Settings

# «Las instituciones gubernamentales en dar el informe fueron: MINGOB - Compromiso 1 (hito 1,
# hito 2, hito 3, hito 4, hito 5) …» — the seed's list, as `hitos communique --json` gives it.
SEED = [
    ("MINGOB", 1, ["1.1", "1.2", "1.3", "1.4", "1.5"]),
    ("SESAN", 3, ["3.1", "3.2"]),
    ("MINEDUC", 4, ["4.1", "4.2", "4.3", "4.4", "4.5", "4.6"]),
    ("MINTRAB", 7, ["7.1"]),
    ("CONAMIGUA", 8, ["8.1"]),
    ("CONADI", 9, ["9.1"]),
    ("CPCC", 10, ["10.2", "10.3", "10.4"]),
]


def test_the_mesa_meets_on_the_last_wednesday_of_the_cycles_month():
    assert session_day("2023-03") == date(2023, 3, 29)  # the seed's session
    assert session_day("2023-08") == date(2023, 8, 30)


def assert_the_mesa_replays_the_seed(settings: Settings, files: dict[str, str]) -> None:
    """What the demo's two sessions left: the seed's communiqué, the carried agreement, the
    disputed milestone, and where the papers are."""
    from hitos_cli import app

    said = CliRunner().invoke(app, ["communique", "2023-03", "--json"])
    assert said.exit_code == 0, said.output
    shape = json.loads(said.stdout)
    named = [
        (i["institution"], c["commitment"], c["milestones"])
        for i in shape["institutions"]
        for c in i["commitments"]
    ]
    assert named == SEED
    assert shape["session"] == "2023-03-29"
    assert shape["next_session"]["cycle"] == "2023-08"
    markdown = Path(files["mesa 2023-03 communique_markdown"]).read_text(encoding="utf-8")
    assert "- **CPCC** — Compromiso 10 (hito 2, hito 3, hito 4)" in markdown
    for kind in ("agenda_pdf", "deck_html", "deck_pdf", "communique_html"):
        assert Path(files[f"mesa 2023-03 {kind}"]).is_file()

    agreements = json.loads(CliRunner().invoke(app, ["agreement", "list", "--json"]).stdout)
    carried = [
        a for a in agreements if a["agreement"].startswith("2023-03") and a["state"] == "open"
    ]
    assert [a["owner"] for a in carried] == ["MARN"]  # the silent one; the late ones delivered
    august = Path(files["mesa 2023-08 deck_html"]).parent / "orden-del-dia.html"
    agenda = august.read_text(encoding="utf-8")
    follow_up = agenda.split("<h2>1. ")[1].split("<h2>2. ")[0]  # the agenda starts with them
    assert carried[0]["agreement"] in follow_up

    from tasks.mesa.assessments import current
    from tasks.storage.ledger import session

    with session(settings.database) as db:
        standing = current(db, "gt-pan5", ["2023-08"])
    assert [a.verdict for a in standing] == ["disagree"]
    deck = Path(files["mesa 2023-08 deck_html"]).read_text(encoding="utf-8")
    assert deck.count("En disputa") >= 1
    assert_every_slide_fits(Path(files["mesa 2023-08 deck_html"]))
    board = settings.home / "board" / "gt-pan5"
    assert (board / "mesa" / "2023-03.html").is_file() and (
        board / "mesa" / "2023-08.html"
    ).is_file()


def assert_every_slide_fits(deck: Path) -> None:
    """The sample plan's fullest slide (six milestones, one disputed) fits its 1280×720 box and
    stays above its footer, in Chromium."""
    from playwright.sync_api import sync_playwright

    from tests.test_mesa_browser import SLIDE_OVERFLOW

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        page = chromium.new_page(viewport={"width": 1280, "height": 720})
        page.goto(deck.as_uri())
        assert page.evaluate(SLIDE_OVERFLOW) <= 0
        chromium.close()
