"""The report's XLSX: the same figures and rows as the page, for people, in their language.

Sheets: the summary, the charts (milestones by state in each published cycle; each
commitment's progress against the previous cycle), commitments, milestones, institutions and
the data dictionary that maps each header to the CSV's stable column key. Headers are labels
(«Avance %», not ``avance_pct``); dates are real dates; «sin datos» is written as such, never as
0. Every sheet prints on A4 landscape, one page wide, its header row repeated on each page and
long text wrapped in rows tall enough for it.

The workbook is write-only (rows streamed to the file: 20,000 rows in a fraction of the normal
mode's time), so widths, row heights and print settings are decided before the rows are
written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from copy import copy
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.styles import Alignment, Font
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.dimensions import RowDimension
from openpyxl.worksheet.page import PageMargins

from tasks.catalogues import month_year, text
from tasks.core import contract
from tasks.core.states import Delivery
from tasks.plans.plan import Plan
from tasks.publication.consolidation import (
    COMMITMENT_FORMULA,
    NO_DATA,
    PUBLISHED_COLUMNS,
    Figures,
)
from tasks.publication.report.open_data import (
    column_label,
    data_dictionary,
    neutralise,
    neutralised_text,
)
from tasks.publication.report.page import CHART_STATES, SOURCES, sample_notice, state_label
from tasks.storage.ledger import Cycle

MAX_WIDTH = 40
"""Widest column, in characters; longer text wraps onto more lines."""
LINE_HEIGHT = 15.0
"""Points per line of Calibri 11, the workbook's font: a wrapped cell's row is this × lines."""
CHARS_PER_WIDTH = 1.2
"""Characters of ordinary text per unit of column width (a unit is one digit «0»; letters are
narrower on average). Slightly low on purpose: a row a line too tall reads well, a row a line
too short hides text behind the next one."""
BOLD_WIDTH = 1.3
"""How much wider a bold header is than the same words in the body's font."""
CHART_WIDTH = 17.0
"""Each chart's width, in cm: with the data beside it, the sheet prints one A4 page wide."""
CHART_MAX_COMMITMENTS = 60
"""Most commitments the progress chart draws; a plan with more gets its table and no chart."""
COLOURS = dict(zip(CHART_STATES, ("1B6E3A", "C98A1A", "9AA5B1", "FFFFFF"), strict=True))
"""The states' colours, as on the page and the board."""
FORMATS = {
    "date": "DD/MM/YYYY",
    "percent": "0.00",
    "points": "+0.00;-0.00;0.00",
}
"""Number formats by kind of column (dates are real dates, so they sort and filter as dates)."""


@dataclass(frozen=True)
class Column:
    """One column of a sheet: its header, how wide it may grow, how its values look."""

    label: str
    kind: str = "text"
    """``text`` (wraps when longer than the column), ``number`` (as it is), a kind of ``FORMATS``
    (numbers and dates in that format) or ``auto`` (dates as dates, fractions as percentages)."""
    widest: float = MAX_WIDTH
    marks: Mapping[Any, str] = field(default_factory=dict)
    """Values shown in a style of their own: «Sin datos» → ``no_data``."""


WRAP = Alignment(wrap_text=True, vertical="top")
_STYLE_SETTINGS: dict[str, dict[str, Any]] = {
    "header": {"font": Font(bold=True), "alignment": Alignment(wrap_text=True, vertical="bottom")},
    "title": {"font": Font(bold=True, size=12), "alignment": Alignment()},
    **{kind: {"number_format": code, "alignment": WRAP} for kind, code in FORMATS.items()},
    "no_data": {"font": Font(italic=True, color="52606D"), "alignment": WRAP},
}


class Styles:
    """Cell styles registered once with the workbook (setting a font or alignment on each cell
    hashes it against the workbook's list: a third of the XLSX's time at 20,000 rows)."""

    def __init__(self, sheet: Any) -> None:
        self.sheet = sheet
        self._made: dict[str, StyleArray] = {}

    def get(self, name: str) -> StyleArray:
        if name not in self._made:
            cell = WriteOnlyCell(self.sheet)
            for attribute, setting in _STYLE_SETTINGS[name].items():
                setattr(cell, attribute, setting)
            self._made[name] = cell._style
        return self._made[name]

    def cell(self, value: Any, name: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.sheet)
        cell._style = copy(self.get(name))
        cell.value = value  # after the style: a date in a General cell still gets a date format
        return cell


