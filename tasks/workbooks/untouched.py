"""A returned file that is the request sent, untouched: accepted as a delivery it says nothing.

A liaison who answers with the very workbook Hitos sent (or saves it again without a change)
has reported nothing for the period. The file may still be valid (a request pre-filled with
last cycle's values passes the suite), so this is a warning reviewers see, ``unchanged-from-
request``, not an error. Compared by content: the same bytes, or the same values in every
column the institution fills, milestone by milestone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import select

from tasks.checks.findings import Finding, finding
from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.ledger import Request, of_cycle, session
from tasks.workbooks import contract
from tasks.workbooks.reading import ReadResult, UnreadableFile, read_submission

FILLED = [contract.CODE, *contract.FILLED_BY_INSTITUTION]


@dataclass
class Sent:
    sha256: str
    values: pd.DataFrame | None


@dataclass
class RequestsSent:
    """The request workbooks of a batch's institutions, each read once."""

    settings: Settings
    _sent: dict[tuple[str, str, str], Sent | None] = field(default_factory=dict)

    def sent(self, plan_id: str, cycle_id: str, institution: str) -> Sent | None:
        key = (plan_id, cycle_id, institution)
        if key not in self._sent:
            with session(self.settings.database) as db:
                request = db.scalars(
                    select(Request).where(
                        of_cycle(Request, plan_id, cycle_id), Request.institution == institution
                    )
                ).first()
                data = filestore.get(db, request.workbook) if request is not None else None
            self._sent[key] = None
            if request is not None and data is not None:
                try:
                    values = filled_values(read_submission(data, "solicitud.xlsx"))
                except UnreadableFile:
                    values = None
                self._sent[key] = Sent(request.workbook, values)
        return self._sent[key]

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
            sent.values is not None and filled_values(read).equals(sent.values)
        )
        return finding("unchanged-from-request", "warning", language=language) if same else None


def filled_values(read: ReadResult) -> pd.DataFrame:
    """What the institution fills, one row per milestone in code order, comparable as a frame."""
    columns = [c for c in FILLED if c in read.rows.columns]
    rows = read.rows[columns].astype(str).sort_values("codigo_hito", kind="stable")
    return rows.reset_index(drop=True)
