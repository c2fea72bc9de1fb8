"""Store first: every message's files (content-addressed) and ledger rows, before anything is
parsed, and only then is a message marked done in its mailbox."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tasks.core.states import Outcome
from tasks.intake.arrivals import MAIL_CHANNELS, Arrival, keep, sort_out
from tasks.intake.malformed import MALFORMED, kept_malformed
from tasks.mail.inbox import Received, sources
from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.ledger import (
    FindingRow,
    InboundMessage,
    Submission,
    inserted,
    session,
    utcnow,
)
from tasks.workbooks.safe_names import printable, safe_filename

logger = logging.getLogger(__name__)

STORE_BATCH = 20
"""Messages stored per ledger transaction and marked done together once it commits: one
transaction per message was most of storing. Twenty is also the IMAP fetch size, so memory
holds what it held before (at most 20 messages' attachments)."""


def store(
    settings: Settings,
    messages: list[Received],
    institution: str | None = None,
    cycle_id: str | None = None,
    plan_id: str | None = None,
) -> list[int]:
    """Keep the messages' files (content-addressed) and their ledger rows in one transaction;
    ids of the new submissions, and of quarantined ones sent again.

    A message already stored (same Message-ID) or a file already received (same sha256) is
    recognised and not stored again. Files are checked even when the Message-ID is known: two
    different emails can share one (some clients derive it from sender and subject). A
    quarantined file emailed again in another message (its liaison sends what a stranger sent)
    is looked at again as that message's file.
    """
    now = utcnow()  # for what has no arrival time of its own (the drop folder, the CLI)
    arrivals = [sorted_out(settings, received) for received in messages]
    files = [
        (arrival.received, attachment, hashlib.sha256(attachment.data).hexdigest())
        for arrival in arrivals
        for attachment in arrival.workbooks
    ]
    with session(settings.database) as db:
        known_messages = set(
            db.scalars(
                select(InboundMessage.message_id).where(
                    InboundMessage.message_id.in_({m.message_id for m in messages})
                )
            )
        )
        known_files = {
            sha: (submission_id, outcome, source)
            for sha, submission_id, outcome, source in db.execute(
                select(
                    Submission.sha256, Submission.id, Submission.outcome, Submission.source_ref
                ).where(Submission.sha256.in_({d for _, _, d in files}))
            )
        }
        # Rows another intake may be writing at this very moment are inserted or ignored, so
        # two runs reading one mailbox store each message and each file once, without an error;
        # a message is first seen by the run whose row was written. One statement per table and
        # batch: an ON CONFLICT insert is compiled anew at every execution (SQLAlchemy does not
        # cache dialect inserts), which was a third of storing when each row had its own.
        messages_rows: dict[str, dict[str, object]] = {}
        for arrival in arrivals:
            received = arrival.received
            if received.message_id in known_messages or received.message_id in messages_rows:
                continue
            messages_rows[received.message_id] = {
                "message_id": received.message_id,
                "channel": received.channel,
                "sender": printable(received.sender),
                "subject": printable(received.subject, 500),
                "received_at": received.arrived or now,
                "references": arrival.references,
                "kind": MALFORMED if received.problem else arrival.kind,
                "problem": "",  # every row with the same keys: one statement for them all
                "raw_sha256": "",
                **kept_malformed(db, received),
            }
        written = set(inserted(db, InboundMessage, "message_id", list(messages_rows.values())))
        first_seen: dict[str, Arrival] = {}
        for arrival in arrivals:
            if arrival.received.message_id in written:
                first_seen.setdefault(arrival.received.message_id, arrival)
        new: list[int] = []
        files_rows: list[dict[str, object]] = []
        blobs: list[bytes] = []
        for received, attachment, digest in files:
            if digest in known_files:
                submission_id, outcome, source = known_files[digest]
                known_files[digest] = (submission_id, "seen", source)
                if outcome == Outcome.QUARANTINED and sent_again(received, source):
                    new += reopen(db, submission_id, received, now)
                continue
            known_files[digest] = (0, "stored", received.message_id)
            filestore.local_copy(settings, attachment.data, "files", digest[:2], digest)
            blobs.append(attachment.data)
            files_rows.append(
                {
                    "sha256": digest,
                    "filename": safe_filename(attachment.filename),
                    "sender": printable(received.sender),
                    "channel": received.channel,
                    "source_ref": received.message_id,
                    "institution": institution,
                    "plan_id": plan_id,
                    "cycle_id": cycle_id,
                    "received_at": received.arrived or now,
                }
            )
        filestore.put_many(db, blobs)
        new += sorted(inserted(db, Submission, "sha256", files_rows, Submission.id))
        keep(db, list(first_seen.values()), now)
        return new


def sent_again(received: Received, source: str) -> bool:
    """Whether this arrival is a new email carrying a stored file: the drop folder and the CLI
    never reopen a quarantined file (an operator's release is an assignment, with its record
    in the audit trail: ``tasks.intake.assign``)."""
    return received.channel in MAIL_CHANNELS and received.message_id != source


def reopen(db: Session, submission_id: int, received: Received, now: datetime) -> list[int]:
    """A quarantined file, received again, back to ``received`` as the new message's file: its
    sender, channel and arrival; institution and cycle found again. Only one run reopens it
    (compare-and-set on the outcome); ``[id]`` when this one did."""
    reopened = db.scalar(
        update(Submission)
        .where(Submission.id == submission_id, Submission.outcome == Outcome.QUARANTINED)
        .values(
            outcome=Outcome.RECEIVED,
            sender=printable(received.sender),
            channel=received.channel,
            source_ref=received.message_id,
            received_at=received.arrived or now,
            institution=None,
            plan_id=None,
            cycle_id=None,
            version=0,
            claim="",
            claimed_at=None,
            processed_at=None,
        )
        .returning(Submission.id)
        .execution_options(synchronize_session=False)
    )
    if reopened is None:
        return []
    db.execute(delete(FindingRow).where(FindingRow.submission_id == reopened))
    logger.info("quarantined submission %s received again in %s", reopened, received.message_id)
    return [reopened]


def sorted_out(settings: Settings, received: Received) -> Arrival:
    """``sort_out``, or, should sorting fail on an odd message, its files as they came: one
    message never stops the batch from being stored."""
    try:
        return sort_out(settings, received)
    except Exception:
        logger.exception("sorting out message %s failed; taking its files", received.message_id)
        return Arrival(received, "files", list(received.attachments))


def store_all(settings: Settings) -> list[int]:
    """Store every new message's files; a message is marked done only once they are stored."""
    stored: list[int] = []
    for batch in sources(settings, STORE_BATCH):
        stored += store(settings, batch)
        for received in batch:
            received.done()
    return stored