def _workbook() -> Workbook:
    """A write-only workbook whose cells without a style of their own wrap their text and sit at
    the top of their row (``_tall`` makes the row tall enough): Excel reads that from the
    default cell format (``cellXfs`` 0), set here rather than as a style on every cell (styling
    each of the 380,000 cells of N = 1,000 doubled the XLSX's time). openpyxl has no public way
    to set it (3.1.5); ``test_report`` reads it back, so a change of its internals fails a test.
    """
    workbook = Workbook(write_only=True)
    default = StyleArray()
    default.alignmentId = workbook._alignments.add(WRAP)
    list.__setitem__(workbook._cell_styles, 0, default)
    return workbook


def _tall(sheet: Any, lines: int, style: StyleArray) -> RowDimension:
    """The format of a row tall enough for ``lines`` of wrapped text, in the default format
    (``style``): text at the top of a tall row, so that a code or a number reads as belonging to
    its row, not the next. LibreOffice takes the format of a cell without one of its own from
    its row's, Excel from the workbook's default. One object serves every row of that height (a
    row's number is not part of it)."""
    return RowDimension(sheet, ht=LINE_HEIGHT * lines, customHeight=True, s=copy(style))


def _header_lines(label: str, width: float) -> int:
    """Lines a bold header takes, wrapped word by word (a word never breaks across lines)."""
    room = (width - 1) / BOLD_WIDTH
    lines, used = 1, 0.0
    for word in label.split():
        if used and used + 1 + len(word) > room:
            lines, used = lines + 1, len(word)
        else:
            used += (1 if used else 0) + len(word)
    return lines


def _header_height(labels: Sequence[str], widths: Sequence[float]) -> int:
    """Lines of the tallest header of a row."""
    return max(_header_lines(label, width) for label, width in zip(labels, widths, strict=False))


def _lines(value: Any, width: float) -> int:
    """Lines a wrapped text takes in a column ``width`` wide (each paragraph on its own)."""
    if not isinstance(value, str) or not value:
        return 1
    per_line = max(1, int(width * CHARS_PER_WIDTH))
    return sum(max(1, math.ceil(len(part) / per_line)) for part in value.split("\n"))


def _cell(value: Any) -> Any:
    """A value openpyxl stores as data: NA as empty, numpy scalars as Python, text neutralised."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    return neutralise(value)


def _prepared(frame: pd.DataFrame) -> list[list[Any]]:
    """A large table's rows as ``_cell`` would give them, made by column: text neutralised, blank
    text and NA as empty cells (openpyxl then skips them). A call per cell was a tenth of the
    XLSX's time at 20,000 rows, and the blank texts a sixth of its cells."""
    safe = frame.copy()
    for column in safe.columns:
        if pd.api.types.is_string_dtype(safe[column]):
            text_values = neutralised_text(safe[column])
            safe[column] = text_values.where(text_values != "", None)
    shown = safe.astype(object)
    rows: list[list[Any]] = shown.where(shown.notna(), None).values.tolist()
    return rows


