"""A received message taken apart defensively: sender, subject, Message-ID and attached files.

A message whose MIME tree is broken (``multipart/mixed`` with no boundary, a part that does not
decode) must still be read as far as it can be, never raising: one failure never stops a batch.
What intake then does with a message that gave no file is ``tasks.intake.malformed``'s business.
"""

from __future__ import annotations

import hashlib
from contextlib import suppress
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.utils import parseaddr

from tasks.workbooks.safe_names import printable, safe_filename

KEY_LIMIT = 250


@dataclass
class Parts:
    """What could be read from one message; ``problem`` says why the rest could not."""

    message_id: str
    sender: str
    subject: str
    attachments: list[tuple[str, bytes]] = field(default_factory=list)
    problem: str = ""


def header(message: Message, name: str) -> str:
    """A header as printable text, whatever bytes the sender put in it (never raises).

    Raw 8-bit bytes are read as UTF-8 (RFC 6532: ``From: ñandú@gae.example``), encoded words
    (RFC 2047) are decoded, and what does not decode becomes U+FFFD.
    """
    try:
        value = next((v for k, v in message.raw_items() if k.lower() == name.lower()), None)
        if value is None:
            return ""
        text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        with suppress(Exception):
            text = str(make_header(decode_header(text)))
        return printable(text, 1000)
    except Exception:
        return ""


def message_key(message: Message, raw: bytes) -> str:
    """The Message-ID (unfolded, printable), or a digest of the raw message without one."""
    message_id = header(message, "Message-ID")
    if not message_id:
        return "sha256:" + hashlib.sha256(raw).hexdigest()
    if len(message_id) > KEY_LIMIT:
        return "sha256:" + hashlib.sha256(message_id.encode()).hexdigest()
    return message_id


def raw_bytes(message: Message) -> bytes:
    """The message as bytes, or ``b""`` when even that fails."""
    for render in (message.as_bytes, lambda: message.as_string().encode("utf-8", "replace")):
        try:
            return render()
        except Exception:
            continue
    return b""


def read_parts(message: Message, raw: bytes = b"") -> Parts:
    """Sender, subject, Message-ID and attached files of a message, never raising.

    The sender is the ``From`` address, and only it: ``Reply-To`` and ``Sender`` are what the
    writer asks for, not who wrote (``tasks.intake.senders`` says why). A message with MIME
    defects and no file it could be read from is ``problem``-atic: the defects name what broke.
    A message without defects and without files is not malformed (what it is owed is decided
    elsewhere).
    """
    raw = raw or raw_bytes(message)
    sender = printable(parseaddr(header(message, "From"))[1].lower())
    parts = Parts(message_key(message, raw), sender, header(message, "Subject"))
    try:
        for part in message.walk():
            if part.is_multipart():
                continue
            filename = part.get_filename()
            if not filename:
                continue
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                parts.attachments.append((safe_filename(filename), payload))
    except Exception as exc:
        parts.problem = f"its MIME parts could not be read ({type(exc).__name__}: {exc})"
        return parts
    if not parts.attachments:
        defects = sorted({type(d).__name__ for p in message.walk() for d in p.defects})
        if defects:
            parts.problem = "malformed MIME, no file could be taken out: " + ", ".join(defects)
    return parts
