"""The console in a real browser: Debian's Chromium driven by Playwright, against uvicorn.

A reviewer signs in, returns MINEDUC's file with a comment (the liaison's mailbox, a real SMTP
server on loopback, receives it) and approves the others; the director grants MARN an extension,
consolidates, looks at the draft and publishes it; the public page changes only then.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import cast

import pytest
import uvicorn

from console.app import create_app
from tasks.mail.local_server import local_smtp_server
from tasks.people.accounts import add_user
from tests.conftest import RecordingHandler
from tests.network import free_port
from tests.test_review import deliver

CYCLE = "2023-03"
PASSWORD = "una clave larga de prueba"
DIRECTOR, REVIEWER = "directora@gae.example", "revisora@gae.example"
CHROMIUM = Path("/usr/bin/chromium")
COMMENT = "El avance del hito no coincide con el acta enlazada; revise las fechas."


@pytest.fixture
def console_url(settings, plan) -> Iterator[str]:
    """uvicorn serving the console on a free loopback port, stopped when the test ends."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, plan), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Correo electrónico").fill(email)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Ingresar").click()
    page.wait_for_url(f"{base}/")


def open_submission(page, base: str, code: str) -> None:
    page.goto(f"{base}/")
    page.get_by_role("row").filter(has_text=code).get_by_role("link").first.click()
    page.wait_for_url("**/envios/*")


@pytest.mark.slow
def test_reviewer_and_director_walk_a_cycle_to_publication(settings, plan, console_url, tmp_path):
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is needed at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    smtp = RecordingHandler()
    reviewed = ("MINEDUC", "MINGOB", "SESAN")
    with (
        local_smtp_server(Path(), Path(), settings.sender, settings.smtp_port, handler=smtp),
        sync_playwright() as playwright,
    ):
        for code in reviewed:
            deliver(settings, plan, code)
        add_user(settings, REVIEWER, "reviewer", PASSWORD)
        add_user(settings, DIRECTOR, "director", PASSWORD)
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 390, "height": 844})

        # The reviewer returns MINEDUC's file with a comment and approves the others.
        sign_in(page, console_url, REVIEWER)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(tmp_path / "dashboard-390.png"), full_page=True)
        open_submission(page, console_url, "MINEDUC")
        page.get_by_label("Comentario para la institución").fill(COMMENT)
        page.get_by_role("button", name="Devolver a la institución").click()
        assert page.get_by_role("status").inner_text().startswith("Archivo devuelto")
        liaison = plan.institution("MINEDUC").liaison.email
        [returned] = smtp.to(liaison)
        plain = cast(EmailMessage, returned).get_body(("plain",))
        assert plain is not None and COMMENT in plain.get_content()
        for code in reviewed[1:]:
            open_submission(page, console_url, code)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.get_by_role("button", name="Aprobar").focus()
            page.keyboard.press("Enter")  # usable without a mouse
            page.wait_for_url("**/ciclos/*")
            assert page.get_by_role("status").inner_text() == "Archivo aprobado."
        page.screenshot(path=str(tmp_path / "submission-done-390.png"), full_page=True)
        assert page.get_by_role("link", name="Consolidación").count() == 0
        page.get_by_role("button", name="Salir").click()

        # The director grants MARN an extension, consolidates, sees the draft, publishes.
        page.set_viewport_size({"width": 1280, "height": 900})
        sign_in(page, console_url, DIRECTOR)
        page.get_by_role("link", name="Prórrogas").click()
        page.get_by_label("Institución").select_option("MARN")
        page.get_by_label("Nueva fecha límite").fill("2023-03-31")
        page.get_by_label("Motivo").fill("Cambio de enlace en la institución.")
        page.get_by_role("button", name="Conceder prórroga").click()
        assert page.get_by_role("status").inner_text() == "Prórroga registrada."
        page.get_by_role("link", name="Consolidación").click()
        page.get_by_role("button", name="Consolidar ahora").click()
        assert page.get_by_role("status").inner_text() == "Consolidación terminada."
        latest = settings.home / "reports" / "gt-pan5" / CYCLE / "latest" / f"gt-pan5-{CYCLE}.html"
        assert not latest.exists()  # a draft: nothing public yet
        page.screenshot(path=str(tmp_path / "consolidation-draft.png"), full_page=True)
        page.get_by_role("link", name="Página").first.click()
        page.wait_for_url("**/informes/1/html")
        draft = page.content()
        assert "MARN" in draft and "2023-03-31" in draft
        page.go_back()
        page.get_by_role("button", name="Publicar la versión 1").click()
        assert page.get_by_role("status").inner_text().startswith("Informe publicado")
        assert latest.exists()
        page.goto(f"{console_url}/ciclos/{CYCLE}/historial")
        history = page.inner_text("main")
        for expected in (REVIEWER, DIRECTOR, COMMENT, "Publicó el informe", "Concedió prórroga"):
            assert expected in history
        page.screenshot(path=str(tmp_path / "history.png"), full_page=True)
        browser.close()

    published = latest.read_text(encoding="utf-8")
    assert "2023-03-31" in published  # MARN's extension, shown to the public
    director_mail = [str(m["Subject"]) for m in smtp.to(plan.coordinator.director.email)]
    assert any("Borrador" in s for s in director_mail)
    assert any("Informe consolidado" in s for s in director_mail)
