"""Evidence beside the workbook, and messages that forgot the workbook, delivered to the inbox.

Messages are built as a liaison's mail program sends them and filed in the workspace Maildir;
one intake runs as the flow does; replies are counted and read at the SMTP server (aiosmtpd).
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hitos_cli import app
from tasks.cycle.requests import build_request, open_cycle_record
from tasks.storage import filestore
from tasks.storage.ledger import Evidence, InboundMessage, Submission, session
from tests import mail_samples as samples
from tests.test_automatic_mail import deliver, intake_once, status_of
from tests.test_intake_corpus import Context, filled

LIAISON = "enlace@mingob.example"


@pytest.fixture
def workbook(settings, plan) -> bytes:
    """MINGOB's request workbook, filled in correctly."""
    cycle = open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    template = build_request(settings, plan, cycle, plan.institution("MINGOB")).read_bytes()
    return filled(Context(plan, template))


def evidence_rows(settings) -> list[Evidence]:
    with session(settings.database) as db:
        return list(db.scalars(select(Evidence).order_by(Evidence.id)))


def test_workbook_with_a_pdf_and_an_image_is_accepted_and_both_are_kept_as_evidence(
    settings, plan, smtp, workbook, monkeypatch
):
    files = [("avances.xlsx", workbook), ("informe.pdf", samples.PDF), ("foto.png", samples.PNG)]
    deliver(
        settings,
        samples.liaison_mail(LIAISON, "Avances MINGOB", files, "<e1@mingob.example>", logo=True),
    )

    statuses = intake_once(settings, plan)

    with session(settings.database) as db:
        subs = list(db.scalars(select(Submission)))
        stored = [filestore.get(db, e.sha256) for e in evidence_rows(settings)]
    assert [(s.filename, s.outcome) for s in subs] == [("avances.xlsx", "accepted")]
    rows = evidence_rows(settings)
    assert [(e.filename, e.submission_id) for e in rows] == [
        ("informe.pdf", subs[0].id),
        ("foto.png", subs[0].id),
    ], "the signature logo shown in the body is not evidence"
    assert stored == [samples.PDF, samples.PNG]
    assert list(statuses.values()) == ["sent"]
    reply = smtp.to(LIAISON)[0]
    text = reply.get_body(("plain",)).get_content()
    assert "RECIBIMOS Y ACEPTAMOS" in text
    assert "como evidencia de este envío: informe.pdf, foto.png" in text
    assert "informe.pdf, foto.png" in reply.get_body(("html",)).get_content()
    assert status_of(settings, plan, "MINGOB")["submissions"] == 1

    monkeypatch.setenv("HITOS_HOME", str(settings.home))
    shown = json.loads(CliRunner().invoke(app, ["findings", "2023-03", "--json"]).stdout)
    assert [e["filename"] for e in shown[0]["evidence"]] == ["informe.pdf", "foto.png"]
    listed = CliRunner().invoke(app, ["findings", "2023-03"]).stdout
    assert "evidence: informe.pdf" in listed and "evidence: foto.png" in listed


def test_a_message_with_only_a_pdf_gets_one_reply_saying_the_workbook_is_missing(
    settings, plan, smtp, workbook
):
    deliver(
        settings,
        samples.liaison_mail(LIAISON, "Evidencias", [("acta.pdf", samples.PDF)], "<p1@mingob.ex>"),
    )

    first = intake_once(settings, plan)
    second = intake_once(settings, plan)

    assert list(first.values()) == ["sent"] and second == {}
    with session(settings.database) as db:
        assert db.scalars(select(Submission)).all() == []
        inbound = db.get(InboundMessage, "<p1@mingob.ex>")
    assert inbound is not None and inbound.kind == "no-workbook"
    assert [(e.filename, e.submission_id) for e in evidence_rows(settings)] == [("acta.pdf", None)]
    replies = smtp.to(LIAISON)
    assert len(replies) == 1
    reply = replies[0]
    assert (
        reply["Subject"] == "[Gobierno Abierto] Falta el archivo de avances · marzo 2023 · MINGOB"
    )
    assert reply["In-Reply-To"] == "<p1@mingob.ex>"
    assert reply["Auto-Submitted"] == "auto-replied"
    text = reply.get_body(("plain",)).get_content()
    assert "NO TRAE EL LIBRO DE AVANCES" in text and "acta.pdf" in text
    assert "No pudimos leer" not in text
    assert status_of(settings, plan, "MINGOB")["submissions"] == 0


def test_an_answer_to_the_missing_workbook_notice_without_a_workbook_is_not_answered_again(
    settings, plan, smtp, workbook
):
    """An auto-responder Hitos does not recognise would otherwise loop with the notice."""
    deliver(settings, samples.liaison_mail(LIAISON, "Consulta", [], "<l1@mingob.example>"))
    intake_once(settings, plan)
    notice = smtp.to(LIAISON)[0]
    deliver(
        settings,
        samples.liaison_mail(
            LIAISON,
            f"Re: {samples.subject_of(notice)}",
            [],
            "<l2@mingob.example>",
            in_reply_to=notice,
        ),
    )

    assert intake_once(settings, plan) == {}

    assert len(smtp.to(LIAISON)) == 1
    with session(settings.database) as db:
        answer = db.get(InboundMessage, "<l2@mingob.example>")
    assert answer is not None and answer.kind == "no-workbook", "kept, not answered"


def test_a_message_with_no_attachment_is_answered_only_when_a_contact_sent_it(
    settings, plan, smtp, workbook
):
    deliver(settings, samples.liaison_mail(LIAISON, "Consulta", [], "<q1@mingob.example>"))
    deliver(settings, samples.liaison_mail("x@desconocido.example", "Hola", [], "<q2@x.example>"))

    intake_once(settings, plan)

    assert len(smtp.to(LIAISON)) == 1
    assert smtp.to("x@desconocido.example") == []


def test_a_reply_to_a_reply_is_read_and_its_answer_threads_with_the_whole_conversation(
    settings, plan, smtp, workbook
):
    cycle = open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    template = build_request(settings, plan, cycle, plan.institution("MINGOB")).read_bytes()
    wrong = filled(Context(plan, template), **{"1_1": {"avance_pct": 50}})
    deliver(
        settings,
        samples.liaison_mail(LIAISON, "Avances", [("avances.xlsx", wrong)], "<t1@mingob.example>"),
    )
    intake_once(settings, plan)
    rejection = smtp.to(LIAISON)[0]
    assert rejection["In-Reply-To"] == "<t1@mingob.example>"
    assert rejection["References"] == "<t1@mingob.example>"
    assert rejection["Auto-Submitted"] == "auto-replied"

    deliver(
        settings,
        samples.liaison_mail(
            LIAISON,
            f"RE: {samples.subject_of(rejection)}",
            [("avances-corregido.xlsx", workbook)],
            "<t2@mingob.example>",
            in_reply_to=rejection,
        ),
    )
    intake_once(settings, plan)

    answers = smtp.to(LIAISON)
    assert len(answers) == 2
    acceptance = answers[1]
    assert "ACEPTAMOS" in acceptance.get_body(("plain",)).get_content()
    assert acceptance["In-Reply-To"] == "<t2@mingob.example>"
    assert acceptance["References"].split() == [
        "<t1@mingob.example>",
        rejection["Message-ID"],
        "<t2@mingob.example>",
    ]
    assert status_of(settings, plan, "MINGOB")["delivery"] != "not-delivered"