def _print_setup(
    sheet: Any, language: str, last_column: int, last_row: int, table: bool = True
) -> None:
    """A4 landscape, one page wide, numbered pages; a ``table`` with its gridlines and its header
    row on every page, anything else on one page."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = 9  # A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0 if table else 1  # a table: as many pages down as it needs
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    if table:
        sheet.print_options.gridLines = True
        sheet.print_title_rows = "1:1"
    sheet.print_area = f"A1:{get_column_letter(last_column)}{max(last_row, 1)}"
    page = text(language, "report.page")
    of = text(language, "report.page_of")
    sheet.oddFooter.center.text = f"{sheet.title} · {page} &P {of} &N"
    sheet.oddFooter.center.size = 8


def _style_of(column: Column, value: Any) -> str | None:
    """The style a value of the column takes, if any (most take the default)."""
    if value is None:
        return None
    if value in column.marks:
        return column.marks[value]
    if isinstance(value, str):
        return None
    if column.kind == "auto" and isinstance(value, date):
        return "date"
    if column.kind == "auto":
        return "percent" if isinstance(value, float) else None
    return column.kind if column.kind in FORMATS else None


def _table_sheet(
    workbook: Workbook,
    title: str,
    columns: Sequence[Column],
    rows: list[list[Any]],
    language: str,
    prepared: bool = False,
) -> None:
    """A sheet of one table: a bold, wrapped, frozen header with a filter; widths that fit the
    content up to each column's widest; long text wrapped in rows tall enough for it. The rows
    are ``_cell``'s values already when ``prepared`` (``_prepared``)."""
    sheet: Any = workbook.create_sheet(title)
    styles = Styles(sheet)
    values = rows if prepared else [[_cell(v) for v in row] for row in rows]
    widths, overflowing = [], []
    for index, column in enumerate(columns):
        longest_word = BOLD_WIDTH * max(len(word) for word in column.label.split())
        content = max((len(str(row[index])) for row in values if row[index] is not None), default=0)
        if column.kind == "date":
            content = 10
        width = min(max(content, longest_word) + 2, column.widest)
        widths.append(width)
        if content > width - 2 and column.kind in ("text", "auto"):
            overflowing.append(index)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(values) + 1}"
    _print_setup(sheet, language, len(columns), len(values) + 1)
    sheet.row_dimensions[1].height = LINE_HEIGHT * _header_height(
        [c.label for c in columns], widths
    )
    sheet.append([styles.cell(c.label, "header") for c in columns])
    styled = [i for i, c in enumerate(columns) if c.kind in FORMATS or c.kind == "auto" or c.marks]
    default = workbook._cell_styles[0]
    tall: dict[int, RowDimension] = {}
    for number, row in enumerate(values, start=2):
        lines = max((_lines(row[i], widths[i] - 1) for i in overflowing), default=1)
        if lines > 1:
            if lines not in tall:
                tall[lines] = _tall(sheet, lines, default)
            sheet.row_dimensions[number] = tall[lines]
        for i in styled:
            name = _style_of(columns[i], row[i])
            if name is not None:
                row[i] = styles.cell(row[i], name)
        sheet.append(row)


def _label(language: str, key: str, **values: Any) -> str:
    return text(language, f"report.xlsx.{key}", **values)


def _summary(
    workbook: Workbook,
    plan: Plan,
    cycle: Cycle,
    figures: Figures,
    version: int,
    made_on: date,
    language: str,
) -> None:
    def label(key: str, **values: Any) -> str:
        return text(language, f"report.summary.{key}", **values)

    rows: list[list[Any]] = [
        [label("plan"), plan.name],
        [label("cycle"), cycle.id],
        [label("deadline"), cycle.deadline],
        [label("version"), version],
        [label("made_on"), made_on],
    ]
    sample = sample_notice(plan)
    if sample is not None:
        key, values = sample
        rows.append([label("sample"), text(language, key, **values)])
    rows += [[label("milestones"), figures.milestones], [label("headline"), figures.headline]]
    previous = figures.previous
    if previous is not None:
        since = month_year(previous.cycle_id, language)
        rows += [
            [label("headline_before", cycle=since), previous.headline],
            [label("headline_change", cycle=since), figures.headline_change],
        ]
    rows += [
        *[
            [label("state", state=state_label(state, language)), count]
            for state, count in figures.counts.items()
        ],
        [label("overdue"), figures.overdue],
        [label("changed"), figures.changed],
        [label("formula"), text(language, COMMITMENT_FORMULA)],
    ]
    columns = [
        Column(text(language, "report.headers.indicator"), "text", 44),
        Column(text(language, "report.headers.value"), "auto", 60),
    ]
    _table_sheet(workbook, text(language, "report.sheets.summary"), columns, rows, language)


