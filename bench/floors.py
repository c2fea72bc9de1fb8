"""Physical floors: the least any program could spend on a stage's irreducible work, measured
in the same process and run as the stage, so that a stage's time ÷ its floor holds across
machines (a slower machine or a busier one is slower at both).

- reading: each returned file's first sheet into Python values, with python-calamine (what
  Hitos' reader uses) and with openpyxl read-only, nothing checked;
- sending: the same raw messages over one SMTP connection to the same server, nothing claimed
  or recorded;
- writing workbooks: the same cells (each institution's milestones, the contract's columns)
  into a new workbook with openpyxl's write-only mode, saved to bytes, no styles or lists.
"""

from __future__ import annotations

import smtplib
import time
from io import BytesIO
from pathlib import Path
from typing import Any

import openpyxl
from python_calamine import CalamineWorkbook

from tasks.core import contract


def calamine_read(files: list[Path]) -> tuple[float, int]:
    """Seconds to read every file's first sheet with python-calamine; how many it could open."""
    started, read = time.perf_counter(), 0
    for path in files:
        try:
            CalamineWorkbook.from_filelike(BytesIO(path.read_bytes())).get_sheet_by_index(
                0
            ).to_python()
            read += 1
        except Exception:  # a floor counts what opens; Hitos' reader says why the rest do not
            continue
    return time.perf_counter() - started, read


def openpyxl_read(files: list[Path]) -> tuple[float, int]:
    """Seconds to read every file's first sheet with openpyxl (read-only, values)."""
    started, read = time.perf_counter(), 0
    for path in files:
        try:
            book = openpyxl.load_workbook(
                BytesIO(path.read_bytes()), read_only=True, data_only=True
            )
            for _ in book.worksheets[0].iter_rows(values_only=True):
                pass
            book.close()
            read += 1
        except Exception:  # as above
            continue
    return time.perf_counter() - started, read


def smtp_send(host: str, port: int, sender: str, messages: list[tuple[list[str], str]]) -> float:
    """Seconds to send these (recipients, raw message) over one plain SMTP connection."""
    started = time.perf_counter()
    with smtplib.SMTP(host, port, timeout=60) as smtp:
        for recipients, raw in messages:
            smtp.sendmail(sender, recipients, raw.encode("utf-8"))
    return time.perf_counter() - started


def openpyxl_write(plan: Any, institutions: list[Any]) -> float:
    """Seconds to write each institution's milestones as a bare workbook: a header of the
    contract's columns, a row per milestone with what the plan says of it, the rest blank."""
    columns = [c.key for c in contract.COLUMNS]
    blank = [None] * len(columns)
    started = time.perf_counter()
    for institution in institutions:
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("hitos")
        sheet.append(columns)
        for m in plan.milestones_of(institution.code):
            known = [m.code, m.institution, m.description, m.start, m.end, m.expected_result]
            sheet.append((known + blank)[: len(columns)])
        book.save(BytesIO())
    return time.perf_counter() - started
