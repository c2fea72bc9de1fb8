"""Two intakes reading one IMAP mailbox at once (two workers, or an operator's run during the
scheduled one), on a real Dovecot: each message is done once, and neither run fails because the
other moved a message first."""

from __future__ import annotations

from email.message import EmailMessage

from tasks.mail.inbox import from_imap


def message(n: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Enlace MINGOB <enlace@mingob.example>"
    mail["To"] = "gobiernoabierto@gae.example"
    mail["Subject"] = f"Avances {n}"
    mail["Message-ID"] = f"<avances-{n}@mingob.example>"
    mail.set_content("Adjunto el reporte.")
    return mail.as_bytes()


def test_a_message_the_other_run_moved_first_is_done_not_an_error(settings, dovecot):
    imap = dovecot.settings(settings)
    for n in range(5):
        dovecot.deliver(message(n))

    first, second = from_imap(imap, 2), from_imap(imap, 2)
    taken = next(first)  # the first run has read two messages, not yet stored them
    for batch in second:  # the second run reads, stores and moves everything meanwhile
        for received in batch:
            received.done()
    for received in taken:
        received.done()  # Dovecot: NO [EXPUNGEISSUED]; it was moved: done either way
    rest = [received for batch in first for received in batch]

    assert rest == []
    assert dovecot.message_ids("INBOX") == []
    assert len(dovecot.message_ids("Processed")) == 5
