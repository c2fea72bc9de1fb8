"""Bounces and auto-replies delivered to the intake inbox: recorded, never read, never answered.

Each test sends the cycle's requests through a real SMTP server (aiosmtpd on loopback), takes
the request as that server received it, and has a mail server return it the way Postfix or
Exchange do, delivered to the workspace Maildir (or to a real Dovecot INBOX). Then one intake
runs, as the flow does, and the ledger, ``hitos status`` and the outgoing mail are checked.
"""

from __future__ import annotations

from datetime import date
from email import message_from_bytes
from email.message import Message

import pytest
from sqlalchemy import func, select

from tasks.cycle.requests import build_request, open_cycle_record, request_email
from tasks.cycle.status import cycle_status
from tasks.intake.process import process
from tasks.intake.replies import missing_workbook_replies, unanswered
from tasks.intake.store import store_all
from tasks.mail.automatic import bounce_notices, recognise
from tasks.mail.inbox import open_maildir, received
from tasks.mail.outgoing import send_all
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import AutomaticMessage, Email, InboundMessage, Submission, session
from tests import mail_samples as samples

MARN = "enlace@marn.example"
DIRECTOR = "director@gae.example"


def intake_once(settings: Settings, plan: Plan) -> dict[str, str]:
    """What the hitos.intake flow does, without Prefect: store, validate, send what is owed."""
    store_all(settings)
    process(settings, plan)
    owed = (
        unanswered(settings, plan)
        + missing_workbook_replies(settings, plan)
        + bounce_notices(settings, plan)
    )
    return send_all(settings, owed)


def open_and_send(settings: Settings, plan: Plan) -> None:
    cycle = open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    send_all(
        settings,
        [
            request_email(plan, cycle, i, build_request(settings, plan, cycle, i))
            for i in plan.reporting_institutions()
        ],
    )


def as_received(smtp, address: str) -> Message:
    """The request as the SMTP server received it: what a mail server would return."""
    return message_from_bytes(smtp.to(address)[0].as_bytes())


def deliver(settings: Settings, raw: bytes) -> None:
    open_maildir(settings.folder("mail", "inbox")).add(raw)


def status_of(settings: Settings, plan: Plan, code: str) -> dict[str, object]:
    rows = cycle_status(settings, plan, "2023-03", date(2023, 3, 3))
    return next(r.as_dict() for r in rows if r.institution == code)


def count(settings: Settings, model) -> int:
    with session(settings.database) as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_postfix_bounce_marks_the_request_bounced_and_tells_the_director_once(settings, plan, smtp):
    open_and_send(settings, plan)
    sent_before = len(smtp.messages)
    deliver(settings, samples.postfix_bounce(as_received(smtp, MARN), MARN))

    statuses = intake_once(settings, plan)
    again = intake_once(settings, plan)

    row = status_of(settings, plan, "MARN")
    assert row["request"] == "bounced"
    assert "550 5.1.1" in str(row["request_error"]) and MARN in str(row["request_error"])
    assert row["submissions"] == 0 and row["delivery"] == "not-delivered"
    assert count(settings, Submission) == 0, "the workbook inside the bounce is not a submission"
    with session(settings.database) as db:
        bounce = db.scalars(select(AutomaticMessage)).one()
    assert (bounce.kind, bounce.email_key) == ("bounce", "gt-pan5/2023-03/MARN/request/1")
    assert list(statuses.values()) == ["sent"] and again == {}
    new = smtp.messages[sent_before:]
    assert [rcpts for rcpts, _ in new] == [[DIRECTOR]], "one notice, to the director, no reply"
    notice = new[0][1]
    assert notice["Subject"] == "[Gobierno Abierto] Correo no entregado · MARN"
    text = notice.get_body(("plain",)).get_content()
    assert "550 5.1.1" in text  # what to do is a link to the cycle, never a command
    assert "pida a quien administra Hitos que corrija su contacto" in text
    assert f"{settings.console}/ciclos/2023-03" in text and "hitos resend" not in text
    assert notice["Auto-Submitted"] == "auto-generated"


@pytest.mark.parametrize(
    ("build", "report_type"),
    [
        (samples.exchange_bounce, "multipart/mixed"),  # older Exchange: not a DSN
        (samples.exchange_online_bounce, "multipart/report"),
    ],
)
def test_exchange_bounce_is_matched_by_the_returned_message_id(
    settings, plan, smtp, build, report_type
):
    open_and_send(settings, plan)
    original = as_received(smtp, MARN)
    raw = build(original, MARN)
    assert message_from_bytes(raw).get_content_type() == report_type
    assert [a.filename for a in received(message_from_bytes(raw), "mail").attachments] == [
        "gt-pan5-2023-03-MARN.xlsx"
    ], "the bounce carries the request's workbook"

    intake_before = len(smtp.messages)
    deliver(settings, raw)
    intake_once(settings, plan)

    row = status_of(settings, plan, "MARN")
    assert row["request"] == "bounced"
    assert "5.1.1" in str(row["request_error"])
    assert count(settings, Submission) == 0
    with session(settings.database) as db:
        bounce = db.scalars(select(AutomaticMessage)).one()
    assert bounce.original_message_id == " ".join(str(original["Message-ID"]).split())
    assert bounce.addresses == MARN
    assert [r for r, _ in smtp.messages[intake_before:]] == [[DIRECTOR]]


