"""The request workbook: built and signed for each institution, and marked up when it comes back.

The workbook is the contract with the institutions (``tasks.workbooks.contract``): the milestones'
sheet
(``Hitos``) with the institution, cycle and deadline above a header of labels in the plan's
language and one row per milestone, the cells to fill white and bordered, the rest grey and
locked; the instructions' sheet and a hidden, signed ``_meta``. Sheets are protected without a
password: the lock prevents slips, the validator and the signature catch the rest.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Mapping
from copy import copy
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO
from pathlib import PurePath
from typing import Any
from zipfile import ZIP_DEFLATED, ZipFile

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from tasks.catalogues import text
from tasks.core.findings import Finding
from tasks.plans.plan import Institution, Milestone, Plan
from tasks.rendering import render
from tasks.workbooks import contract
from tasks.workbooks.contract import COLUMNS
from tasks.workbooks.template import Row, Template

TEMPLATE_VERSION = "1"
HEADER_ROW = 6
"""The header's row: the institution, cycle and deadline are written above it."""
META = contract.META_SHEET

_META_FIELDS = ("plan", "cycle", "institution", "template_version")
_DEFAULTS: dict[str, object] = {contract.STATE: contract.NOT_STARTED, contract.PROGRESS: 0}
_GREY = "F2F2F2"
_THIN = Side(style="thin", color="BFBFBF")
_DARK = Side(style="thin", color="595959")
_LOCKED_FILL = PatternFill("solid", fgColor=_GREY)
_LOCKED_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_OPEN_FILL = PatternFill("solid", fgColor="FFFFFF")
_OPEN_BORDER = Border(left=_DARK, right=_DARK, top=_DARK, bottom=_DARK)
_FONT = "Calibri"  # named on every font: LibreOffice draws a nameless one in its serif default
_HEADER_FONT = Font(name=_FONT, bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_LOCKED_HEADER_FILL = PatternFill("solid", fgColor="D9D9D9")
_LOCKED_FONT = Font(name=_FONT, color="404040")
_ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
_WARNING_FILL = PatternFill("solid", fgColor="FFEB9C")
_WRAP = Alignment(wrap_text=True, vertical="top")
_CENTRED = Alignment(horizontal="center", vertical="top")
_LINE_HEIGHT = 15  # points, for the default 11 pt font
# Characters of ordinary text per unit of column width (a unit is one digit wide).
_CHARS_PER_WIDTH = 1.2
_MARK_AUTHOR = "Hitos"
_A4 = 9  # openpyxl's paperSize code for A4
_INSTRUCTIONS_WIDTH = 80
_SECTION_HEIGHT = 22
_TITLE_HEIGHT = 22


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
    same bytes. The workbook is styled once per cycle and language (``_template``) and filled
    per institution: 1,000 institutions took 9.6 s built one by one with openpyxl.
    """
    milestones = plan.milestones_of(institution.code)
    if not milestones:
        raise ValueError(f"{institution.code} has no milestones in plan {plan.id}: nothing to ask")
    carried = previous or {}
    template, styles = _template(plan, cycle_id, deadline, reply_to, language)
    heading = _heading(institution, cycle_id, deadline, reply_to, language)
    rows = [Row([cell]) for cell in zip(heading, styles.heading, strict=True)]
    rows[0] = Row(rows[0].cells, _TITLE_HEIGHT)
    rows += [Row(())] * (HEADER_ROW - len(heading))  # a blank row, then the template's header
    for milestone in milestones:
        values = _values(plan, milestone, carried, language)
        rows.append(Row(list(zip(values, styles.data, strict=True)), _height(values)))
    lines = _instructions(
        plan, institution, cycle_id, deadline, reply_to, milestones, carried, language
    )
    instructions = [
        Row([(line.removeprefix("# "), styles.line(number, line))], _line_height(number, line))
        if line
        else Row(())
        for number, line in enumerate(lines, start=1)
    ]
    meta = [
        Row([(key, styles.meta_key), (value, styles.meta_value)])
        for key, value in _meta(plan, institution, cycle_id, signing_key).items()
    ]
    stamp = datetime.strptime(cycle_id, "%Y-%m")
    return template.fill(rows, instructions, meta, _title(plan, cycle_id, institution), stamp)


@dataclass(frozen=True)
class _Styles:
    """The style ids openpyxl gave the template's cells, reused for every institution."""

    heading: list[int | None]
    data: list[int | None]
    title: int | None
    section: int | None
    text: int | None
    meta_key: int | None
    meta_value: int | None

    def line(self, number: int, line: str) -> int | None:
        if line.startswith("# "):
            return self.title if number == 1 else self.section
        return self.text


_TEMPLATES: dict[tuple[object, ...], tuple[Template, _Styles]] = {}


def _template(
    plan: Plan, cycle_id: str, deadline: date, reply_to: str, language: str
) -> tuple[Template, _Styles]:
    """The cycle's workbook styled once by openpyxl (for the first institution), taken apart."""
    key = (id(plan), plan.id, cycle_id, deadline, reply_to, language)
    if key not in _TEMPLATES:
        if len(_TEMPLATES) > 16:
            _TEMPLATES.clear()
        sample = plan.reporting_institutions()[0]
        workbook = styled_workbook(plan, sample, cycle_id, deadline, reply_to, "", None, language)
        milestones, instructions, meta = workbook.worksheets
        lines = _instructions(
            plan,
            sample,
            cycle_id,
            deadline,
            reply_to,
            plan.milestones_of(sample.code),
            {},
            language,
        )
        numbered = list(enumerate(lines, start=1))
        first = next(n for n, line in numbered if line)
        sections = [n for n, line in numbered if n > first and line.startswith("# ")]
        texts = [n for n, line in numbered if line and not line.startswith("# ")]
        styles = _Styles(
            heading=[milestones.cell(row, 1).style_id for row in range(1, 5)],
            data=[
                milestones.cell(HEADER_ROW + 1, index).style_id
                for index in range(1, len(COLUMNS) + 1)
            ],
            title=instructions.cell(first, 1).style_id,
            section=instructions.cell(sections[0], 1).style_id,
            text=instructions.cell(texts[0], 1).style_id,
            meta_key=meta.cell(1, 1).style_id,
            meta_value=meta.cell(1, 2).style_id,
        )
        parts = tuple(f"xl/worksheets/sheet{n}.xml" for n in (1, 2, 3))
        template = Template.from_xlsx(_xlsx_bytes(workbook), parts, HEADER_ROW)  # type: ignore[arg-type]
        _TEMPLATES[key] = (template, styles)
    return _TEMPLATES[key]


def styled_workbook(
    plan: Plan,
    institution: Institution,
    cycle_id: str,
    deadline: date,
    reply_to: str,
    signing_key: str,
    previous: dict[str, dict[str, object]] | None = None,
    language: str = "es",
) -> Workbook:
    """The request workbook built and styled cell by cell with openpyxl: the one place that
    decides how it looks, and the template every institution's file is filled from."""
    milestones = plan.milestones_of(institution.code)
    carried = previous or {}
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    sheet.title = contract.sheet_name("milestones", language)
    _write_heading(sheet, _heading(institution, cycle_id, deadline, reply_to, language))
    _write_milestones(sheet, plan, milestones, carried, language)
    lines = _instructions(
        plan, institution, cycle_id, deadline, reply_to, milestones, carried, language
    )
    instructions_sheet = workbook.create_sheet(contract.sheet_name("instructions", language))
    _write_instructions(instructions_sheet, lines)
    _write_meta(workbook.create_sheet(META), _meta(plan, institution, cycle_id, signing_key))
    # Keeps the sheets' names and the hidden _meta as they are; no password, like the sheets.
    workbook.security = WorkbookProtection(lockStructure=True)
    stamp = datetime.strptime(cycle_id, "%Y-%m")
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    workbook.properties.creator = "Hitos"
    workbook.properties.title = _title(plan, cycle_id, institution)
    return workbook


def _title(plan: Plan, cycle_id: str, institution: Institution) -> str:
    return f"{plan.id} {cycle_id} {institution.code}"


def _heading(
    institution: Institution, cycle_id: str, deadline: date, reply_to: str, language: str
) -> list[str]:
    return [
        text(language, "workbook.title", cycle_id=cycle_id),
        text(language, "workbook.institution", name=institution.name, code=institution.code),
        text(language, "workbook.deadline", deadline=deadline, reply_to=reply_to),
        text(language, "workbook.legend"),
    ]


def _instructions(
    plan: Plan,
    institution: Institution,
    cycle_id: str,
    deadline: date,
    reply_to: str,
    milestones: list[Milestone],
    carried: dict[str, dict[str, object]],
    language: str = "es",
) -> list[str]:
    return render(
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
    ).splitlines()


def _meta(plan: Plan, institution: Institution, cycle_id: str, signing_key: str) -> dict[str, str]:
    meta = dict(
        zip(_META_FIELDS, (plan.id, cycle_id, institution.code, TEMPLATE_VERSION), strict=True)
    )
    meta["signature"] = signature(signing_key, plan.id, cycle_id, institution.code)
    return meta


def _values(
    plan: Plan, milestone: Milestone, carried: dict[str, dict[str, object]], language: str
) -> list[object]:
    """A milestone's row: the plan's columns, then what the institution last reported."""
    commitment = plan.commitment(milestone.commitment)
    reported = carried.get(milestone.code, {})
    return [
        milestone.institution,
        milestone.code,
        f"{commitment.number}. {commitment.title}",
        milestone.description,
        milestone.start,
        milestone.end,
        *(_carried(key, reported.get(key), language) for key in contract.FILLED_BY_INSTITUTION),
    ]


def _height(values: list[object]) -> float | None:
    """The height a row of wrapped text needs (LibreOffice shows it one line high otherwise)."""
    lines = max(_lines(v, c.width) for v, c in zip(values, COLUMNS, strict=True))
    return _LINE_HEIGHT * lines if lines > 1 else None


def _line_height(number: int, line: str) -> float | None:
    """An instruction line's height: as ``_write_instructions`` and ``_fit_rows`` give it."""
    lines = _lines(line.removeprefix("# "), _INSTRUCTIONS_WIDTH)
    if lines > 1:
        return _LINE_HEIGHT * lines
    return _SECTION_HEIGHT if line.startswith("# ") else None


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


def _labels(language: str) -> dict[str, Any]:
    """The data validations' prompts and errors from the language's catalogue (Excel caps
    titles at 32 characters and messages at 255)."""
    states = contract.state_labels(language)
    listed = contract.listed(states, text(language, "workbook.list_or"))
    values = {
        "low": contract.PROGRESS_MIN,
        "high": contract.PROGRESS_MAX,
        "states": listed,
        **dict(zip(contract.STATE_CODES, states, strict=True)),
    }
    return {
        name: text(language, f"workbook.{name}", **values)
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


def _institution_name(plan: Plan, code: str) -> str:
    return next((i.name for i in plan.institutions if i.code == code), code)


def _write_heading(sheet: Worksheet, lines: list[str]) -> None:
    """Title, institution, deadline and legend above the header: what a liaison needs first."""
    fonts = [
        Font(name=_FONT, bold=True, size=14),
        Font(name=_FONT, bold=True),
        Font(name=_FONT, bold=True, color="9C0006"),
        Font(name=_FONT, italic=True, color="404040"),
    ]
    for row, (line, font) in enumerate(zip(lines, fonts, strict=True), start=1):
        _put(sheet.cell(row, 1), line).font = font
    sheet.row_dimensions[1].height = _TITLE_HEIGHT


def _write_milestones(
    sheet: Worksheet,
    plan: Plan,
    milestones: list[Milestone],
    carried: dict[str, dict[str, object]],
    language: str,
) -> None:
    date_format = text(language, "formats.cell_date")
    for index, column in enumerate(COLUMNS, start=1):
        cell = _put(sheet.cell(HEADER_ROW, index), column.label(language))
        _style_header(cell, column)
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.row_dimensions[HEADER_ROW].height = 2 * _LINE_HEIGHT  # labels wrap on two lines
    styled: list[Cell] = []  # the first data row, styled once; later rows copy its styles
    for row, milestone in enumerate(milestones, start=HEADER_ROW + 1):
        values = _values(plan, milestone, carried, language)
        for index, (column, value) in enumerate(zip(COLUMNS, values, strict=True), start=1):
            cell = _put(sheet.cell(row, index), value)
            if styled:
                # Setting a style looks it up by hashing openpyxl objects: a fifth of the
                # workbook's build time when done per cell. Copying the style ids is the same.
                cell._style = copy(styled[index - 1]._style)
                continue
            _style_cell(cell, column)
            if column.kind == "date":
                cell.number_format = date_format
                cell.alignment = _CENTRED  # right-aligned dates ran into the state beside them
            elif column.kind == "code":
                cell.number_format = "@"
            elif column.kind == "whole":
                cell.alignment = _CENTRED
        if not styled:
            styled = list(sheet[row])[: len(COLUMNS)]
    last_row = HEADER_ROW + len(milestones)
    _add_validations(sheet, last_row, _labels(language), language)
    _fit_rows(sheet, HEADER_ROW + 1)
    sheet.freeze_panes = f"C{HEADER_ROW + 1}"  # header and the milestone's code stay in view
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False  # widening columns and rows stays allowed
    sheet.protection.formatRows = False
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.oddFooter.center.text = "&P / &N"
    _print_one_page_wide(sheet, "landscape")


def _style_header(cell: Cell, column: contract.Column) -> None:
    to_fill = column.filled_by == "institution"
    cell.font = _HEADER_FONT
    cell.fill = _HEADER_FILL if to_fill else _LOCKED_HEADER_FILL
    cell.border = _OPEN_BORDER if to_fill else _LOCKED_BORDER
    cell.alignment = Alignment(wrap_text=True, vertical="center")


def _style_cell(cell: Cell, column: contract.Column) -> None:
    """A cell to fill is white with a dark border and unlocked; a pre-filled one grey, locked."""
    cell.alignment = _WRAP
    if column.filled_by == "institution":
        cell.fill = _OPEN_FILL
        cell.border = _OPEN_BORDER
        cell.protection = Protection(locked=False)
    else:
        cell.fill = _LOCKED_FILL
        cell.border = _LOCKED_BORDER
        cell.font = _LOCKED_FONT


def _print_one_page_wide(sheet: Worksheet, orientation: str) -> None:
    sheet.page_setup.orientation = orientation
    sheet.page_setup.paperSize = _A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.6)


def _fit_rows(sheet: Worksheet, first_row: int = 1) -> None:
    """Give rows of wrapped text the height they need: LibreOffice shows them one line high."""
    widths: dict[str, float] = {}
    for row in sheet.iter_rows(min_row=first_row):
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


def _carried(column: str, value: object, language: str) -> object:
    """A value reported last cycle as it goes in the cell; the column's default if none."""
    if value is None or value == "":
        value = _DEFAULTS.get(column)
    if column == contract.STATE and isinstance(value, str):
        return contract.state_label(value, language)  # the ledger keeps the state's code
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the ledger keeps progress as a float
    return value


def _put(cell: Cell, value: object) -> Cell:
    """Write a value; text stays text even if it starts with "=" (openpyxl makes formulas)."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _add_validations(
    sheet: Worksheet, last_row: int, labels: dict[str, Any], language: str
) -> None:
    state = DataValidation(
        type="list",
        formula1='"' + ",".join(contract.state_labels(language)) + '"',
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
        formula1=str(contract.PROGRESS_MIN),
        formula2=str(contract.PROGRESS_MAX),
        allow_blank=False,
        showInputMessage=True,
        promptTitle=labels["progress_prompt_title"],
        prompt=labels["progress_prompt"],
        showErrorMessage=True,
        errorTitle=labels["progress_error_title"],
        error=labels["progress_error"],
    )
    for validation, column in ((state, contract.STATE), (progress, contract.PROGRESS)):
        letter = get_column_letter(contract.KEYS.index(column) + 1)
        validation.add(f"{letter}{HEADER_ROW + 1}:{letter}{last_row}")
        sheet.add_data_validation(validation)


def _write_instructions(sheet: Worksheet, lines: list[str]) -> None:
    sheet.column_dimensions["A"].width = _INSTRUCTIONS_WIDTH
    sheet.sheet_view.showGridLines = False
    for row, line in enumerate(lines, start=1):
        if not line:
            continue
        cell = _put(sheet.cell(row, 1), line.removeprefix("# "))
        cell.alignment = _WRAP
        if line.startswith("# "):
            cell.font = Font(name=_FONT, bold=True, size=14 if row == 1 else 12)
            sheet.row_dimensions[row].height = _SECTION_HEIGHT
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


def header(sheet: Worksheet) -> tuple[int | None, dict[str, int]]:
    """The header row (1-based) and each contract column's 1-based index: the reader's matcher."""
    rows = sheet.iter_rows(
        max_row=min(sheet.max_row, contract.HEADER_SEARCH_ROWS), values_only=True
    )
    found = contract.find_header(rows)
    if found is None:
        return None, {}
    index, positions = found
    return index + 1, {key: position + 1 for key, position in positions.items()}


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
                _style_header(cell, column)
            else:
                cell.fill = _OPEN_FILL if column.filled_by == "institution" else _LOCKED_FILL


def _mark(cell: Cell, findings: list[Finding]) -> None:
    error = any(f.severity == "error" for f in findings)
    cell.fill = _ERROR_FILL if error else _WARNING_FILL
    text = "\n\n".join(f.message for f in findings)
    cell.comment = Comment(text, _MARK_AUTHOR, height=40 + 16 * (len(text) // 45 + 1), width=320)


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
    for column, (title, width) in enumerate(zip(titles, (10, 7, 20, 22, 80), strict=True), start=1):
        cell = _put(sheet.cell(1, column), title)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        sheet.column_dimensions[get_column_letter(column)].width = width
    for row, item in enumerate(findings, start=2):
        label = (
            contract.BY_KEY[item.column].label(language)
            if item.column in contract.BY_KEY
            else item.column
        )
        values = (item.milestone, item.row, label, severity[item.severity])
        for column, value in enumerate((*values, item.message), start=1):
            _put(sheet.cell(row, column), value).alignment = _WRAP
        sheet.cell(row, 4).fill = _ERROR_FILL if item.severity == "error" else _WARNING_FILL
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    _fit_rows(sheet)
    _print_one_page_wide(sheet, "landscape")
    for other in workbook.worksheets:
        other.sheet_view.tabSelected = False  # else Excel opens with the sheets grouped
    workbook.active = sheet