def _charts(workbook: Workbook, cycle: Cycle, figures: Figures, language: str) -> None:
    """Two small data blocks, each with its chart beside it: milestones by state in every
    published cycle and this one; each commitment's progress in this cycle and the previous
    one (a commitment without data is named so, and has no bar rather than a 0 % one)."""
    sheet: Any = workbook.create_sheet(text(language, "report.sheets.charts"))
    styles = Styles(sheet)
    cycles = [
        (c.cycle_id, [c.counts[s] for s in CHART_STATES], c.headline) for c in figures.history
    ]
    cycles.append((cycle.id, [figures.counts[s] for s in CHART_STATES], figures.headline))
    widths = (24, 15, 15, 15, 15, 15)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    commitments = figures.commitments
    drawn = bool(commitments) and len(commitments) <= CHART_MAX_COMMITMENTS
    previous = figures.previous

    states = BarChart()
    states.type, states.grouping, states.overlap = "bar", "stacked", 100
    states.height, states.width = 4.5 + 1.1 * len(cycles), CHART_WIDTH
    # The second block starts below the first chart: its rows are 15 points (0.53 cm) high.
    start_b = max(len(cycles) + 5, math.ceil(states.height / 0.53) + 4)
    last_row = start_b + (len(commitments) if drawn else 1)
    bars_height = 3.5 + 0.55 * len(commitments) * (2 if previous else 1)
    chart_rows = math.ceil(bars_height / 0.53) if drawn else 0
    _print_setup(sheet, language, 17, max(last_row, start_b + chart_rows), table=False)

    sheet.append([styles.cell(_label(language, "by_state"), "title")])
    header = [
        _label(language, "cycle"),
        *[state_label(s, language) for s in CHART_STATES],
        _label(language, "completed_share"),
    ]
    sheet.row_dimensions[2].height = LINE_HEIGHT * _header_height(header, widths)
    sheet.append([styles.cell(h, "header") for h in header])
    for cycle_id, counts, headline in cycles:
        sheet.append([cycle_id, *counts, styles.cell(headline, "percent")])
    for _ in range(start_b - len(cycles) - 4):
        sheet.append([])
    sheet.append([styles.cell(_label(language, "by_commitment"), "title")])
    columns_b = [
        _label(language, "commitment"),
        _label(language, "progress_in", cycle=month_year(cycle.id, language)),
    ]
    if previous is not None:
        columns_b.append(
            _label(language, "progress_in", cycle=month_year(previous.cycle_id, language))
        )
    sheet.row_dimensions[start_b].height = LINE_HEIGHT * _header_height(columns_b, widths)
    sheet.append([styles.cell(h, "header") for h in columns_b])
    if not drawn:
        sheet.append([_label(language, "too_many", count=len(commitments))])
    else:
        no_data = text(language, "report.no_data").lower()
        for c in commitments:
            name = c.codigo if c.with_data else f"{c.codigo} ({no_data})"
            row: list[Any] = [name, styles.cell(c.avance_pct, "percent") if c.with_data else None]
            if previous is not None:
                before = c.avance_anterior
                row.append(styles.cell(before, "percent") if before is not None else None)
            sheet.append(row)

    states.title = _label(language, "by_state")
    states.add_data(
        Reference(sheet, min_col=2, max_col=5, min_row=2, max_row=2 + len(cycles)),
        titles_from_data=True,
    )
    states.set_categories(Reference(sheet, min_col=1, min_row=3, max_row=2 + len(cycles)))
    for series, state in zip(states.series, CHART_STATES, strict=True):
        series.graphicalProperties = GraphicalProperties(solidFill=COLOURS[state])
        series.graphicalProperties.line.solidFill = "1F2933"
    states.x_axis.scaling.orientation = "maxMin"  # the oldest cycle on top
    states.y_axis.title = _label(language, "milestones")
    states.legend.position = "b"
    _visible_axes(states)
    sheet.add_chart(states, "H2")
    if not drawn:
        return
    bars = BarChart()
    bars.type = "bar"
    bars.title = _label(language, "by_commitment")
    bars.height, bars.width = bars_height, CHART_WIDTH
    bars.add_data(
        Reference(
            sheet,
            min_col=2,
            max_col=len(columns_b),
            min_row=start_b,
            max_row=start_b + len(commitments),
        ),
        titles_from_data=True,
    )
    bars.set_categories(
        Reference(sheet, min_col=1, min_row=start_b + 1, max_row=start_b + len(commitments))
    )
    for series, fill in zip(bars.series, ("2F5F8A", "B8C4CF"), strict=False):
        series.graphicalProperties = GraphicalProperties(solidFill=fill)
    bars.series[0].dLbls = DataLabelList(
        showVal=True, showSerName=False, showCatName=False, showLegendKey=False, showPercent=False
    )
    bars.x_axis.scaling.orientation = "maxMin"  # C01 on top, as in the table
    bars.y_axis.scaling.min, bars.y_axis.scaling.max = 0, 100
    bars.y_axis.majorUnit = 25
    bars.y_axis.title = _label(language, "percent")
    bars.legend.position = "b"
    _visible_axes(bars)
    sheet.add_chart(bars, f"H{start_b}")


def _visible_axes(chart: BarChart) -> None:
    """openpyxl 3.1 marks chart axes deleted by default: Excel then draws none."""
    chart.x_axis.delete = False
    chart.y_axis.delete = False


