"""A whole cycle through the plain task functions, on real SMTP and a real SQLite ledger."""

from __future__ import annotations

import csv
import io
from datetime import date

from openpyxl import load_workbook

from tasks.core.calendar import add_business_days
from tasks.cycle.reminders import reminder_email, waiting_institutions
from tasks.cycle.requests import open_cycle_record
from tasks.intake.process import process
from tasks.intake.replies import unanswered
from tasks.intake.store import store_all
from tasks.mail.local_server import local_smtp_server
from tasks.mail.outgoing import send_all
from tasks.people.review import approve, pending_reviews
from tasks.publication.approval import consolidate_draft, publish_draft
from tasks.simulation import CARELESS, SILENT, corrections, first_answers
from tasks.workbooks.layout import header as workbook_header
from tests.test_mail import requests_for


def run_cycle(settings, plan):
    inbox, outbox = settings.folder("mail", "inbox"), settings.folder("mail", "outbox")
    with local_smtp_server(inbox, outbox, settings.sender, settings.smtp_port):
        send_all(settings, requests_for(settings, plan))
        cycle = open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
        first_answers(settings, plan, cycle.id)
        store_all(settings)
        first = process(settings, plan)
        send_all(settings, unanswered(settings, plan))
        corrections(settings, plan, cycle.id)
        store_all(settings)
        second = process(settings, plan)
        send_all(settings, unanswered(settings, plan))
        today = add_business_days(cycle.deadline, -2, plan.country)
        reminders = [
            reminder_email(settings, plan, cycle, i, today)
            for i in waiting_institutions(settings, plan, cycle.id)
        ]
        send_all(settings, [m for m in reminders if m])
        for item in pending_reviews(settings):  # the reviewers approve every standing file
            approve(settings, plan, item.submission_id, "revisora@gae.example")
        publication = consolidate_draft(settings, plan, cycle.id)
        if publication.report.state == "draft":
            publication = publish_draft(settings, plan, cycle.id, "directora@gae.example")
    return first, second, publication


def outbox_messages(settings):
    from tasks.mail.inbox import open_maildir

    return list(open_maildir(settings.folder("mail", "outbox")))


def test_whole_cycle_reports_every_milestone_and_reminds_only_the_silent(settings, plan):
    first, second, publication = run_cycle(settings, plan)

    outcomes = {o.institution: o.outcome for o in first}
    assert outcomes[CARELESS] == "rejected"
    assert SILENT not in outcomes
    assert all(o.startswith("accepted") for code, o in outcomes.items() if code != CARELESS)
    assert [o.outcome for o in second] in (["accepted"], ["accepted_with_warnings"])

    with publication.paths["latest_csv"].open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["codigo_hito"] for r in rows) == sorted(m.code for m in plan.milestones)

    messages = outbox_messages(settings)
    subjects = [str(m["Subject"]) for m in messages]
    for institution in plan.reporting_institutions():
        assert sum(institution.code in s and "Solicitud" in s for s in subjects) == 1
    reminders = [m for m in messages if "Recordatorio" in str(m["Subject"])]
    assert [m["To"] for m in reminders] == [plan.institution(SILENT).liaison.email]


def test_rejection_reply_names_the_faulty_milestone_and_column(settings, plan):
    first, _, _ = run_cycle(settings, plan)
    rejected = next(o for o in first if o.outcome == "rejected")
    first_code = plan.milestones_of(CARELESS)[0].code

    assert ("completed-requires-100", first_code, "avance_pct") in {
        (f.rule, f.milestone, f.column) for f in rejected.findings
    }
    replies = [m for m in outbox_messages(settings) if "rechazado" in str(m["Subject"])]
    assert len(replies) == 1
    body = next(p for p in replies[0].walk() if p.get_content_type() == "text/plain")
    text = body.get_payload(decode=True).decode()
    assert f"Hito {first_code}, columna Avance %" in text
    marked = next(p for p in replies[0].walk() if p.get_filename())
    sheet = load_workbook(io.BytesIO(marked.get_payload(decode=True)))["Hitos"]
    header_row, header = workbook_header(sheet)
    assert header_row is not None
    rows = range(header_row + 1, sheet.max_row + 1)
    row = next(r for r in rows if sheet.cell(r, header["codigo_hito"]).value == first_code)
    faulty = sheet.cell(row, header["avance_pct"])
    assert faulty.value == 80
    assert faulty.comment is not None and "debe ser 100 %" in faulty.comment.text


def test_running_the_cycle_twice_sends_and_stores_nothing_twice(settings, plan):
    run_cycle(settings, plan)
    sent_once = len(outbox_messages(settings))
    _, second, publication = run_cycle(settings, plan)

    assert second == []
    assert len(outbox_messages(settings)) == sent_once
    assert publication.report.version == 1
