"""Building the request workbook an institution receives for a cycle.

The workbook is the contract with the institutions (``tasks.core.contract``): the
milestones' sheet (``Hitos``) with the institution, cycle and deadline above a header of labels
in the plan's language and one row per milestone, the cells to fill white and bordered, the rest
grey and locked; the instructions' sheet and a hidden, signed ``_meta``
(``tasks.workbooks.signing``). Sheets are protected without a password: the lock prevents slips,
the validator and the signature catch the rest.

What a liaison sees first on a 1366 px screen at 100 %: every column to fill, beside the
milestone's code, text and dates. The institution is named once, in the title block (its column
stays in the file, hidden, so every row of a returned file still names it), and each commitment
once, on the first row of its milestones.
"""

from __future__ import annotations

from copy import copy
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO
from typing import Any
from zipfile import ZIP_DEFLATED, ZipFile

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from tasks.catalogues import text
from tasks.core import contract
from tasks.plans.plan import Institution, Milestone, Plan
from tasks.rendering import render
from tasks.workbooks.layout import (
    CENTRED,
    FIRST_ROW,
    FONT,
    HEADER_ROW,
    LINE_HEIGHT,
    SIZE,
    TITLE_COLUMN,
    WRAP,
    fit_rows,
    lines,
    print_one_page_wide,
    put,
    row_height,
    style_cell,
    style_header,
)
from tasks.workbooks.signing import META, signed_meta
from tasks.workbooks.template import Row, Template

