"""What a received message is before its files are stored: automatic mail, a workbook with its
evidence, or a message that forgot the workbook.

Intake stores only workbooks as submissions. Evidence beside them (PDF, images, office
documents, within the size limit) goes to the file store as evidence of that submission; a
signature logo shown inside the body is part of the message, not a file sent. Automatic mail
(``tasks.mail.automatic``) gives no files at all. A message from a known contact with no
workbook is owed one reply saying so (``tasks.intake.replies.missing_workbook_replies``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from pathlib import PurePath

from sqlalchemy import select
from sqlalchemy.orm import Session

from tasks.mail.automatic import Automatic, recognise, record
from tasks.mail.inbox import Attachment, Received
from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.ledger import Evidence, InboundMessage, Submission

EVIDENCE_SUFFIXES = (
    ".pdf",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".tif",
    ".tiff",
    ".webp",
    ".bmp",
    ".heic",
    ".doc",
    ".docx",
    ".odt",
    ".rtf",
    ".ppt",
    ".pptx",
    ".odp",
)
"""Files offices send as evidence: scans, photos, documents, slides."""
MAIL_CHANNELS = ("mail", "imap")
PORTAL_CHANNEL = "portal"
"""Files a liaison uploaded on their page (``tasks.portal.upload``): their personal link says
whose they are, and they are answered by email like mail."""
ANSWERED_CHANNELS = (*MAIL_CHANNELS, PORTAL_CHANNEL)
"""Channels whose files get intake's reply email."""
THREAD_LIMIT = 10  # Message-IDs kept in a reply's References: the newest, as RFC 5322 advises


@dataclass
class Arrival:
    """One received message, sorted out: ``kind`` is files, no-workbook or automatic."""

    received: Received
    kind: str
    workbooks: list[Attachment] = field(default_factory=list)
    evidence: list[Attachment] = field(default_factory=list)
    automatic: Automatic | None = None
    references: str = ""


def sort_out(settings: Settings, received: Received) -> Arrival:
    """Which of a message's files are workbooks and which evidence; automatic mail has none."""
    message = received.message
    if received.channel == PORTAL_CHANNEL and received.attachments:
        # The page's form says which file is the workbook (the first) and which are evidence.
        workbook, *beside = received.attachments
        return Arrival(received, "files", [workbook], beside)
    if message is None or received.channel not in MAIL_CHANNELS:
        return Arrival(received, "files", list(received.attachments))
    thread = thread_of(message)
    automatic = recognise(message)
    if automatic is not None:
        return Arrival(received, "automatic", automatic=automatic, references=thread)
    shown = body_images(message)
    limit = settings.max_file_mb * 1024 * 1024
    workbooks, evidence = [], []
    for attachment in received.attachments:
        if attachment.filename in shown:
            continue
        if is_evidence(attachment, limit):
            evidence.append(attachment)
        else:
            workbooks.append(attachment)
    kind = "files" if workbooks else "no-workbook"
    return Arrival(received, kind, workbooks, evidence, references=thread)


def is_evidence(attachment: Attachment, limit: int) -> bool:
    """A document, scan or photo within the size limit (a larger one is answered as too large)."""
    suffix = PurePath(attachment.filename.lower()).suffix
    return suffix in EVIDENCE_SUFFIXES and len(attachment.data) <= limit


def body_images(message: Message) -> set[str]:
    """File names of images shown inside the body (``Content-ID``, not attached): logos."""
    return {
        str(part.get_filename())
        for part in message.walk()
        if part.get_content_maintype() == "image"
        and part.get("Content-ID")
        and part.get_content_disposition() != "attachment"
        and part.get_filename()
    }


def thread_of(message: Message) -> str:
    """The References a reply to this message carries: its own, then its Message-ID."""
    earlier = str(message.get("References") or message.get("In-Reply-To") or "").split()
    own = str(message.get("Message-ID") or "").split()
    return " ".join([*earlier, *own][-THREAD_LIMIT:])


def keep(db: Session, arrivals: list[Arrival], now: datetime) -> None:
    """Record what the new messages were: automatic mail, and evidence in the file store,
    linked to the submission of the workbook it came with (in the store's transaction)."""
    for arrival in arrivals:
        received = arrival.received
        arrived = received.arrived or now
        if arrival.automatic is not None:
            record(
                db,
                received.message_id,
                received.sender,
                received.subject,
                arrival.automatic,
                arrived,
            )
            continue
        if not arrival.evidence:
            continue
        digests = [hashlib.sha256(w.data).hexdigest() for w in arrival.workbooks]
        submission = (
            db.scalars(
                select(Submission.id).where(Submission.sha256.in_(digests)).order_by(Submission.id)
            ).first()
            if digests
            else None
        )
        known = set(
            db.scalars(select(Evidence.sha256).where(Evidence.message_id == received.message_id))
        )
        for attachment in arrival.evidence:
            sha = filestore.put(db, attachment.data)
            if sha in known:
                continue
            known.add(sha)
            db.add(
                Evidence(
                    message_id=received.message_id,
                    submission_id=submission,
                    sha256=sha,
                    filename=PurePath(attachment.filename).name[:250],
                    size=len(attachment.data),
                    received_at=arrived,
                )
            )


def evidence_of(db: Session, submission_ids: list[int]) -> dict[int, list[Evidence]]:
    """Submission id → the evidence that came with it, in the order received."""
    found: dict[int, list[Evidence]] = {}
    rows = db.scalars(
        select(Evidence).where(Evidence.submission_id.in_(submission_ids)).order_by(Evidence.id)
    )
    for row in rows:
        if row.submission_id is not None:
            found.setdefault(row.submission_id, []).append(row)
    return found


def thread(db: Session, message_id: str) -> tuple[str, str]:
    """In-Reply-To and References for the answer to a received message (empty when none)."""
    inbound = db.get(InboundMessage, message_id)
    if inbound is None or message_id.startswith(("sha256:", "drop:", "cli:", f"{PORTAL_CHANNEL}:")):
        return "", ""
    return message_id, inbound.references or message_id
