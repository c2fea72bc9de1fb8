"""How much work one returned file may cost: rows, columns, cells, findings and seconds.

A request workbook has a few dozen milestones. A file far larger than that is a mistake (an
export of a whole database, a sheet with a million formatted rows) or an attack, and reading it
whole cost minutes and gigabytes before any check ran. The limits are checked while reading:
an .xlsx's sheets are counted as their XML streams out of the zip (constant memory), a CSV's
records as they are parsed, and reading stops at the first limit passed.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zipfile import ZipFile

from tasks.core.findings import Finding, finding

if TYPE_CHECKING:
    from tasks.settings import Settings

_ROW = re.compile(rb"<(?:\w+:)?row[\s>/]")
_CELL = re.compile(rb"<(?:\w+:)?c[\s>/]")
_CHUNK = 1024 * 1024
_OVERLAP = 16  # bytes kept between chunks so a tag cut in two is still counted once


class LimitExceeded(Exception):
    """A file past one of the limits: ``rule`` and ``details`` make its finding."""

    def __init__(self, rule: str, **details: object) -> None:
        super().__init__(rule)
        self.rule = rule
        self.details = {k: str(v) for k, v in details.items()}


@dataclass(frozen=True)
class Limits:
    """The bounds of one file's reading and validation (settings ``HITOS_MAX_*``)."""

    rows: int = 1000
    columns: int = 50
    cells: int = 50_000
    findings: int = 50
    seconds: float = 20.0

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            rows=settings.max_rows,
            columns=settings.max_columns,
            cells=settings.max_cells,
            findings=settings.max_findings,
            seconds=settings.max_seconds_per_file,
        )

    def check_sheet(self, rows: int, columns: int) -> None:
        """Refuse a sheet of more rows or columns than a workbook of milestones has."""
        if rows > self.rows:
            raise LimitExceeded("too-many-rows", rows=rows, limit=self.rows)
        if columns > self.columns:
            raise LimitExceeded("too-many-columns", columns=columns, limit=self.columns)

    def check_xlsx(self, archive: ZipFile) -> None:
        """Count each worksheet's rows and every cell as the XML inflates, a megabyte at a time,
        and stop at the first limit passed: nothing is parsed or held whole."""
        cells = 0
        for member in archive.infolist():
            name = member.filename
            if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                continue
            rows = 0
            tail = b""
            with archive.open(member) as stream:
                while chunk := stream.read(_CHUNK):
                    window = tail + chunk
                    # A tag wholly inside the overlap was counted with the previous chunk.
                    skip = len(tail)
                    rows += sum(1 for m in _ROW.finditer(window) if m.end() > skip)
                    cells += sum(1 for m in _CELL.finditer(window) if m.end() > skip)
                    tail = window[-_OVERLAP:]
                    if rows > self.rows:
                        # Counting stops here: how many more there are is not known.
                        raise LimitExceeded("too-many-rows", rows="", limit=self.rows)
                    if cells > self.cells:
                        raise LimitExceeded("too-many-cells", limit=self.cells)

    def check_cells(self, cells: int) -> None:
        if cells > self.cells:
            raise LimitExceeded("too-many-cells", limit=self.cells)


@dataclass
class Budget:
    """The time one file may take to read; checked between steps (a parser is not interrupted)."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    def check(self) -> None:
        if time.monotonic() - self.started > self.seconds:
            raise LimitExceeded("file-too-slow", seconds=f"{self.seconds:g}")


def bounded(findings: list[Finding], limit: int, language: str = "es") -> list[Finding]:
    """The first ``limit`` findings (errors first, as validation sorts them), then one finding
    that says how many more there were: 200,000 findings of one file helped nobody."""
    if len(findings) <= limit:
        return findings
    kept, rest = findings[:limit], findings[limit:]
    errors = sum(f.severity == "error" for f in rest)
    summary = finding(
        "findings-truncated",
        "error" if errors else "warning",
        language=language,
        shown=limit,
        more=len(rest),
        errors=errors,
    )
    return [*kept, summary]
