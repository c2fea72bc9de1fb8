"""The console in a real browser: Debian's Chromium driven by Playwright, against uvicorn.

A reviewer signs in, returns MINEDUC's file with a comment (the liaison's mailbox, a real SMTP
server on loopback, receives it) and approves the others; the director grants MARN an extension,
consolidates, looks at the draft and publishes it; the public page changes only then.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import cast

import pytest
import uvicorn

from console.app import create_app
from tasks.cycle.extensions import extend
from tasks.cycle.requests import build_request
from tasks.mail.local_server import local_smtp_server
from tasks.people.accounts import PER_PAIR, add_user
from tasks.people.review import approve
from tasks.publication.approval import consolidate_draft, publish_draft
from tasks.simulation import filled_workbook
from tests.conftest import RecordingHandler
from tests.network import free_port, serving
from tests.test_console_submission import opened, reported_file, sent, started
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
    with serving(
        uvicorn.Config(create_app(settings, plan), host="127.0.0.1", port=port, log_level="error")
    ):
        yield f"http://127.0.0.1:{port}"


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
        assert "MARN" in draft and "31/03/2023" in draft
        page.go_back()
        page.get_by_role("link", name="Publicar la versión 1").click()
        page.get_by_role("button", name="Publicar ahora").click()  # the box is not ticked yet
        assert page.url.endswith("/publicar") and not latest.exists()
        page.get_by_label("Confirmo que publico la versión 1.").check()
        page.get_by_role("button", name="Publicar ahora").click()
        assert page.get_by_role("status").inner_text().startswith("Informe publicado")
        assert latest.exists()
        page.goto(f"{console_url}/ciclos/{CYCLE}/historial")
        history = page.inner_text("main")
        for expected in (REVIEWER, DIRECTOR, COMMENT, "Publicó el informe", "Concedió prórroga"):
            assert expected in history
        page.screenshot(path=str(tmp_path / "history.png"), full_page=True)
        browser.close()

    published = latest.read_text(encoding="utf-8")
    assert "31/03/2023" in published  # MARN's extension, shown to the public
    director_mail = [str(m["Subject"]) for m in smtp.to(plan.coordinator.director.email)]
    assert any("Borrador" in s for s in director_mail)
    assert any("Informe consolidado" in s for s in director_mail)


SHOTS = os.environ.get("HITOS_SCREENSHOTS", "")
"""A folder to keep screenshots of the console's pages at 1280 and 390 px in (the README's are
made with ``HITOS_SCREENSHOTS=docs/console``); empty: none are kept."""
SHOWN = {"dashboard", "submission", "publish", "sign-ins"}


@pytest.mark.slow
def test_every_console_page_fits_a_phone_and_findings_come_before_the_review(
    settings, plan, console_url
):
    """At 390 px no page scrolls sideways (measured in Chromium); on the reviewer's page the
    findings and values come before the approve and return forms, beside them at 1280 px."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is needed at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    smtp = RecordingHandler()
    with (
        local_smtp_server(Path(), Path(), settings.sender, settings.smtp_port, handler=smtp),
        sync_playwright() as playwright,
    ):
        add_user(settings, DIRECTOR, "director", PASSWORD)
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 390, "height": 844})
        widths: dict[str, int] = {"login": measured(page, f"{console_url}/login")}
        page.get_by_label("Correo electrónico").fill(DIRECTOR)
        page.get_by_label("Contraseña").fill("no es la clave")
        page.get_by_role("button", name="Ingresar").click()
        strangers(settings)
        sign_in(page, console_url, DIRECTOR)
        widths["empty"] = measured(page, f"{console_url}/")

        on = datetime(2023, 3, 8, 16, 5)
        march = reported_file(settings, plan, "2023-03", started(25), "marzo.xlsx", on)
        approve(settings, plan, march, REVIEWER)
        consolidate_draft(settings, plan, "2023-03")
        publish_draft(settings, plan, "2023-03", DIRECTOR)  # the board exists from now on
        on = datetime(2023, 8, 9, 15, 40)
        reported_file(settings, plan, "2023-08", started(50), "agosto-1.xlsx", on)
        changed = reported_file(
            settings, plan, "2023-08", started(0), "agosto-2.xlsx", on + timedelta(days=2)
        )
        request = build_request(
            settings,
            plan,
            opened(settings, plan, "2023-08"),
            plan.institution("MINEDUC"),
        )
        careless = filled_workbook(request, "MINEDUC", True)
        rejected = sent(settings, plan, "MINEDUC", careless, "mineduc.xlsx", on)
        for code in ("SESAN", "GAE"):
            approve(settings, plan, deliver_in(settings, plan, code, on), REVIEWER)
        extend(settings, plan, "2023-08", "MARN", date(2023, 9, 8), "Cambio de enlace.", DIRECTOR)
        consolidate_draft(settings, plan, "2023-08")

        pages = {
            "dashboard": "/",
            "dashboard-filtered": "/ciclos/2023-08?estado=pending&buscar=min",
            "submission": f"/envios/{changed}",
            "submission-rejected": f"/envios/{rejected}",
            "history": "/ciclos/2023-08/historial",
            "extensions": "/ciclos/2023-08/prorrogas",
            "consolidation": "/ciclos/2023-08/consolidacion",
            "publish": "/ciclos/2023-08/publicar",
            "sign-ins": "/ingresos",
            "not-found": "/envios/2147483647",
        }
        for name, path in pages.items():
            widths[name] = measured(page, console_url + path, name)

        page.goto(f"{console_url}/envios/{changed}")
        findings = page.get_by_role("heading", name="Resultados de la validación").bounding_box()
        values = page.get_by_role("heading", name="Lo que informó la institución").bounding_box()
        approve_button = page.get_by_role("button", name="Aprobar").bounding_box()
        page.set_viewport_size({"width": 1280, "height": 900})
        for name, path in pages.items():
            if name in SHOWN:
                measured(page, console_url + path, name)
        page.goto(f"{console_url}/envios/{changed}")
        wide_findings = page.get_by_role(
            "heading", name="Resultados de la validación"
        ).bounding_box()
        wide_approve = page.get_by_role("button", name="Aprobar").bounding_box()
        browser.close()

    assert {name: width for name, width in widths.items() if width > 390} == {}
    assert findings and values and approve_button
    assert findings["y"] < values["y"] < approve_button["y"]  # read first, then decide
    assert wide_findings and wide_approve and wide_approve["x"] > wide_findings["x"] + 500


def measured(page, url: str, name: str = "") -> int:
    """The page's width in CSS pixels once loaded (and its screenshot kept, if asked)."""
    page.goto(url)
    width = int(page.evaluate("document.documentElement.scrollWidth"))
    if SHOTS and name in SHOWN:
        viewport = page.viewport_size["width"]
        page.screenshot(path=str(Path(SHOTS) / f"{name}-{viewport}.png"), full_page=True)
    return width


def deliver_in(settings, plan, code: str, on: datetime) -> int:
    """The institution's plausible file for 2023-08."""
    request = build_request(
        settings, plan, opened(settings, plan, "2023-08"), plan.institution(code)
    )
    return sent(settings, plan, code, filled_workbook(request, code, False), f"{code}.xlsx", on)


def strangers(settings) -> None:
    """A stranger's guesses from one address, until refused: the sign-in log has each kind."""
    from tasks.people.accounts import Throttled
    from tasks.people.accounts import sign_in as try_sign_in

    for _ in range(PER_PAIR.free + 1):
        with contextlib.suppress(Throttled, PermissionError):
            try_sign_in(settings, DIRECTOR, "123456", "203.0.113.9")