_DEFAULTS: dict[str, object] = {contract.STATE: contract.NOT_STARTED, contract.PROGRESS: 0}
_WIDTHS = [c.width for c in contract.COLUMNS]
_INSTRUCTIONS_WIDTH = 80
_SECTION_HEIGHT = 22
_TITLE_HEIGHT = 22
_HEADER_LINES = 2  # the labels wrap on two lines in the narrow columns


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
    before = [(None, None)] * (TITLE_COLUMN - 1)
    rows = [Row([*before, cell]) for cell in zip(heading, styles.heading, strict=True)]
    rows[0] = Row(rows[0].cells, _TITLE_HEIGHT)
    rows += [Row(())] * (HEADER_ROW - len(heading))  # a blank row, then the template's header
    for values in _rows(plan, milestones, carried, language):
        rows.append(Row(list(zip(values, styles.data, strict=True)), row_height(values, _WIDTHS)))
    said = _instructions(
        plan, institution, cycle_id, deadline, reply_to, milestones, carried, language
    )
    instructions = [
        Row([(line.removeprefix("# "), styles.line(number, line))], _line_height(number, line))
        if line
        else Row(())
        for number, line in enumerate(said, start=1)
    ]
    meta = [
        Row([(key, styles.meta_key), (value, styles.meta_value)])
        for key, value in signed_meta(plan, institution, cycle_id, signing_key).items()
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
        workbook = _styled_workbook(plan, sample, cycle_id, deadline, reply_to, language)
        milestones, instructions, meta = workbook.worksheets
        said = _instructions(
            plan,
            sample,
            cycle_id,
            deadline,
            reply_to,
            plan.milestones_of(sample.code),
            {},
            language,
        )
        numbered = list(enumerate(said, start=1))
        first = next(n for n, line in numbered if line)
        sections = [n for n, line in numbered if n > first and line.startswith("# ")]
        texts = [n for n, line in numbered if line and not line.startswith("# ")]
        styles = _Styles(
            heading=[milestones.cell(row, TITLE_COLUMN).style_id for row in range(1, 5)],
            data=[
                milestones.cell(FIRST_ROW, index).style_id
                for index in range(1, len(contract.COLUMNS) + 1)
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


def _styled_workbook(
    plan: Plan,
    institution: Institution,
    cycle_id: str,
    deadline: date,
    reply_to: str,
    language: str,
) -> Workbook:
    """The request workbook built and styled cell by cell with openpyxl: the one place that
    decides how it looks, and the template every institution's file is filled from (its rows,
    values and ``_meta`` are each institution's own)."""
    milestones = plan.milestones_of(institution.code)
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    sheet.title = contract.sheet_name("milestones", language)
    _write_heading(sheet, _heading(institution, cycle_id, deadline, reply_to, language))
    _write_milestones(sheet, plan, milestones, language)
    said = _instructions(plan, institution, cycle_id, deadline, reply_to, milestones, {}, language)
    instructions_sheet = workbook.create_sheet(contract.sheet_name("instructions", language))
    _write_instructions(instructions_sheet, said)
    _write_meta(workbook.create_sheet(META), signed_meta(plan, institution, cycle_id, ""))
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


def _rows(
    plan: Plan,
    milestones: list[Milestone],
    carried: dict[str, dict[str, object]],
    language: str,
) -> list[list[object]]:
    """Each milestone's row: the plan's columns, then what the institution last reported.

    The commitment is written on the first row of its milestones only: repeated on every row it
    took a wide column and several lines of each row.
    """
    rows = []
    shown = None
    for milestone in milestones:
        commitment = plan.commitment(milestone.commitment)
        reported = carried.get(milestone.code, {})
        rows.append(
            [
                milestone.institution,
                milestone.code,
                None if commitment.number == shown else f"{commitment.number}. {commitment.title}",
                milestone.description,
                milestone.start,
                milestone.end,
                *(
                    _carried(key, reported.get(key), language)
                    for key in contract.FILLED_BY_INSTITUTION
                ),
            ]
        )
        shown = commitment.number
    return rows


def _line_height(number: int, line: str) -> float | None:
    """An instruction line's height: as ``_write_instructions`` and ``fit_rows`` give it."""
    needed = lines(line.removeprefix("# "), _INSTRUCTIONS_WIDTH)
    if needed > 1:
        return LINE_HEIGHT * needed
    return _SECTION_HEIGHT if line.startswith("# ") else None


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


def _write_heading(sheet: Worksheet, heading: list[str]) -> None:
    """Title, institution, deadline and legend above the header: what a liaison needs first."""
    fonts = [
        Font(name=FONT, bold=True, size=14),
        Font(name=FONT, size=SIZE, bold=True),
        Font(name=FONT, size=SIZE, bold=True, color="9C0006"),
        Font(name=FONT, size=SIZE, italic=True, color="404040"),
    ]
    for row, (line, font) in enumerate(zip(heading, fonts, strict=True), start=1):
        put(sheet.cell(row, TITLE_COLUMN), line).font = font
    sheet.row_dimensions[1].height = _TITLE_HEIGHT


def _write_milestones(
    sheet: Worksheet, plan: Plan, milestones: list[Milestone], language: str
) -> None:
    date_format = text(language, "formats.cell_date")
    labels = [column.label(language) for column in contract.COLUMNS]
    for index, (column, label) in enumerate(zip(contract.COLUMNS, labels, strict=True), start=1):
        style_header(put(sheet.cell(HEADER_ROW, index), label), column)
        dimension = sheet.column_dimensions[get_column_letter(index)]
        dimension.width = column.width
        dimension.hidden = column.hidden
    header_lines = max(
        _HEADER_LINES, *(lines(label, w) for label, w in zip(labels, _WIDTHS, strict=True))
    )
    sheet.row_dimensions[HEADER_ROW].height = header_lines * LINE_HEIGHT
    styled: list[Cell] = []  # the first data row, styled once; later rows copy its styles
    for row, values in enumerate(_rows(plan, milestones, {}, language), start=FIRST_ROW):
        for index, (column, value) in enumerate(zip(contract.COLUMNS, values, strict=True), 1):
            cell = put(sheet.cell(row, index), value)
            if styled:
                # Setting a style looks it up by hashing openpyxl objects: a fifth of the
                # workbook's build time when done per cell. Copying the style ids is the same.
                cell._style = copy(styled[index - 1]._style)
                continue
            style_cell(cell, column)
            if column.kind == "date":
                cell.number_format = date_format
                cell.alignment = CENTRED  # right-aligned dates ran into the state beside them
            elif column.kind == "code":
                cell.number_format = "@"
            elif column.kind == "whole":
                cell.alignment = CENTRED
        if not styled:
            styled = list(sheet[row])[: len(contract.COLUMNS)]
    _add_validations(sheet, HEADER_ROW + len(milestones), _labels(language), language)
    # The header and the milestone's code stay in view while the liaison scrolls, and the
    # cursor starts in the first cell to fill (A1 is the hidden institution's column).
    sheet.freeze_panes = f"{get_column_letter(contract.KEYS.index(contract.CODE) + 2)}{FIRST_ROW}"
    first = contract.KEYS.index(contract.FILLED_BY_INSTITUTION[0]) + 1
    for selection in sheet.sheet_view.selection:
        if selection.pane == sheet.sheet_view.pane.activePane:
            selection.activeCell = selection.sqref = f"{get_column_letter(first)}{FIRST_ROW}"
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False  # widening columns and rows stays allowed
    sheet.protection.formatRows = False
    sheet.protection.insertHyperlinks = False  # a link to the evidence may be inserted (Ctrl+K)
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.oddFooter.center.text = "&P / &N"
    print_one_page_wide(sheet, "landscape")


def _carried(column: str, value: object, language: str) -> object:
    """A value reported last cycle as it goes in the cell; the column's default if none."""
    if value is None or value == "":
        value = _DEFAULTS.get(column)
    if column == contract.STATE and isinstance(value, str):
        return contract.state_label(value, language)  # the ledger keeps the state's code
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the ledger keeps progress as a float
    return value


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
        validation.add(f"{letter}{FIRST_ROW}:{letter}{last_row}")
        sheet.add_data_validation(validation)


def _write_instructions(sheet: Worksheet, said: list[str]) -> None:
    sheet.column_dimensions["A"].width = _INSTRUCTIONS_WIDTH
    sheet.sheet_view.showGridLines = False
    for row, line in enumerate(said, start=1):
        if not line:
            continue
        cell = put(sheet.cell(row, 1), line.removeprefix("# "))
        cell.alignment = WRAP
        if line.startswith("# "):
            cell.font = Font(name=FONT, bold=True, size=14 if row == 1 else 12)
            sheet.row_dimensions[row].height = _SECTION_HEIGHT
    fit_rows(sheet)
    sheet.protection.sheet = True
    print_one_page_wide(sheet, "portrait")


def _write_meta(sheet: Worksheet, meta: dict[str, str]) -> None:
    for row, (key, value) in enumerate(meta.items(), start=1):
        put(sheet.cell(row, 1), key)
        put(sheet.cell(row, 2), value).number_format = "@"
    sheet.sheet_state = "hidden"
    sheet.protection.sheet = True


def _xlsx_bytes(workbook: Workbook) -> bytes:
    """The workbook as .xlsx; unlike ``Workbook.save`` this keeps the properties' dates."""
    buffer = BytesIO()
    ExcelWriter(workbook, ZipFile(buffer, "w", ZIP_DEFLATED, allowZip64=True)).save()
    return buffer.getvalue()
