"""A returned file that is the request sent, untouched: accepted as a delivery it says nothing.

A liaison who answers with the very workbook Hitos sent (or saves it again without a change)
has reported nothing for the period. The file may still be valid (a request pre-filled with
last cycle's values passes the suite), so this is a warning reviewers see, ``unchanged-from-
request``, not an error. Compared by content: the same bytes, or the same values in every
column the institution fills, milestone by milestone.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from tasks.core import contract
from tasks.core.findings import Finding, finding
from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.ledger import Request, of_cycle, session
from tasks.workbooks.reading import ReadResult, UnreadableFile, read_submission

FILLED = [contract.CODE, *contract.FILLED_BY_INSTITUTION]


@dataclass
class Sent:
    sha256: str
    filled: str | None
    """``filled_digest`` of the request as sent; None when it cannot be read."""


@dataclass
class RequestsSent:
    """The requests of a batch's cycles, each cycle's read from the ledger once."""

    settings: Settings
    _sent: dict[tuple[str, str], dict[str, Sent]] = field(default_factory=dict)

    def sent(self, plan_id: str, cycle_id: str, institution: str) -> Sent | None:
        key = (plan_id, cycle_id)
        if key not in self._sent:
            with session(self.settings.database) as db:
                requests = db.scalars(
                    select(Request).where(of_cycle(Request, plan_id, cycle_id))
                ).all()
                self._sent[key] = {
                    r.institution: Sent(r.workbook, r.filled or _digest_of_stored(db, r.workbook))
                    for r in requests
                }
        return self._sent[key].get(institution)

    def unchanged(
        self,
        read: ReadResult,
        sha256: str,
        plan_id: str,
        cycle_id: str,
        institution: str,
        language: str,
    ) -> Finding | None:
        """The ``unchanged-from-request`` warning when the file is the request as sent."""
        sent = self.sent(plan_id, cycle_id, institution)
        if sent is None:
            return None
        same = sha256 == sent.sha256 or (
            sent.filled is not None and filled_digest(read) == sent.filled
        )
        return finding("unchanged-from-request", "warning", language=language) if same else None


def request_digest(workbook: bytes) -> str | None:
    """``filled_digest`` of a request workbook, computed once when it is built."""
    try:
        return filled_digest(read_submission(workbook, "solicitud.xlsx"))
    except UnreadableFile:
        return None


def _digest_of_stored(db: Session, key: str) -> str | None:
    """For a request recorded without its digest: read the stored workbook once."""
    data = filestore.get(db, key)
    return request_digest(data) if data is not None else None


def filled_digest(read: ReadResult) -> str:
    """What the institution fills, one row per milestone in code order, as one sha256."""
    columns = [c for c in FILLED if c in read.rows.columns]
    # The very text pandas wrote (``astype(str)``, a stable sort by code, ``to_csv``, which is
    # the csv module's minimal quoting), built without pandas: 8 → 1.5 ms a workbook, paid
    # for every request a cycle opens. Digests already in the ledger stay valid.
    code = columns.index(contract.CODE)
    cells = read.rows[columns].to_numpy(dtype=object).tolist()
    rows = sorted(([str(value) for value in row] for row in cells), key=lambda row: row[code])
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return hashlib.sha256(text.getvalue().encode("utf-8")).hexdigest()
