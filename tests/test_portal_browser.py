"""The liaison's page in a real browser: Debian's Chromium driven by Playwright, against uvicorn.

The liaison opens the link of the request email a real SMTP server on loopback received, uploads a
careless workbook, sees the finding at its cell (the cell the marked copy marks), uploads the fixed
workbook and sees it sent; a second liaison does the same on a 390 px phone without scrolling
sideways; a tampered link and an expired one are refused with a page in Spanish.
Screenshots go to ``HITOS_PORTAL_SHOTS`` (``docs/portal/`` for the docs), else the test's folder.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import cast

import pytest
import uvicorn
from openpyxl import load_workbook
from sqlalchemy import update

from console.app import create_app
from flows.open_cycle import build_requests
from tasks.cycle.requests import build_request, open_cycle_record
from tasks.mail.local_server import local_smtp_server
from tasks.mail.outgoing import send_all
from tasks.settings import Settings
from tasks.simulation import filled_workbook
from tasks.storage.ledger import PortalLink, session, utcnow
from tests.conftest import RecordingHandler
from tests.network import free_port, serving

CHROMIUM = Path("/usr/bin/chromium")
CYCLE = "2023-03"
LINK = re.compile(r"http://127\.0\.0\.1:\d+/enlace/[0-9A-Za-z._-]+")


@pytest.fixture
def served(settings: Settings, plan) -> Iterator[Settings]:
    """uvicorn serving the console on a free loopback port; the settings name its address, so
    the emails' links point at it."""
    port = free_port()
    here = settings.model_copy(update={"console_url": f"http://127.0.0.1:{port}"})
    app = create_app(here, plan)
    with serving(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error")):
        yield here


def link_in(smtp: RecordingHandler, address: str) -> str:
    """The personal link of the request email the liaison received, as its plain text gives it."""
    [request] = smtp.to(address)
    plain = cast(EmailMessage, request).get_body(("plain",))
    assert plain is not None
    found = LINK.search(plain.get_content())
    assert found, "the request email carries no personal link"
    return found.group(0)


def upload(page, name: str, data: bytes) -> None:
    page.set_input_files(
        "#archivo", files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}]
    )
    page.get_by_role("button", name="Revisar y enviar").click()
    page.wait_for_load_state()


def fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def finding_cells(page) -> list[str]:
    """The cells the findings table names (the «Celda» column)."""
    return [c.strip() for c in page.locator('#hallazgos td[data-label="Celda"]').all_inner_texts()]


@pytest.mark.slow
def test_a_liaison_checks_a_wrong_file_then_sends_the_fixed_one_from_the_emails_link(
    served, plan, tmp_path
):
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is needed at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("HITOS_PORTAL_SHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    smtp = RecordingHandler()
    cycle = open_cycle_record(served, plan, CYCLE, date(2023, 3, 1))
    liaisons = {code: plan.institution(code) for code in ("MINEDUC", "MINGOB")}
    with (
        local_smtp_server(Path(), Path(), served.sender, served.smtp_port, handler=smtp),
        sync_playwright() as playwright,
    ):
        send_all(served, build_requests(served, plan, cycle, list(liaisons.values())))
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        for code, width in (("MINEDUC", 1280), ("MINGOB", 390)):
            link = link_in(smtp, liaisons[code].liaison.email)
            request = build_request(served, plan, cycle, liaisons[code])
            page = browser.new_page(viewport={"width": width, "height": 900}, accept_downloads=True)

            opened = page.goto(link)
            assert opened is not None and opened.status == 200
            assert page.get_by_role("heading", level=1).inner_text().startswith(liaisons[code].name)
            fits(page, width)
            page.screenshot(path=str(shots / f"page-{width}.png"), full_page=True)

            upload(page, f"avances-{code}.xlsx", filled_workbook(request, code, True))
            assert "no se envió como entrega" in page.get_by_role("status").inner_text()
            cells = finding_cells(page)
            assert cells and all(re.fullmatch(r"[A-Z]+\d+", c) for c in cells), cells
            fits(page, width)
            page.locator("#resultado").scroll_into_view_if_needed()
            page.screenshot(path=str(shots / f"findings-{width}.png"), full_page=width == 390)
            with page.expect_download() as download:
                page.get_by_role("link", name="Descargar la copia marcada").click()
            marked = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
            sheet = marked["Hitos"]
            assert all(sheet[c].comment is not None for c in cells), "the marked copy marks them"

            upload(page, f"avances-{code}.xlsx", filled_workbook(request, code, False))
            assert "quedó enviado" in page.get_by_role("status").inner_text()
            assert (
                finding_cells(page) == [] or "Error" not in page.locator("#hallazgos").inner_text()
            )
            fits(page, width)
            page.screenshot(path=str(shots / f"sent-{width}.png"), full_page=width == 390)
            assert any(
                "aceptado" in str(m["Subject"]) for m in smtp.to(liaisons[code].liaison.email)
            )

        # A tampered link: 404; an expired one: 403; each a page in Spanish.
        page = browser.new_page(viewport={"width": 390, "height": 800})
        tampered = link[:-1] + ("A" if link[-1] != "A" else "B")
        answer = page.goto(tampered)
        assert answer is not None and answer.status == 404
        assert (
            page.get_by_role("heading", level=1).inner_text()
            == "Este enlace no abre ninguna página"
        )
        fits(page, 390)
        page.screenshot(path=str(shots / "refused-390.png"))
        with session(served.database) as db:
            db.execute(update(PortalLink).values(expires_at=utcnow() - timedelta(seconds=1)))
        answer = page.goto(link)
        assert answer is not None and answer.status == 403
        assert "venció" in page.get_by_role("alert").inner_text()
        browser.close()
