"""Markup an institution writes never runs: plain text inside, escaped once at each edge.

One workbook accepted with a script payload in every free-text column, one rejected with a
payload in every checked column. The ledger, ``--json`` and the plain-text email keep the text
exactly as typed; the HTML email, the report page and the Data Docs escape it, and a real
Chromium that loads each page finds no element and no script of the payload.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from tasks.checks.data_docs.store import local_site
from tasks.cycle.intake import process, store_all
from tasks.cycle.requests import build_request, open_cycle_record
from tasks.mail.malformed import unanswered_messages
from tasks.mail.outgoing import send_all
from tasks.mail.replies import unanswered
from tasks.people.review import approve, pending_reviews
from tasks.publication.approval import publish_draft
from tasks.publication.publishing import consolidate
from tasks.storage.ledger import FindingRow, session
from tasks.workbooks.layout import header as workbook_header
from tests.test_hostile_intake import LIAISON, deliver_to_maildir, smtp_server, with_file

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TEXT_COLUMNS = ("estado", "avance_pct", "descripcion_avance", "evidencia_url", "observaciones")


def payload(column: str) -> str:
    """Markup a browser would run, marked with its column, plus an ampersand to keep."""
    return (
        f'<b id="xss-{column}">A & B</b><script>document.title="xss-{column}"</script>'
        f"<img src=x onerror=\"document.title='xss-{column}'\">"
    )


def workbook(template: bytes, values: dict[str, dict[str, object]]) -> bytes:
    book = load_workbook(io.BytesIO(template))
    sheet = book["Hitos"]
    header_row, header = workbook_header(sheet)
    assert header_row is not None
    for row in range(header_row + 1, sheet.max_row + 1):
        code = str(sheet.cell(row, header["codigo_hito"]).value)
        for column, value in values.get(code, values["*"]).items():
            sheet.cell(row, header[column]).value = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD: dict[str, object] = {
    "estado": "Completado",
    "avance_pct": 100,
    "descripcion_avance": payload("descripcion_avance"),
    "evidencia_url": "https://mingob.example/evidencia",
    "observaciones": payload("observaciones"),
}
BAD: dict[str, object] = {
    "estado": payload("estado"),
    "avance_pct": payload("avance_pct"),
    "descripcion_avance": payload("descripcion_avance"),
    "evidencia_url": payload("evidencia_url"),
    "observaciones": payload("observaciones"),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, plan):
    """Both workbooks through one intake, replies to a real SMTP server, docs and report."""
    from tasks.settings import Settings
    from tests.conftest import SAMPLE_PLAN
    from tests.network import free_port

    home = tmp_path_factory.mktemp("markup") / "ws"
    settings = Settings(home=home, smtp_port=free_port(), plan=SAMPLE_PLAN)
    cycle = open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    template = build_request(settings, plan, cycle, plan.institution("MINGOB")).read_bytes()
    good = workbook(template, {"*": GOOD})
    bad = workbook(template, {"*": BAD})
    deliver_to_maildir(
        settings,
        [
            with_file(LIAISON, "<bad@mingob.example>", "malo.xlsx", bad),
            with_file(LIAISON, "<good@mingob.example>", "bueno.xlsx", good),
        ],
    )
    with smtp_server(settings, smtputf8=False) as handler:
        store_all(settings)
        outcomes = process(settings, plan, with_docs=True)  # each file's Data Docs kept
        send_all(settings, unanswered(settings, plan) + unanswered_messages(settings, plan))
    with smtp_server(settings, smtputf8=False):  # reviewers approve, the director publishes
        for item in pending_reviews(settings):
            approve(settings, plan, item.submission_id, "revisora@gae.example")
        consolidate(settings, plan, "2023-03")
        report = publish_draft(settings, plan, "2023-03", "directora@gae.example")
    return settings, outcomes, handler, report


def bodies(handler) -> tuple[str, str]:
    """The rejection's plain and HTML parts, as the liaison's mail client receives them."""
    [rejection] = [m for m in handler.to(LIAISON) if "rechazado" in str(m["Subject"])]
    parts = {p.get_content_type(): p for p in rejection.walk()}
    return (
        parts["text/plain"].get_content(),
        parts["text/html"].get_content(),
    )


def rendered_dom(page: Path) -> str:
    """The page's DOM after a real Chromium loaded it and ran its own scripts."""
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def assert_escaped(html: str) -> None:
    for column in TEXT_COLUMNS:
        assert f'<b id="xss-{column}"' not in html
        assert f'<script>document.title="xss-{column}"' not in html
    assert "<img src=x" not in html and '<img src="x"' not in html
    assert "&amp;lt;" not in html  # escaped once, not twice


