"""Intake from an IMAP mailbox, on a real Dovecot server on loopback (``inbox=imap``).

Messages reach the mailbox as real mail does: composed by the simulated institutions and sent
over SMTP (aiosmtpd hands them to Dovecot), or appended by IMAP like a delivery agent.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest
from imap_tools.errors import MailboxMoveError
from sqlalchemy import func, select

from tasks.cycle.requests import build_request, open_cycle_record
from tasks.intake import store as intake_store
from tasks.intake.process import process
from tasks.intake.store import store_all
from tasks.mail.local_server import local_smtp_server
from tasks.simulation import CARELESS, SILENT, corrections, first_answers
from tasks.storage import filestore
from tasks.storage.ledger import InboundMessage, Submission, session, utcnow
from tests.dovecot import ImapDelivery

SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def imap(settings, dovecot):
    """The test's workspace, reading its mail from the Dovecot INBOX."""
    return dovecot.settings(settings)


def mail(data: bytes, filename: str, message_id: str | None, n: int = 1) -> bytes:
    message = EmailMessage()
    message["From"] = "Enlace MINEDUC <enlace@mineduc.example>"
    message["To"] = "gobiernoabierto@gae.example"
    message["Subject"] = f"Avances {n}"
    if message_id:
        message["Message-ID"] = message_id
    message.set_content("Adjunto el reporte de avances.")
    maintype, subtype = SPREADSHEET.split("/")
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def stored(settings) -> list[tuple[str, str, str, str]]:
    """(sha256, filename, channel, source_ref) of every stored submission."""
    with session(settings.database) as db:
        rows = db.execute(
            select(
                Submission.sha256, Submission.filename, Submission.channel, Submission.source_ref
            )
        ).all()
        return [tuple(row) for row in rows]


def inbound_count(settings) -> int:
    with session(settings.database) as db:
        return int(db.scalar(select(func.count()).select_from(InboundMessage)) or 0)


def move_back(dovecot, folder: str = "Processed") -> None:
    """What an operator dragging a message back to INBOX does: the message gets a new UID."""
    with dovecot.client(folder) as box:
        box.move([m.uid for m in box.fetch(mark_seen=False)], "INBOX")


def test_stores_each_attachment_content_addressed_and_moves_the_message(imap, dovecot):
    data = b"codigo_hito,estado\n4.1,Iniciado\n"
    dovecot.deliver(mail(data, "avances.csv", "<a1@mineduc.example>"))

    ids = store_all(imap)

    digest = hashlib.sha256(data).hexdigest()
    assert len(ids) == 1
    assert stored(imap) == [(digest, "avances.csv", "imap", "<a1@mineduc.example>")]
    with session(imap.database) as db:
        assert filestore.get(db, digest) == data
    assert (imap.home / "files" / digest[:2] / digest).read_bytes() == data
    assert dovecot.message_ids("INBOX") == []
    assert dovecot.message_ids("Processed") == ["<a1@mineduc.example>"]


def test_a_file_is_dated_when_the_server_filed_its_message_not_when_intake_ran(imap, dovecot):
    """Sent at 22:30 in Guatemala on the deadline day (04:30 UTC the next day), read by intake
    days later: the submission keeps the server's filing time, so it counts as on time."""
    filed = datetime(2023, 3, 15, 22, 30, tzinfo=timezone(timedelta(hours=-6)))
    dovecot.deliver(
        mail(b"codigo_hito\n4.1\n", "avances.csv", "<tarde@mineduc.example>"), filed=filed
    )
    dovecot.deliver(mail(b"codigo_hito\n4.2\n", "otro.csv", "<hoy@mineduc.example>"))

    store_all(imap)

    with session(imap.database) as db:
        rows = db.execute(select(Submission.source_ref, Submission.received_at)).all()
    arrived: dict[str, datetime] = {ref: at for ref, at in rows}
    assert arrived["<tarde@mineduc.example>"] == datetime(2023, 3, 16, 4, 30)
    assert abs(arrived["<hoy@mineduc.example>"] - utcnow()) < timedelta(minutes=5)


def test_moves_message_only_after_its_files_are_stored(imap, dovecot, monkeypatch):
    """Two batches of two and one: the last, short batch is moved before the connection ends."""
    for n in (1, 2, 3):
        dovecot.deliver(mail(f"archivo {n}".encode(), f"avances-{n}.csv", f"<m{n}@x.example>", n))
    seen: list[tuple[str, bool, bool]] = []
    real_store = intake_store.store
    monkeypatch.setattr(intake_store, "STORE_BATCH", 2)

    def watching_store(settings, messages, *args, **kwargs):
        before = [m.message_id in dovecot.message_ids("INBOX") for m in messages]
        ids = real_store(settings, messages, *args, **kwargs)
        after = [m.message_id in dovecot.message_ids("INBOX") for m in messages]
        seen.extend(zip([m.message_id for m in messages], before, after, strict=True))
        return ids

    monkeypatch.setattr(intake_store, "store", watching_store)

    store_all(imap)

    ids = [f"<m{n}@x.example>" for n in (1, 2, 3)]
    assert seen == [(message_id, True, True) for message_id in ids]
    assert dovecot.message_ids("INBOX") == []
    assert sorted(dovecot.message_ids("Processed")) == ids
    assert len(stored(imap)) == 3


