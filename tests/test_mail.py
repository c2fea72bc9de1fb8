"""Outgoing mail against a real aiosmtpd server on loopback."""

from __future__ import annotations

from datetime import date

from tasks.cycle.requests import build_request, open_cycle_record, request_email
from tasks.cycle.status import cycle_status
from tasks.mail.outgoing import compose, send_all


def requests_for(settings, plan):
    cycle = open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    return [
        request_email(plan, cycle, i, build_request(settings, plan, cycle, i))
        for i in plan.reporting_institutions()
    ]


def test_every_institution_gets_exactly_one_request_even_when_rerun(settings, plan, smtp):
    first = send_all(settings, requests_for(settings, plan))
    second = send_all(settings, requests_for(settings, plan))

    assert set(first.values()) == {"sent"}
    assert set(second.values()) == {"skipped"}
    for institution in plan.reporting_institutions():
        assert len(smtp.to(institution.liaison.email)) == 1


def test_request_has_real_plain_text_html_and_the_workbook(settings, plan, smtp):
    send_all(settings, requests_for(settings, plan))
    message = smtp.to("enlace@mingob.example")[0]
    parts = {p.get_content_type(): p for p in message.walk()}

    text = parts["text/plain"].get_payload(decode=True).decode()
    html = parts["text/html"].get_payload(decode=True).decode()
    assert "<" not in text and "FECHA LÍMITE: miércoles 15 de marzo de 2023" in text
    assert "<strong>Fecha límite: miércoles 15 de marzo de 2023.</strong>" in html
    assert "1.5" in text
    assert message["Subject"] == "[Gobierno Abierto] Solicitud de avances · marzo 2023 · MINGOB"
    attachments = [p.get_filename() for p in message.walk() if p.get_filename()]
    assert attachments == ["gt-pan5-2023-03-MINGOB.xlsx"]


def test_message_ids_differ_between_emails_with_the_same_subject(settings, plan, smtp):
    mails = [
        compose(
            "report",
            key=f"2023-03/-/report/{n}",
            kind="report",
            to=["d@gae.example"],
            subject="Mismo asunto",
            plan=plan,
            cycle=open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1)),
            version=n,
            figures={"headline": 50.0},
            files={"latest_html": "a", "latest_xlsx": "b", "latest_csv": "c"},
            delivered=1,
            institutions=2,
        )
        for n in (1, 2)
    ]
    send_all(settings, mails)
    ids = {m["Message-ID"] for m in smtp.to("d@gae.example")}
    assert len(ids) == 2


def test_temporary_refusals_are_retried_until_accepted(settings, plan, smtp):
    smtp.temporary_failures = 2
    statuses = send_all(settings, requests_for(settings, plan)[:1])

    assert list(statuses.values()) == ["sent"]
    assert len(smtp.messages) == 1


def test_refused_address_is_recorded_and_shown_in_status_not_retried(settings, plan, smtp):
    smtp.refused.add("enlace@sesan.example")
    statuses = send_all(settings, requests_for(settings, plan))
    again = send_all(settings, requests_for(settings, plan))

    assert statuses["gt-pan5/2023-03/SESAN/request/1"] == "refused"
    assert again["gt-pan5/2023-03/SESAN/request/1"] == "skipped"
    rows = {
        r.institution: r.as_dict()
        for r in cycle_status(settings, plan, "2023-03", date(2023, 3, 2))
    }
    assert rows["SESAN"]["request"] == "refused"
    assert "550" in str(rows["SESAN"]["request_error"])
    assert rows["MINGOB"]["request"] == "sent"


def test_the_message_on_the_wire_is_ascii_with_an_encoded_subject(settings, plan):
    from tasks.mail.outgoing import Mailer

    mail = requests_for(settings, plan)[0]
    client = Mailer(user=settings.sender, smtp_skip_login=True, soft_email_validation=False)

    _, raw = client.message(mail, settings.sender)

    assert raw.isascii()
    assert "Subject: =?utf-8?" in raw
    assert "\r\n" in raw and "\n" not in raw.replace("\r\n", "")
