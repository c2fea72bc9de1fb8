"""A finding: one problem in a received file, as data with a stable rule code.

Made by the reader and the rules (``tasks.checks.findings.finding`` renders its message from the
catalogue), kept in the ledger, and shown by the same partial templates in the reply email, the
marked workbook, the console and the CLI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One problem: which milestone (row) and column, which rule, how serious, what to do."""

    milestone: str
    column: str
    rule: str
    severity: Severity
    message: str
    row: int | None = None
    """The row of the file it was read from (1-based, as a spreadsheet numbers rows)."""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("row")
        return data


def has_errors(findings: list[Finding]) -> bool:
    """Errors reject a file; warnings are shown to reviewers."""
    return any(f.severity == "error" for f in findings)
