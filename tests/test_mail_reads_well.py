"""Email as the institution receives it: the HTML the template rendered, a From with the
directorate's name, the plan's time zone, and a page that reads well in a real browser.

Every message here is the one aiosmtpd received on loopback; the page is opened in Debian's
Chromium through Playwright and screenshotted (the PNG is kept in the test's folder to look at).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path

import pytest

from tasks.cycle.requests import build_request, open_cycle_record, request_email
from tasks.intake.process import process
from tasks.intake.replies import unanswered
from tasks.intake.store import store
from tasks.mail.inbox import Attachment, Received
from tasks.mail.outgoing import send_all
from tests.test_intake_corpus import Context, filled

CHROMIUM = Path("/usr/bin/chromium")
LIAISON = "enlace@mingob.example"


def rejection(settings, plan, smtp):
    """A rejected MINGOB workbook's reply, as the SMTP server received it, and what was sent."""
    cycle = open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    template = build_request(settings, plan, cycle, plan.institution("MINGOB")).read_bytes()
    changes: dict[str, Mapping[str, object]] = {
        "1_1": {"avance_pct": 50},
        "1_2": {"estado": "Terminado"},
        "1_5": {"avance_pct": 0},
    }
    wrong = filled(Context(plan, template), **changes)
    received = Received(
        "<r1@mingob.example>", "mail", LIAISON, "Avances", [Attachment("avances.xlsx", wrong)]
    )
    store(settings, [received])
    process(settings, plan)
    mails = unanswered(settings, plan)
    send_all(settings, mails)
    return smtp.to(LIAISON)[0], mails[0]


def test_html_part_is_exactly_what_the_template_rendered(settings, plan, smtp):
    message, sent = rejection(settings, plan, smtp)

    html = message.get_body(("html",)).get_content()

    assert html == sent.html
    assert "<br>" not in html.split("<table")[1].split("</table>")[0]
    assert message.get_body(("plain",)).get_content().strip() == sent.text.strip()


def test_from_carries_the_directorates_name_and_date_the_plans_time_zone(settings, plan, smtp):
    cycle = open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    institution = plan.institution("MINGOB")
    send_all(
        settings,
        [
            request_email(
                plan, cycle, institution, build_request(settings, plan, cycle, institution)
            )
        ],
    )
    message = smtp.to(LIAISON)[0]

    assert parseaddr(str(message["From"])) == ("Dirección de Gobierno Abierto", settings.sender)
    sent_at = parsedate_to_datetime(str(message["Date"]))
    offset = sent_at.utcoffset()
    assert offset is not None and offset.total_seconds() == -6 * 3600


def test_a_rejection_reads_well_in_chromium(settings, plan, smtp, tmp_path):
    if not CHROMIUM.exists():
        pytest.fail("Chromium is part of the test machine (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    message, _ = rejection(settings, plan, smtp)
    page_file = tmp_path / "rechazo.html"
    page_file.write_text(message.get_body(("html",)).get_content(), encoding="utf-8")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 800, "height": 900})
            page.goto(page_file.as_uri())
            table_top = page.evaluate("document.querySelector('table').getBoundingClientRect().top")
            intro_bottom = page.evaluate(
                "[...document.querySelectorAll('p')].find(p => p.textContent.includes('Corrija'))"
                ".getBoundingClientRect().bottom"
            )
            breaks = page.evaluate("document.querySelectorAll('table br').length")
            page.screenshot(path=str(tmp_path / "rechazo.png"), full_page=True)
        finally:
            browser.close()

    assert breaks == 0
    assert table_top - intro_bottom < 60, "the findings table follows its sentence, no blank space"
    assert (tmp_path / "rechazo.png").stat().st_size > 0
