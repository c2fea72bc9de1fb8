"""The request workbook: built and signed for each institution, and marked up when it comes back.

The workbook is the contract with the institutions (DESIGN.md, "The workbook contract"): sheet
``Hitos`` with one row per milestone, ``Instrucciones`` and a hidden, signed ``_meta``. Sheets are
protected without a password: the lock prevents slips, the validator and the signature catch
the rest.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Mapping
from copy import copy
from datetime import date, datetime
from io import BytesIO
from pathlib import PurePath
from typing import Any
from zipfile import ZIP_DEFLATED, ZipFile

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from tasks.catalogues import text
from tasks.findings import Finding
from tasks.plans import Institution, Milestone, Plan
from tasks.rendering import render

TEMPLATE_VERSION = "1"
COLUMNS = [
    "institucion",
    "codigo_hito",
    "compromiso",
    "hito",
    "fecha_inicio",
    "fecha_fin",
    "estado",
    "avance_pct",
    "descripcion_avance",
    "evidencia_url",
    "observaciones",
]
FILLED_BY_INSTITUTION = [
    "estado",
    "avance_pct",
    "descripcion_avance",
    "evidencia_url",
    "observaciones",
]
STATES = ["No iniciado", "Iniciado", "Completado"]

HITOS = "Hitos"
INSTRUCCIONES = "Instrucciones"
META = "_meta"
CORRECCIONES = "Correcciones"

_META_FIELDS = ("plan", "cycle", "institution", "template_version")
_DEFAULTS: dict[str, object] = {"estado": STATES[0], "avance_pct": 0}
_DATE_COLUMNS = ("fecha_inicio", "fecha_fin")
_WIDTHS = {
    "institucion": 12,
    "codigo_hito": 12,
    "compromiso": 30,
    "hito": 50,
    "fecha_inicio": 12,
    "fecha_fin": 12,
    "estado": 14,
    "avance_pct": 12,
    "descripcion_avance": 45,
    "evidencia_url": 32,
    "observaciones": 32,
}
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
_WARNING_FILL = PatternFill("solid", fgColor="FFEB9C")
_WRAP = Alignment(wrap_text=True, vertical="top")
_CENTRED = Alignment(horizontal="center", vertical="top")
_LINE_HEIGHT = 15  # points, for the default 11 pt font
# Characters of ordinary text per unit of column width (a unit is one digit wide).
_CHARS_PER_WIDTH = 1.2
_MARK_AUTHOR = "Hitos"
# The header is normally row 1, but offices add title rows above it.
_HEADER_SEARCH_ROWS = 30


def signature(
    key: str,
    plan_id: str,
    cycle_id: str,
    institution: str,
    template_version: str = TEMPLATE_VERSION,
) -> str:
    """HMAC-SHA256 (hex) that ties a workbook to its request even when renamed or forwarded."""
    message = "|".join((plan_id, cycle_id, institution, template_version))
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify(meta: Mapping[str, str], key: str) -> bool:
    """Whether the values of a ``_meta`` sheet are the ones its signature was made from."""
    values = [str(meta.get(field, "")).strip() for field in _META_FIELDS]
    if not all(values):
        return False
    given = str(meta.get("signature", "")).strip()
    return hmac.compare_digest(signature(key, *values), given)


def build_request_workbook(
    plan: Plan,
    institution: Institution,
    cycle_id: str,
    deadline: date,
    reply_to: str,
    signing_key: str,
    previous: dict[str, dict[str, object]] | None = None,
    language: str = "es",
) -> bytes:
    """The .xlsx asking ``institution`` for this cycle's progress.

    ``previous`` (milestone code → the institution's values in its last accepted cycle)
    pre-fills its columns, so the liaison only changes what moved. The same inputs give the
    same content in every part of the file (only the zip entries' timestamps differ).
    """
    milestones = plan.milestones_of(institution.code)
    if not milestones:
        raise ValueError(f"{institution.code} has no milestones in plan {plan.id}: nothing to ask")
    carried = previous or {}
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    sheet.title = HITOS
    _write_milestones(sheet, plan, milestones, carried, _labels(language))
    instructions = render(
        "workbook_instructions.txt",
        language,
        plan=plan,
        institution=institution,
        cycle_id=cycle_id,
        deadline=deadline,
        reply_to=reply_to,
        milestones=len(milestones),
        carried=any(m.code in carried for m in milestones),
        director=plan.coordinator.director,
        coordinator=_institution_name(plan, plan.coordinator.institution),
    )
    _write_instructions(workbook.create_sheet(INSTRUCCIONES), instructions.splitlines())
    meta = dict(
        zip(_META_FIELDS, (plan.id, cycle_id, institution.code, TEMPLATE_VERSION), strict=True)
    )
    meta["signature"] = signature(signing_key, plan.id, cycle_id, institution.code)
    _write_meta(workbook.create_sheet(META), meta)
    # Keeps the sheets' names and the hidden _meta as they are; no password, like the sheets.
    workbook.security = WorkbookProtection(lockStructure=True)
    stamp = datetime.strptime(cycle_id, "%Y-%m")
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    workbook.properties.creator = "Hitos"
    workbook.properties.title = f"{plan.id} {cycle_id} {institution.code}"
    return _xlsx_bytes(workbook)


def mark_findings(
    data: bytes, filename: str, findings: list[Finding], language: str = "es"
) -> bytes | None:
    """The institution's own workbook with each finding marked on its cell and listed in
    ``Correcciones``; None when it is not an .xlsx/.xlsm that openpyxl opens.

    Errors are filled light red, warnings yellow, each with a comment saying what to fix. Marks
    left by an earlier round are cleared first. The result is always .xlsx (macros dropped).
    """
    if PurePath(filename).suffix.lower() not in (".xlsx", ".xlsm"):
        return None
    try:
        workbook = load_workbook(BytesIO(data), keep_vba=False)
    # openpyxl fails in many ways on foreign or corrupt files; all mean "send the list only".
    except Exception:
        return None
    sheet = next((s for s in workbook.worksheets if _normal(s.title) == HITOS.lower()), None)
    if sheet is not None:
        header_row, positions = _header(sheet)
        _clear_marks(sheet, header_row)
        by_cell: dict[str, list[Finding]] = {}
        for item in findings:
            cell = _cell_of(sheet, header_row, positions, item)
            by_cell.setdefault(cell.coordinate, []).append(item)
        for coordinate, cell_findings in by_cell.items():
            _mark(sheet[coordinate], cell_findings)
    _write_corrections(workbook, sheet, findings, _labels(language))
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _labels(language: str) -> dict[str, Any]:
    """Short workbook texts from the language's catalogue (Excel caps titles at 32 characters
    and messages at 255)."""
    states = [
        text(language, f"contract.states.{code}")
        for code in ("not_started", "started", "completed")
    ]
    listed = ", ".join(states[:-1]) + text(language, "workbook.list_or") + states[-1]
    bounds = {
        "low": 0,
        "high": 100,
        **dict(zip(("not_started", "started", "completed"), states, strict=True)),
    }
    labels: dict[str, Any] = {
        name: text(language, f"workbook.{name}", states=listed, **bounds)
        for name in (
            "state_prompt_title",
            "state_prompt",
            "state_error_title",
            "state_error",
            "progress_prompt_title",
            "progress_prompt",
            "progress_error_title",
            "progress_error",
        )
    }
    table = "findings_table."
    labels["corrections_header"] = [
        text(language, table + name)
        for name in ("milestone", "row", "column", "severity", "message")
    ]
    labels["severity"] = {
        "error": text(language, table + "error_long"),
        "warning": text(language, table + "warning_long"),
    }
    return labels


def _institution_name(plan: Plan, code: str) -> str:
    return next((i.name for i in plan.institutions if i.code == code), code)


def _write_milestones(
    sheet: Worksheet,
    plan: Plan,
    milestones: list[Milestone],
    carried: dict[str, dict[str, object]],
    labels: dict[str, Any],
) -> None:
    for index, column in enumerate(COLUMNS, start=1):
        _put(sheet.cell(1, index), column)
        sheet.column_dimensions[get_column_letter(index)].width = _WIDTHS[column]
    styled: list[Cell] = []  # the first data row, styled once; later rows copy its styles
    for row, milestone in enumerate(milestones, start=2):
        commitment = plan.commitment(milestone.commitment)
        reported = carried.get(milestone.code, {})
        values: list[object] = [
            milestone.institution,
            milestone.code,
            f"{commitment.number}. {commitment.title}",
            milestone.description,
            milestone.start,
            milestone.end,
            *(_carried(column, reported.get(column)) for column in FILLED_BY_INSTITUTION),
        ]
        for index, (column, value) in enumerate(zip(COLUMNS, values, strict=True), start=1):
            cell = _put(sheet.cell(row, index), value)
            if styled:
                # Setting a style looks it up by hashing openpyxl objects: a fifth of the
                # workbook's build time when done per cell. Copying the style ids is the same.
                cell._style = copy(styled[index - 1]._style)
                continue
            cell.alignment = _WRAP
            if column in FILLED_BY_INSTITUTION:
                cell.protection = Protection(locked=False)
            if column in _DATE_COLUMNS:
                cell.number_format = "dd/mm/yyyy"
                cell.alignment = _CENTRED  # right-aligned dates ran into the state beside them
            elif column == "codigo_hito":
                cell.number_format = "@"
        if not styled:
            styled = list(sheet[row])
    for cell in sheet[1]:
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    _add_validations(sheet, len(milestones) + 1, labels)
    _fit_rows(sheet)
    sheet.freeze_panes = "C2"  # header and the milestone's code stay in view
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False  # widening columns and rows stays allowed
    sheet.protection.formatRows = False
    sheet.print_title_rows = "1:1"
    _print_one_page_wide(sheet, "landscape")


def _print_one_page_wide(sheet: Worksheet, orientation: str) -> None:
    sheet.page_setup.orientation = orientation
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def _fit_rows(sheet: Worksheet) -> None:
    """Give rows of wrapped text the height they need: LibreOffice shows them one line high."""
    widths: dict[str, float] = {}
    for row in sheet.iter_rows():
        lines = 1
        for cell in row:
            letter = cell.column_letter
            if letter not in widths:
                widths[letter] = sheet.column_dimensions[letter].width
            lines = max(lines, _lines(cell.value, widths[letter]))
        if lines > 1:
            sheet.row_dimensions[row[0].row].height = _LINE_HEIGHT * lines


def _lines(value: object, width: float) -> int:
    per_line = int(width * _CHARS_PER_WIDTH)
    text = "" if value is None else str(value)
    return sum(max(1, math.ceil(len(part) / per_line)) for part in text.split("\n"))


def _carried(column: str, value: object) -> object:
    """A value reported last cycle as it goes in the cell; the column's default if none."""
    if value is None or value == "":
        return _DEFAULTS.get(column)
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the ledger keeps progress as a float
    return value


def _put(cell: Cell, value: object) -> Cell:
    """Write a value; text stays text even if it starts with "=" (openpyxl makes formulas)."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _add_validations(sheet: Worksheet, last_row: int, labels: dict[str, Any]) -> None:
    state = DataValidation(
        type="list",
        formula1='"' + ",".join(STATES) + '"',
        allow_blank=False,
        showInputMessage=True,
        promptTitle=labels["state_prompt_title"],
        prompt=labels["state_prompt"],
        showErrorMessage=True,
        errorTitle=labels["state_error_title"],
        error=labels["state_error"],
    )
    progress = DataValidation(
        type="whole",
        operator="between",
        formula1="0",
        formula2="100",
        allow_blank=False,
        showInputMessage=True,
        promptTitle=labels["progress_prompt_title"],
        prompt=labels["progress_prompt"],
        showErrorMessage=True,
        errorTitle=labels["progress_error_title"],
        error=labels["progress_error"],
    )
    for validation, column in ((state, "estado"), (progress, "avance_pct")):
        letter = get_column_letter(COLUMNS.index(column) + 1)
        validation.add(f"{letter}2:{letter}{last_row}")
        sheet.add_data_validation(validation)


def _write_instructions(sheet: Worksheet, lines: list[str]) -> None:
    sheet.column_dimensions["A"].width = 80
    sheet.sheet_view.showGridLines = False
    for row, line in enumerate(lines, start=1):
        if not line:
            continue
        cell = _put(sheet.cell(row, 1), line.removeprefix("# "))
        cell.alignment = _WRAP
        if line.startswith("# "):
            cell.font = Font(bold=True, size=14 if row == 1 else 12)
            sheet.row_dimensions[row].height = 22
    _fit_rows(sheet)
    sheet.protection.sheet = True
    _print_one_page_wide(sheet, "portrait")


def _write_meta(sheet: Worksheet, meta: dict[str, str]) -> None:
    for row, (key, value) in enumerate(meta.items(), start=1):
        _put(sheet.cell(row, 1), key)
        _put(sheet.cell(row, 2), value).number_format = "@"
    sheet.sheet_state = "hidden"
    sheet.protection.sheet = True


def _xlsx_bytes(workbook: Workbook) -> bytes:
    """The workbook as .xlsx; unlike ``Workbook.save`` this keeps the properties' dates."""
    buffer = BytesIO()
    ExcelWriter(workbook, ZipFile(buffer, "w", ZIP_DEFLATED, allowZip64=True)).save()
    return buffer.getvalue()


def _normal(text: object) -> str:
    return str(text).strip().lower()


def _header(sheet: Worksheet) -> tuple[int | None, dict[str, int]]:
    """The header row (the one naming ``codigo_hito``) and each contract column's index."""
    for row in sheet.iter_rows(max_row=min(sheet.max_row, _HEADER_SEARCH_ROWS)):
        names = {_normal(c.value): c.column for c in row if isinstance(c.value, str)}
        if "codigo_hito" in names:
            return row[0].row, {name: index for name, index in names.items() if name in COLUMNS}
    return None, {}


def _cell_of(
    sheet: Worksheet, header_row: int | None, positions: dict[str, int], item: Finding
) -> Cell:
    """The cell a finding points at: its row and column, else its column's header, else A1."""
    column = positions.get(item.column)
    if item.row is not None:
        return sheet.cell(item.row, column or 1)
    if column is not None and header_row is not None:
        return sheet.cell(header_row, column)
    return sheet.cell(1, 1)


def _clear_marks(sheet: Worksheet, header_row: int | None) -> None:
    """Undo an earlier round's marks, so a re-sent copy shows only what is still wrong."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.comment is not None and cell.comment.author == _MARK_AUTHOR:
                cell.comment = None
                cell.fill = _HEADER_FILL if cell.row == header_row else PatternFill()


def _mark(cell: Cell, findings: list[Finding]) -> None:
    error = any(f.severity == "error" for f in findings)
    cell.fill = _ERROR_FILL if error else _WARNING_FILL
    text = "\n\n".join(f.message for f in findings)
    cell.comment = Comment(text, _MARK_AUTHOR, height=40 + 16 * (len(text) // 45 + 1), width=320)


def _write_corrections(
    workbook: Workbook, hitos: Worksheet | None, findings: list[Finding], labels: dict[str, Any]
) -> None:
    """Replace the ``Correcciones`` sheet (next to ``Hitos``) and open the workbook on it."""
    if CORRECCIONES in workbook.sheetnames:
        del workbook[CORRECCIONES]
    index = workbook.index(hitos) + 1 if hitos is not None else 0
    sheet = workbook.create_sheet(CORRECCIONES, index)
    for column, (title, width) in enumerate(
        zip(labels["corrections_header"], (10, 7, 20, 22, 80), strict=True), start=1
    ):
        cell = _put(sheet.cell(1, column), title)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        sheet.column_dimensions[get_column_letter(column)].width = width
    for row, item in enumerate(findings, start=2):
        values = (item.milestone, item.row, item.column, labels["severity"][item.severity])
        for column, value in enumerate((*values, item.message), start=1):
            _put(sheet.cell(row, column), value).alignment = _WRAP
        sheet.cell(row, 4).fill = _ERROR_FILL if item.severity == "error" else _WARNING_FILL
    sheet.freeze_panes = "A2"
    _fit_rows(sheet)
    _print_one_page_wide(sheet, "landscape")
    for other in workbook.worksheets:
        other.sheet_view.tabSelected = False  # else Excel opens with the sheets grouped
    workbook.active = sheet