def _commitments(workbook: Workbook, figures: Figures, language: str) -> None:
    def h(key: str) -> str:
        return text(language, f"report_page.columns.{key}")

    no_data = text(language, "report.no_data")
    previous = figures.previous
    columns = [
        Column(h("commitment")),
        Column(h("ogp_id")),
        Column(h("title"), "text", 50),
        *[Column(state_label(s, language), "number", 15) for s in (*contract.STATE_CODES, NO_DATA)],
        Column(_label(language, "progress_pct"), "percent", 13, {no_data: "no_data"}),
    ]
    if previous is not None:
        since = month_year(previous.cycle_id, language)
        columns += [
            Column(_label(language, "progress_in", cycle=since), "percent", 16),
            Column(_label(language, "change_pp"), "points", 13),
        ]
    rows = []
    for c in figures.commitments:
        row: list[Any] = [
            c.codigo,
            c.ogp_id,
            c.titulo,
            c.no_iniciado,
            c.iniciado,
            c.completado,
            c.sin_datos,
            c.avance_pct if c.with_data else no_data,
        ]
        if previous is not None:
            row += [c.avance_anterior, c.cambio_pct]
        rows.append(row)
    _table_sheet(workbook, text(language, "report.sheets.commitments"), columns, rows, language)


MILESTONE_COLUMNS = {
    "fecha_inicio": ("date", 12),
    "fecha_fin": ("date", 12),
    "compromiso": ("text", 30),
    "hito": ("text", 36),
    **{
        key: ("text", 36 if contract.BY_KEY[key].kind == "text" else 28)
        for key in contract.TEXT_COLUMNS
        if key in contract.FILLED_BY_INSTITUTION
    },
}
"""The milestone sheet's dates and its widest texts; every other column fits its content (up to
``MAX_WIDTH``). Numbers keep the General format: whole percentages show as they are."""


def _milestones(workbook: Workbook, table: pd.DataFrame, language: str) -> None:
    labels = {code: state_label(code, language) for code in ("", *CHART_STATES)}
    no_data = labels[""]
    columns = [
        Column(
            column_label(key, language),
            *MILESTONE_COLUMNS.get(key, ("text", MAX_WIDTH)),
            marks={no_data: "no_data"} if key == contract.STATE else {},
        )
        for key in PUBLISHED_COLUMNS
    ]
    sources = {s: text(language, f"report.source.{s}") for s in SOURCES}
    overdue = {True: _label(language, "overdue_yes"), False: _label(language, "overdue_no")}
    shown = table.assign(
        fecha_inicio=table["fecha_inicio"].map(date.fromisoformat),
        fecha_fin=table["fecha_fin"].map(date.fromisoformat),
        estado=table["estado"].map(labels),
        fuente=table["fuente"].map(sources),
        vencido=table["vencido"].map(overdue),
    )
    rows = _prepared(shown)
    sheet = text(language, "report.sheets.milestones")
    _table_sheet(workbook, sheet, columns, rows, language, prepared=True)


def _institutions(workbook: Workbook, figures: Figures, language: str) -> None:
    def h(key: str) -> str:
        return text(language, f"report_page.columns.{key}")

    columns = [
        Column(h("institution")),
        Column(h("name"), "text", 44),
        Column(h("milestones"), "number", 10),
        Column(h("delivery")),
        Column(h("submissions"), "number", 10),
        Column(h("rejected"), "number", 12),
        Column(h("extended_until"), "date", 14),
    ]
    rows = [
        [
            i.codigo,
            i.nombre,
            i.hitos,
            Delivery(i.estado_entrega).label(language),
            i.envios,
            i.rechazos,
            date.fromisoformat(i.prorroga) if i.prorroga else None,
        ]
        for i in figures.institutions
    ]
    _table_sheet(workbook, text(language, "report.sheets.institutions"), columns, rows, language)


def _dictionary(workbook: Workbook, language: str) -> None:
    columns = [
        Column(text(language, "report.headers.column")),
        Column(text(language, "report.headers.label"), "text", 24),
        Column(text(language, "report.headers.description"), "text", 80),
    ]
    rows = [[key, column_label(key, language), says] for key, says in data_dictionary(language)]
    _table_sheet(workbook, text(language, "report.sheets.dictionary"), columns, rows, language)


def write_xlsx(
    plan: Plan,
    cycle: Cycle,
    table: pd.DataFrame,
    figures: Figures,
    version: int,
    made_on: date,
    path: Path,
    language: str = "es",
) -> None:
    """Write the report's workbook to ``path``."""
    workbook = _workbook()
    _summary(workbook, plan, cycle, figures, version, made_on, language)
    _charts(workbook, cycle, figures, language)
    _commitments(workbook, figures, language)
    _milestones(workbook, table, language)
    _institutions(workbook, figures, language)
    _dictionary(workbook, language)
    workbook.save(path)
