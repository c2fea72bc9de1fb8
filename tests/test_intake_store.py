"""Storing what arrives: by Message-ID and by content, never by the sender's file name."""

from __future__ import annotations

from tasks.intake.store import store
from tasks.mail.inbox import Attachment, Received
from tasks.storage.ledger import InboundMessage, Submission, session


def received(message_id: str, *files: tuple[str, bytes]) -> Received:
    return Received(
        message_id=message_id,
        channel="mail",
        sender="enlace@mingob.example",
        attachments=[Attachment(name, data) for name, data in files],
    )


def test_the_same_message_read_twice_is_stored_once(settings):
    first = store(settings, [received("<a@x>", ("avances.xlsx", b"uno"))])
    again = store(settings, [received("<a@x>", ("avances.xlsx", b"uno"))])

    assert len(first) == 1 and again == []


def test_a_different_email_reusing_a_message_id_still_has_its_file_stored(settings):
    store(settings, [received("<mismo@x>", ("avances.xlsx", b"primera version"))])
    second = store(settings, [received("<mismo@x>", ("avances.xlsx", b"segunda version"))])

    assert len(second) == 1
    with session(settings.database) as db:
        assert db.query(InboundMessage).count() == 1
        assert db.query(Submission).count() == 2


def test_the_same_file_in_two_emails_is_one_submission(settings):
    store(settings, [received("<uno@x>", ("avances.xlsx", b"igual"))])
    later = store(settings, [received("<dos@x>", ("copia.xlsx", b"igual"))])

    assert later == []
    with session(settings.database) as db:
        assert db.query(InboundMessage).count() == 2
        assert db.query(Submission).count() == 1


def test_a_batch_holding_one_message_twice_and_one_file_twice_stores_each_once(settings):
    stored = store(
        settings,
        [
            received("<uno@x>", ("avances.xlsx", b"igual"), ("otro.csv", b"distinto")),
            received("<uno@x>", ("avances.xlsx", b"igual")),
            received("<dos@x>", ("copia.xlsx", b"igual")),
        ],
    )

    assert len(stored) == 2
    with session(settings.database) as db:
        assert db.query(InboundMessage).count() == 2
        files = {s.filename: s.source_ref for s in db.query(Submission)}
    assert files == {"avances.xlsx": "<uno@x>", "otro.csv": "<uno@x>"}
