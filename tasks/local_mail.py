"""The embedded mail server: aiosmtpd on loopback filing what it receives in workspace Maildirs.

Mail to the intake address lands in the directorate's inbox; everything else lands in the
outbox, which is what the institutions would have received. Production uses a real SMTP server
and IMAP mailbox instead, by settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tasks.inbox import open_maildir


class MaildirRouter:
    """aiosmtpd handler: one copy per mailbox, routed by recipient."""

    def __init__(self, inbox: Path, outbox: Path, intake_address: str) -> None:
        self.inbox = open_maildir(inbox)
        self.outbox = open_maildir(outbox)
        self.intake_address = intake_address.lower()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        recipients = [r.lower() for r in envelope.rcpt_tos]
        if self.intake_address in recipients:
            self.inbox.add(message_from_bytes(content))
        if any(r != self.intake_address for r in recipients):
            self.outbox.add(message_from_bytes(content))
        return "250 Message accepted for delivery"


@contextmanager
def local_smtp_server(
    inbox: Path, outbox: Path, intake_address: str, port: int = 8025, handler: Any = None
) -> Iterator[Controller]:
    """Run the embedded SMTP server on 127.0.0.1 for the duration of the block."""
    controller = Controller(
        handler or MaildirRouter(inbox, outbox, intake_address), hostname="127.0.0.1", port=port
    )
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()
