"""A returned workbook marked up: each finding on its cell and listed in a corrections sheet.

What a liaison whose file was rejected gets back: their own file, not a new one, so nothing they
typed is lost, with the faulty cells filled and commented and a «Correcciones» sheet (named in
the reply's language) that opens first.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import PurePath

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from tasks.catalogues import text
from tasks.core import contract
from tasks.core.findings import Finding
from tasks.workbooks.layout import (
    ERROR_FILL,
    HEADER_FILL,
    HEADER_FONT,
    WARNING_FILL,
    WRAP,
    cell_fill,
    fit_rows,
    header,
    print_one_page_wide,
    put,
    style_header,
)
from tasks.workbooks.safe_names import safe_stem

_MARK_AUTHOR = "Hitos"
_CORRECTIONS_WIDTHS = (10, 7, 20, 22, 80)


def marked_name(submission_id: int, filename: str, language: str) -> str:
    """The marked copy's file name in the reply's language: ``corregir-12-avance.xlsx``."""
    return text(
        language, "marked_workbook.filename", submission=submission_id, stem=safe_stem(filename)
    )


def mark_findings(
    data: bytes, filename: str, findings: list[Finding], language: str = "es"
) -> bytes | None:
    """The institution's own workbook with each finding marked on its cell and listed in a
    corrections sheet; None when it is not an .xlsx/.xlsm that openpyxl opens.

    Errors are filled light red, warnings yellow, each with a comment saying what to fix. Marks
    left by an earlier round are cleared first. The result is always .xlsx (macros dropped).
    The cell is found with the reader's own header matcher (``contract.find_header``), so a mark
    lands where the finding points even under headers such as «Código hito» or «Avance %».
    """
    if PurePath(filename).suffix.lower() not in (".xlsx", ".xlsm"):
        return None
    try:
        workbook = load_workbook(BytesIO(data), keep_vba=False)
    # openpyxl fails in many ways on foreign or corrupt files; all mean "send the list only".
    except Exception:
        return None
    sheet = next((s for s in workbook.worksheets if contract.is_sheet(s.title, "milestones")), None)
    if sheet is not None:
        header_row, positions = header(sheet)
        _clear_marks(sheet, header_row, positions)
        by_cell: dict[str, list[Finding]] = {}
        for item in findings:
            cell = _cell_of(sheet, header_row, positions, item)
            by_cell.setdefault(cell.coordinate, []).append(item)
        for coordinate, cell_findings in by_cell.items():
            _mark(sheet[coordinate], cell_findings)
    _write_corrections(workbook, sheet, findings, language)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cell_of(
    sheet: Worksheet, header_row: int | None, positions: dict[str, int], item: Finding
) -> Cell:
    """The cell a finding points at (``contract.finding_cell``), else A1."""
    found = contract.finding_cell(header_row, positions, item.row, item.column)
    return sheet.cell(*found) if found is not None else sheet.cell(1, 1)


def _clear_marks(sheet: Worksheet, header_row: int | None, positions: dict[str, int]) -> None:
    """Undo an earlier round's marks, so a re-sent copy shows only what is still wrong."""
    columns = {index: contract.BY_KEY[key] for key, index in positions.items()}
    for row in sheet.iter_rows():
        for cell in row:
            if cell.comment is None or cell.comment.author != _MARK_AUTHOR:
                continue
            cell.comment = None
            column = columns.get(int(cell.column))
            if column is None or header_row is None or cell.row < header_row:
                cell.fill = PatternFill()
            elif cell.row == header_row:
                style_header(cell, column)
            else:
                cell.fill = cell_fill(column)


def _mark(cell: Cell, findings: list[Finding]) -> None:
    error = any(f.severity == "error" for f in findings)
    cell.fill = ERROR_FILL if error else WARNING_FILL
    said = "\n\n".join(f.message for f in findings)
    cell.comment = Comment(said, _MARK_AUTHOR, height=40 + 16 * (len(said) // 45 + 1), width=320)


def _write_corrections(
    workbook: Workbook, hitos: Worksheet | None, findings: list[Finding], language: str
) -> None:
    """Replace the corrections sheet (next to the milestones) and open the workbook on it."""
    for name in list(workbook.sheetnames):
        if contract.is_sheet(name, "corrections"):
            del workbook[name]
    index = workbook.index(hitos) + 1 if hitos is not None else 0
    sheet = workbook.create_sheet(contract.sheet_name("corrections", language), index)
    table = "findings_table."
    titles = [
        text(language, table + name)
        for name in ("milestone", "row", "column", "severity", "message")
    ]
    severity = {kind: text(language, f"{table}{kind}_long") for kind in ("error", "warning")}
    for column, (title, width) in enumerate(zip(titles, _CORRECTIONS_WIDTHS, strict=True), start=1):
        cell = put(sheet.cell(1, column), title)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        sheet.column_dimensions[get_column_letter(column)].width = width
    for row, item in enumerate(findings, start=2):
        label = (
            contract.BY_KEY[item.column].label(language)
            if item.column in contract.BY_KEY
            else item.column
        )
        values = (item.milestone, item.row, label, severity[item.severity])
        for column, value in enumerate((*values, item.message), start=1):
            put(sheet.cell(row, column), value).alignment = WRAP
        sheet.cell(row, 4).fill = ERROR_FILL if item.severity == "error" else WARNING_FILL
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    fit_rows(sheet)
    print_one_page_wide(sheet, "landscape")
    for other in workbook.worksheets:
        other.sheet_view.tabSelected = False  # else Excel opens with the sheets grouped
    workbook.active = sheet
