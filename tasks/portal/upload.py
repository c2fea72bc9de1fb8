"""The portal's door to intake: a file uploaded on the liaison's page is stored, read,
validated, recorded, reviewed and answered exactly as a mailed one — one path, two doors.

Its evidence links are checked as intake checks them (``tasks.evidence``). A file without
errors is thereby sent (nothing else to click); one with errors is recorded as
a rejected file, as a mailed one would be, and its findings and marked copy are shown at once.
The door is bounded like the mailbox: the settings' file size, and a count and a rate per link.
Evidence files uploaded beside the workbook (scans, photos, documents) are attachments of the
same arrival, kept as a mailed message's are (``tasks.intake.arrivals``).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select

from tasks.evidence.checking import check_new_links
from tasks.intake.arrivals import EVIDENCE_SUFFIXES, PORTAL_CHANNEL
from tasks.intake.process import process
from tasks.intake.replies import digest, unanswered
from tasks.intake.results import IntakeResult, as_outcome
from tasks.intake.store import store
from tasks.mail.inbox import Attachment, Received
from tasks.mail.outgoing import send_all
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import PortalLink, Submission, session, utcnow
from tasks.storage.queries import portal_uploads


class UploadRefused(Exception):
    """An upload the door does not take: ``code`` names why (``portal.refused.<code>``)."""

    def __init__(self, code: str, **values: object) -> None:
        super().__init__(code)
        self.code, self.values = code, values


def within_bounds(settings: Settings, link: PortalLink, size: int) -> None:
    """``UploadRefused`` for an empty or too large file, or a link past its count or rate."""
    limit = settings.max_file_mb * 1024 * 1024
    if size == 0:
        raise UploadRefused("empty")
    if size > limit:
        raise UploadRefused("too-large", limit_mb=settings.max_file_mb)
    with session(settings.database) as db:
        ever = portal_uploads(db, link.id)
        lately = portal_uploads(db, link.id, utcnow() - timedelta(hours=1))
    if ever >= settings.portal_max_files:
        raise UploadRefused("too-many", limit=settings.portal_max_files)
    if lately >= settings.portal_files_per_hour:
        raise UploadRefused("too-often", limit=settings.portal_files_per_hour)


MAX_EVIDENCE_FILES = 10
"""Evidence files one upload may carry beside its workbook."""


def evidence_within_bounds(settings: Settings, evidence: list[Attachment]) -> None:
    """``UploadRefused`` for too many evidence files, one too large, or one that is not a
    document, scan or photo (the page names the kinds it takes)."""
    if len(evidence) > MAX_EVIDENCE_FILES:
        raise UploadRefused("too-much-evidence", limit=MAX_EVIDENCE_FILES)
    limit = settings.max_file_mb * 1024 * 1024
    for item in evidence:
        if len(item.data) > limit:
            raise UploadRefused("too-large", limit_mb=settings.max_file_mb)
        if not item.filename.lower().endswith(EVIDENCE_SUFFIXES):
            raise UploadRefused("not-evidence", filename=item.filename)


def message_id_of(link: PortalLink, data: bytes) -> str:
    """The arrival's id in the ledger: the link and the file, so a count per link is a prefix."""
    return f"{PORTAL_CHANNEL}:{link.id}:{hashlib.sha256(data).hexdigest()[:32]}"


def send_through_portal(
    settings: Settings,
    plan: Plan,
    link: PortalLink,
    filename: str,
    data: bytes,
    arrived: datetime | None = None,
    evidence: list[Attachment] | None = None,
) -> IntakeResult:
    """Take one uploaded workbook as the link's institution's file for its cycle, through
    intake; its result (a file uploaded again: the result it already had).

    The reply email that a mailed file gets goes out now, to the link's liaison. ``arrived``:
    now (only the demo, replaying a past cycle, names another moment). ``evidence``: files kept
    as the submission's evidence.
    """
    evidence = evidence or []
    within_bounds(settings, link, len(data))
    evidence_within_bounds(settings, evidence)
    sha = hashlib.sha256(data).hexdigest()
    with session(settings.database) as db:
        known = db.scalars(select(Submission).where(Submission.sha256 == sha)).first()
        if known is not None:
            if (known.plan_id, known.cycle_id, known.institution) != (
                link.plan_id,
                link.cycle_id,
                link.institution,
            ):
                raise UploadRefused("someone-elses")
            known.findings  # noqa: B018 (loaded while the session is open)
            return as_outcome(known)
    message_id = message_id_of(link, data)
    received = Received(
        message_id=message_id,
        channel=PORTAL_CHANNEL,
        sender=link.email,
        attachments=[Attachment(filename, data), *evidence],
        arrived=arrived,
    )
    stored = store(
        settings,
        [received],
        institution=link.institution,
        cycle_id=link.cycle_id,
        plan_id=link.plan_id,
    )
    process(settings, plan, stored, with_docs=True)
    check_new_links(settings, plan)  # as intake does: an unreachable link is in the reply
    owed = [m for m in unanswered(settings, plan) if m.key.endswith(f"/{digest(message_id)}")]
    send_all(settings, owed)
    with session(settings.database) as db:
        sub = db.scalars(select(Submission).where(Submission.sha256 == sha)).one()
        sub.findings  # noqa: B018
        return as_outcome(sub)
