"""One bad message never stops the rest: a batch of hostile and broken mail through intake.

Each case is one raw message delivered to the inbox (the workspace Maildir, and a real Dovecot
over IMAP) in the same batch as a good workbook. After one intake (store, validate, reply to a
real SMTP server on loopback) every message has an outcome, every other message is stored,
validated and answered, and no reply is left ``sending``.
"""

from __future__ import annotations

import io
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from openpyxl import load_workbook
from sqlalchemy import select

from tasks.cycle.requests import build_request, open_cycle_record
from tasks.intake.malformed import unanswered_messages
from tasks.intake.process import process
from tasks.intake.replies import unanswered
from tasks.intake.store import store_all
from tasks.mail.inbox import open_maildir
from tasks.mail.outgoing import send_all
from tasks.people.contacts import contact, set_contacts
from tasks.storage.ledger import Email, InboundMessage, Submission, session
from tasks.workbooks.layout import header as workbook_header
from tests.conftest import RecordingHandler

LIAISON = "enlace@mingob.example"
NON_ASCII = "ñandú@gae.example"
XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@dataclass
class Workbooks:
    good: bytes
    rejected: bytes
    also_rejected: bytes


def filled(template: bytes, progress: int) -> bytes:
    """MINGOB's request workbook with every milestone reported (1.5 at ``progress`` %)."""
    book = load_workbook(io.BytesIO(template))
    sheet = book["Hitos"]
    header_row, header = workbook_header(sheet)
    assert header_row is not None
    for row in range(header_row + 1, sheet.max_row + 1):
        code = sheet.cell(row, header["codigo_hito"]).value
        done = code != "1.5"
        values = {
            "estado": "Completado" if done else "Iniciado",
            "avance_pct": 100 if done else progress,
            "descripcion_avance": f"Avance del hito {code}.",
            "evidencia_url": f"https://mingob.example/{code}",
        }
        for column, value in values.items():
            sheet.cell(row, header[column]).value = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def workbooks(settings, plan) -> Workbooks:
    # A contact with a non-ASCII address: Hitos answers only the people it knows.
    set_contacts(settings, plan, "MINEDUC", liaison=contact("Ñandú", NON_ASCII))
    cycle = open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    template = build_request(settings, plan, cycle, plan.institution("MINGOB")).read_bytes()
    return Workbooks(filled(template, 40), filled(template, 100), filled(template, 0))


def with_file(sender: str, message_id: str, filename: str, data: bytes) -> bytes:
    message = EmailMessage()
    message["From"] = "sender@placeholder.example"
    message["To"] = "gobiernoabierto@gae.example"
    message["Subject"] = "Avances"
    message["Message-ID"] = message_id
    message.set_content("Adjunto el reporte.")
    message.add_attachment(data, maintype=XLSX[0], subtype=XLSX[1], filename="x.xlsx")
    raw = message.as_bytes()
    # Sender and name exactly as a hostile or unlucky client writes them: raw UTF-8 bytes.
    raw = raw.replace(b"sender@placeholder.example", sender.encode())
    return raw.replace(b'filename="x.xlsx"', b'filename="' + filename.encode() + b'"')


def no_boundary(sender: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: gobiernoabierto@gae.example\r\nSubject: Avances sin frontera\r\n"
        "Message-ID: <sin-frontera@mingob.example>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed\r\n\r\n"
        "--x\r\nContent-Type: text/plain\r\n\r\nAdjunto.\r\n--x--\r\n"
    ).encode()


def undecodable_headers(data: bytes) -> bytes:
    raw = with_file(LIAISON, "<bytes@mingob.example>", "bytes.xlsx", data)
    return raw.replace(b"Subject: Avances", b"Subject: Avances \xff\xfe\x00 \x1b[31m rojo")


def batch(workbooks: Workbooks) -> list[bytes]:
    """The good file, then every hostile case (each a distinct file, so each is stored)."""
    return [
        with_file(LIAISON, "<bueno@mingob.example>", "avances.xlsx", workbooks.good),
        with_file(LIAISON, "<nul@mingob.example>", "avances\x00x.xlsx", workbooks.rejected),
        with_file(LIAISON, "<largo@mingob.example>", "ñ" * 500 + ".xlsx", workbooks.also_rejected),
        with_file(NON_ASCII, "<utf8@gae.example>", "utf8.csv", b"codigo_hito\n1.1\n"),
        undecodable_headers(b"codigo_hito,estado\n1.2,Iniciado\n"),
        no_boundary(LIAISON),
    ]


def deliver_to_maildir(settings, raws: list[bytes]) -> None:
    box = open_maildir(settings.folder("mail", "inbox"))
    for raw in raws:
        box.add(raw)