def test_findings_are_plain_text_in_the_ledger_and_in_json(hostile):
    settings, outcomes, _, _ = hostile
    rejected = next(o for o in outcomes if o.outcome == "rejected")
    with session(settings.database) as db:
        messages = db.scalars(
            select(FindingRow.message).where(FindingRow.submission_id == rejected.submission_id)
        ).all()

    assert any(payload("estado") in m for m in messages)
    assert any(payload("avance_pct") in m for m in messages)
    assert not any("&lt;" in m or "&amp;" in m for m in messages)
    assert any(payload("estado") in f["message"] for f in rejected.as_dict()["findings"])


def test_the_plain_text_email_shows_the_text_as_typed(hostile):
    _, _, handler, _ = hostile
    text, _ = bodies(handler)

    assert payload("estado") in text
    assert "&lt;" not in text and "&amp;" not in text


def test_the_html_email_escapes_every_payload_once(hostile):
    _, _, handler, _ = hostile
    _, html = bodies(handler)

    assert_escaped(html)
    assert "&lt;b id=&#34;xss-estado&#34;&gt;A &amp; B&lt;/b&gt;" in html


def test_the_cli_findings_and_json_show_the_text_as_typed(hostile, monkeypatch):
    from hitos_cli import app

    settings, _, _, _ = hostile
    monkeypatch.setenv("HITOS_HOME", str(settings.home))
    result = CliRunner().invoke(app, ["findings", "2023-03", "--json"])

    assert result.exit_code == 0, result.output
    assert payload("estado") in "".join(
        f["message"] for s in json.loads(result.output) for f in s["findings"]
    )


def test_the_report_page_escapes_every_payload(hostile):
    _, _, _, report = hostile
    page = Path(report.links["latest_html"])
    html = page.read_text(encoding="utf-8")

    assert_escaped(html)
    assert "&lt;b id=&#34;xss-observaciones&#34;&gt;" in html
    dom = rendered_dom(page)
    assert '<b id="xss-' not in dom and "<title>xss-" not in dom


def test_data_docs_never_carry_markup_a_browser_would_run(hostile, plan):
    settings, _, _, _ = hostile
    site = local_site(settings, plan, "2023-03")
    pages = [site / "index.html", *sorted((site / "validations").rglob("*.html"))]

    assert len(pages) == 3  # the index, and each file's run page
    for page in pages:
        assert_escaped(page.read_text(encoding="utf-8"))
        dom = rendered_dom(page)
        assert '<b id="xss-' not in dom
        assert not re.search(r"<title>\s*xss-", dom)


def test_the_public_board_escapes_every_payload(hostile, plan):
    from tasks.publication.board import build_board

    settings, _, _, _ = hostile
    board = build_board(settings, plan).folder
    pages = sorted(board.rglob("*.html"))
    showing = [p for p in pages if "xss-descripcion_avance" in p.read_text(encoding="utf-8")]

    assert pages and showing  # the institution's text is on the board, escaped
    for page in pages:
        assert_escaped(page.read_text(encoding="utf-8"))
    for page in showing[:2]:
        assert '<b id="xss-' not in rendered_dom(page)


def test_the_consoles_pages_escape_every_payload(hostile, plan, tmp_path):
    """The reviewer's page shows what the institution typed (its values, its findings) and the
    sign-in log what a stranger typed as an address: escaped, and inert in Chromium."""
    from fastapi.testclient import TestClient

    from console.app import create_app
    from console.site import SESSION_COOKIE
    from tasks.people.accounts import add_user, sign_in

    settings, outcomes, _, _ = hostile
    add_user(settings, "directora@gae.example", "director", "una clave larga de prueba")
    _, token = sign_in(settings, "directora@gae.example", "una clave larga de prueba", "test")
    with pytest.raises(PermissionError):
        sign_in(settings, payload("email"), "x", payload("client"))
    client = TestClient(create_app(settings, plan), base_url="https://testserver")
    client.cookies.set(SESSION_COOKIE, token)
    pages = {f"envio-{o.submission_id}": f"/envios/{o.submission_id}" for o in outcomes}

    for name, url in {**pages, "ingresos": "/ingresos"}.items():
        html = client.get(url).text
        assert_escaped(html)
        saved = tmp_path / f"{name}.html"
        saved.write_text(html, encoding="utf-8")
        assert '<b id="xss-' not in rendered_dom(saved), url
    accepted = next(o for o in outcomes if o.outcome != "rejected")
    shown = client.get(f"/envios/{accepted.submission_id}").text
    assert "&lt;b id=&#34;xss-descripcion_avance&#34;&gt;A &amp; B" in shown