def test_rerun_stores_and_processes_nothing_twice_though_the_message_has_a_new_uid(
    imap, dovecot, plan
):
    dovecot.deliver(mail(b"not a workbook", "avances.xlsx", "<again@mineduc.example>"))
    store_all(imap)
    first = process(imap, plan)
    move_back(dovecot)

    assert dovecot.message_ids("INBOX") == ["<again@mineduc.example>"]
    assert store_all(imap) == []
    assert process(imap, plan) == []
    assert [o.outcome for o in first] == ["unreadable"]
    assert len(stored(imap)) == 1
    assert inbound_count(imap) == 1
    assert dovecot.message_ids("INBOX") == []
    assert dovecot.message_ids("Processed") == ["<again@mineduc.example>"]


def test_a_message_without_message_id_is_recognised_by_its_content(imap, dovecot):
    dovecot.deliver(mail(b"sin identificador", "avances.csv", None))
    store_all(imap)
    move_back(dovecot)

    assert store_all(imap) == []
    assert inbound_count(imap) == 1
    assert len(stored(imap)) == 1


def test_crash_between_storing_and_moving_keeps_the_message_and_the_rerun_does_not_duplicate(
    imap, dovecot, plan, monkeypatch
):
    """The crash is real: right after the files are stored, the done folder is deleted on the
    server, so Dovecot itself refuses the MOVE. The only thing patched is a wrapper around the
    real ``store`` that deletes the folder at that moment; storing and moving run unmocked."""
    dovecot.deliver(mail(b"archivo", "avances.xlsx", "<crash@mineduc.example>"))
    real_store = intake_store.store

    def store_then_lose_the_done_folder(settings, messages, *args, **kwargs):
        ids = real_store(settings, messages, *args, **kwargs)
        with dovecot.client() as box:
            box.folder.delete(imap.imap_done_folder)
        return ids

    monkeypatch.setattr(intake_store, "store", store_then_lose_the_done_folder)
    with pytest.raises(MailboxMoveError):  # a real MOVE: intake uses the server's command
        store_all(imap)
    monkeypatch.undo()

    assert dovecot.message_ids("INBOX") == ["<crash@mineduc.example>"]
    assert len(stored(imap)) == 1

    assert store_all(imap) == []
    assert dovecot.message_ids("INBOX") == []
    assert dovecot.message_ids("Processed") == ["<crash@mineduc.example>"]
    assert len(process(imap, plan)) == 1
    assert process(imap, plan) == []
    assert len(stored(imap)) == 1


def test_reads_every_message_when_the_inbox_holds_more_than_one_fetch_batch(imap, dovecot):
    for n in range(25):
        dovecot.deliver(mail(f"archivo {n}".encode(), f"a{n}.csv", f"<b{n}@x.example>", n))

    assert len(store_all(imap)) == 25
    assert dovecot.message_ids("INBOX") == []
    assert len(dovecot.message_ids("Processed")) == 25


def test_intake_over_imap_accepts_correct_workbooks_and_rejects_the_faulty_one(imap, dovecot, plan):
    cycle = open_cycle_record(imap, plan, "2023-03", date(2023, 3, 1))
    for institution in plan.reporting_institutions():
        build_request(imap, plan, cycle, institution)
    delivery = ImapDelivery(dovecot)
    with local_smtp_server(Path(), Path(), imap.sender, imap.smtp_port, handler=delivery):
        answered = first_answers(imap, plan, cycle.id)
        store_all(imap)
        first = {str(o.institution): o for o in process(imap, plan)}
        corrections(imap, plan, cycle.id)
        store_all(imap)
        second = process(imap, plan)

    assert len(delivery.delivered) == len(answered) + 1
    assert sorted(first) == sorted(answered) and SILENT not in first
    rejected = first[CARELESS]
    assert rejected.outcome == "rejected"
    assert "completed-requires-100" in {f.rule for f in rejected.findings}
    assert rejected.sender == plan.institution(CARELESS).liaison.email.lower()
    assert all(o.outcome.startswith("accepted") for c, o in first.items() if c != CARELESS)
    assert [(o.institution, o.outcome.startswith("accepted")) for o in second] == [(CARELESS, True)]
    assert {channel for _, _, channel, _ in stored(imap)} == {"imap"}
    assert dovecot.message_ids("INBOX") == []
    assert len(dovecot.message_ids("Processed")) == len(delivery.delivered)