def test_bounce_without_the_original_is_matched_by_the_failed_address(settings, plan, smtp):
    open_and_send(settings, plan)
    before = len(smtp.messages)
    deliver(settings, samples.exim_bounce_without_original(MARN))

    intake_once(settings, plan)

    assert status_of(settings, plan, "MARN")["request"] == "bounced"
    assert status_of(settings, plan, "MINGOB")["request"] == "sent"
    with session(settings.database) as db:
        bounce = db.scalars(select(AutomaticMessage)).one()
    assert (bounce.original_message_id, bounce.email_key) == ("", "gt-pan5/2023-03/MARN/request/1")
    assert [r for r, _ in smtp.messages[before:]] == [[DIRECTOR]]


def test_rfc3834_auto_reply_is_recorded_and_never_answered(settings, plan, smtp):
    open_and_send(settings, plan)
    before = len(smtp.messages)
    request = as_received(smtp, "enlace@mineduc.example")
    deliver(settings, samples.rfc3834_reply("enlace@mineduc.example", request))

    assert intake_once(settings, plan) == {}

    assert len(smtp.messages) == before
    with session(settings.database) as db:
        auto = db.scalars(select(AutomaticMessage)).one()
        inbound = db.scalars(select(InboundMessage)).one()
        request_row = db.get(Email, "gt-pan5/2023-03/MINEDUC/request/1")
    assert (auto.kind, auto.reason) == ("auto-reply", "Auto-Submitted: auto-replied")
    assert inbound.kind == "automatic"
    assert request_row is not None and request_row.status == "sent"


def test_out_of_office_with_a_logo_gets_no_answer_and_its_image_is_no_file(settings, plan, smtp):
    open_and_send(settings, plan)
    before = len(smtp.messages)
    request = as_received(smtp, "enlace@mingob.example")
    deliver(settings, samples.out_of_office("enlace@mingob.example", request))

    assert intake_once(settings, plan) == {}

    assert len(smtp.messages) == before
    assert count(settings, Submission) == 0
    with session(settings.database) as db:
        auto = db.scalars(select(AutomaticMessage)).one()
    assert auto.kind == "auto-reply" and "Fuera de la oficina" in auto.reason
    assert status_of(settings, plan, "MINGOB")["request"] == "sent"


def test_bounce_and_auto_reply_through_dovecot(settings, plan, smtp, dovecot):
    imap = dovecot.settings(settings)
    open_and_send(imap, plan)
    before = len(smtp.messages)
    dovecot.deliver(samples.postfix_bounce(as_received(smtp, MARN), MARN))
    request = as_received(smtp, "enlace@mineduc.example")
    dovecot.deliver(samples.rfc3834_reply("enlace@mineduc.example", request))

    intake_once(imap, plan)

    assert status_of(imap, plan, "MARN")["request"] == "bounced"
    assert count(imap, Submission) == 0
    assert [r for r, _ in smtp.messages[before:]] == [[DIRECTOR]]
    assert dovecot.message_ids("INBOX") == []
    with session(imap.database) as db:
        kinds = sorted(db.scalars(select(AutomaticMessage.kind)))
    assert kinds == ["auto-reply", "bounce"]


def test_hitos_own_mail_says_it_is_automatic(settings, plan, smtp):
    open_and_send(settings, plan)
    request = smtp.to("enlace@mingob.example")[0]
    assert request["Auto-Submitted"] == "auto-generated"


def test_a_person_writing_about_a_failed_delivery_is_not_a_bounce():
    message = message_from_bytes(
        samples.liaison_mail(
            "enlace@mingob.example",
            "Re: no me llegó el correo: delivery failed?",
            [],
            "<p1@mingob.example>",
        )
    )
    assert recognise(message) is None


def test_a_delay_report_is_recorded_but_the_request_still_counts_as_sent(settings, plan, smtp):
    open_and_send(settings, plan)
    before = len(smtp.messages)
    raw = samples.postfix_bounce(as_received(smtp, MARN), MARN).replace(
        b"Action: failed", b"Action: delayed"
    )
    deliver(settings, raw)

    assert intake_once(settings, plan) == {}

    assert status_of(settings, plan, "MARN")["request"] == "sent"
    assert count(settings, Submission) == 0
    assert len(smtp.messages) == before
    with session(settings.database) as db:
        assert db.scalars(select(AutomaticMessage.kind)).all() == ["delay"]


@pytest.mark.slow
def test_hitos_intake_runs_the_flow_and_says_what_automatic_mail_it_recorded(
    prefect_server, settings, plan, smtp, monkeypatch
):
    """The real hitos.intake flow (Prefect's test server) behind the command an operator runs."""
    from typer.testing import CliRunner

    from hitos_cli import app

    monkeypatch.setenv("HITOS_HOME", str(settings.home))
    monkeypatch.setenv("HITOS_SMTP_PORT", str(settings.smtp_port))
    open_and_send(settings, plan)
    before = len(smtp.messages)
    deliver(settings, samples.postfix_bounce(as_received(smtp, MARN), MARN))
    request = as_received(smtp, "enlace@mineduc.example")
    deliver(settings, samples.rfc3834_reply("enlace@mineduc.example", request))

    result = CliRunner().invoke(app, ["intake"])

    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "bounce from mailer-daemon@mx.marn.example" in said.lower()
    assert "gt-pan5/2023-03/MARN/request/1 marked bounced" in said
    assert "auto-reply from enlace@mineduc.example: Auto-Submitted: auto-replied" in said
    assert "Nothing new." not in result.output
    assert [r for r, _ in smtp.messages[before:]] == [[DIRECTOR]]
    assert result.output.splitlines()[-1] == "2 automatic messages recorded; 1 answer sent."


def test_a_bounce_in_an_unknown_charset_is_still_recognised():
    raw = samples.exim_bounce_without_original(MARN).replace(b'charset="utf-8"', b"charset=x-nada")
    assert b"x-nada" in raw
    found = recognise(message_from_bytes(raw))
    assert found is not None and found.kind == "bounce"
