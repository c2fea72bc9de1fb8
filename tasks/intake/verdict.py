"""What intake concluded about one file before it is written: ``process`` decides, ``record``
writes."""

from __future__ import annotations

from dataclasses import dataclass

from tasks.core.findings import Finding, finding
from tasks.storage.ledger import Submission
from tasks.workbooks.reading import DAMAGED, ReadResult, UnreadableFile


@dataclass
class Verdict:
    """One submission's outcome before it is written (``validate`` while the suite is still to
    run), with the rows read from it."""

    submission: Submission
    outcome: str
    institution: str | None
    cycle_id: str | None
    findings: list[Finding]
    read: ReadResult | None
    plan_id: str | None = None


def damaged(language: str, sub: Submission) -> Finding:
    """The finding of a file the reader or the suite failed on in a way nobody foresaw."""
    reason = UnreadableFile(DAMAGED).reason_in(language)
    return finding("file-unreadable", filename=sub.filename, reason=reason, language=language)