@contextmanager
def smtp_server(settings, smtputf8: bool):
    handler = RecordingHandler()
    controller = Controller(
        handler, hostname="127.0.0.1", port=settings.smtp_port, enable_SMTPUTF8=smtputf8
    )
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


def intake_once(settings, plan) -> dict[str, str]:
    """What the intake flow does, step by step: store, validate, reply."""
    store_all(settings)
    process(settings, plan)
    return send_all(settings, unanswered(settings, plan) + unanswered_messages(settings, plan))


def submissions(settings) -> list[Submission]:
    with session(settings.database) as db:
        return list(db.scalars(select(Submission).order_by(Submission.id)))


def emails(settings) -> dict[str, Email]:
    with session(settings.database) as db:
        return {e.to: e for e in db.scalars(select(Email))}


def check_batch(settings, handler: RecordingHandler) -> None:
    subs = submissions(settings)
    by_source = {s.source_ref: s for s in subs}
    assert by_source["<bueno@mingob.example>"].outcome == "accepted"
    assert by_source["<nul@mingob.example>"].outcome == "rejected"
    assert by_source["<largo@mingob.example>"].outcome == "rejected"
    assert all(s.outcome != "received" for s in subs)
    for sub in subs:
        assert "\x00" not in sub.filename and len(sub.filename.encode()) <= 150
    # Maildir keeps the NUL (made «_» here); Dovecot already turns it into U+FFFD.
    assert by_source["<nul@mingob.example>"].filename in ("avances_x.xlsx", "avances\ufffdx.xlsx")
    assert by_source["<largo@mingob.example>"].filename.endswith(".xlsx")
    # Every MINGOB file was answered; the rejected ones with their workbook marked.
    replies = handler.to(LIAISON)
    assert len(replies) == 5  # good, NUL name, long name, undecodable subject, broken MIME
    marked = [
        p.get_filename()
        for m in replies
        for p in m.walk()
        if (p.get_filename() or "").startswith("corregir-")
    ]
    assert len(marked) == 2
    with session(settings.database) as db:
        broken = db.get(InboundMessage, "<sin-frontera@mingob.example>")
        assert broken is not None and broken.kind == "malformed"
        assert "NoBoundaryInMultipartDefect" in broken.problem and broken.raw_sha256
        undecodable = db.get(InboundMessage, "<bytes@mingob.example>")
        assert undecodable is not None
        assert "\x00" not in undecodable.subject and "\x1b" not in undecodable.subject
    assert all(e.status != "sending" for e in emails(settings).values())


def test_a_hostile_batch_in_the_maildir_leaves_every_other_message_answered(
    settings, plan, workbooks
):
    deliver_to_maildir(settings, batch(workbooks))
    with smtp_server(settings, smtputf8=False) as handler:
        statuses = intake_once(settings, plan)

    check_batch(settings, handler)
    utf8 = emails(settings)["ñandú@gae.example"]
    assert utf8.status == "refused" and "SMTPUTF8" in utf8.error
    assert sorted(statuses.values()).count("sent") == 5
    # Nothing is left to retry or to store again.
    with smtp_server(settings, smtputf8=False) as handler:
        assert intake_once(settings, plan) == {}
    assert handler.messages == []


def test_a_non_ascii_address_is_answered_when_the_server_offers_smtputf8(settings, plan, workbooks):
    deliver_to_maildir(settings, batch(workbooks))
    with smtp_server(settings, smtputf8=True) as handler:
        intake_once(settings, plan)

    check_batch(settings, handler)
    assert emails(settings)["ñandú@gae.example"].status == "sent"
    assert len(handler.to("ñandú@gae.example")) == 1


def test_a_hostile_batch_over_imap_leaves_every_other_message_answered(
    settings, plan, workbooks, dovecot
):
    imap = dovecot.settings(settings)
    for raw in batch(workbooks):
        dovecot.deliver(raw)
    with smtp_server(imap, smtputf8=False) as handler:
        intake_once(imap, plan)

    check_batch(imap, handler)
    assert dovecot.message_ids("INBOX") == []


def test_two_intakes_on_one_maildir_both_finish_and_store_each_file_once(settings, plan, workbooks):
    from concurrent.futures import ThreadPoolExecutor

    deliver_to_maildir(settings, batch(workbooks))
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(store_all, settings) for _ in range(2)]
        stored = [run.result() for run in runs]

    assert sum(len(s) for s in stored) == 5
    sources = [s.source_ref for s in submissions(settings)]
    assert len(sources) == len(set(sources)) == 5
    assert list(Path(settings.home / "mail" / "inbox" / "new").iterdir()) == []
