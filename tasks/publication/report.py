"""The published report of a cycle: an HTML page, its PDF, and the open data (CSV, XLSX) behind it.

Institutions' text reaches spreadsheets and browsers here, so two defences live in this module:
text cells that a spreadsheet would run as a formula are neutralised with a leading apostrophe
(CSV and XLSX alike), and the page is rendered with autoescape, institution text never marked
safe, and only plain http(s) evidence URLs turned into links. The PDF is that same page printed
by WeasyPrint (its ``@media print`` rules, tables longer than ``PDF_MAX_ROWS`` left out), with
every resource fetch refused: the page needs none, and a report must never call out while it is
built.
"""

from __future__ import annotations

import logging
import shutil
from copy import copy
from dataclasses import asdict, fields
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter

from tasks.catalogues import text
from tasks.core import contract
from tasks.core.states import Delivery
from tasks.plans.plan import Plan
from tasks.publication.consolidation import (
    COLUMNS,
    COMMITMENT_FORMULA,
    NO_DATA,
    CommitmentFigures,
    Figures,
    InstitutionFigures,
)
from tasks.rendering import render
from tasks.storage.ledger import Cycle

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters that make Excel, LibreOffice or Google Sheets evaluate a cell."""

MAX_WIDTH = 60
DATE_FORMAT = "DD/MM/YYYY"
"""How the XLSX shows its dates (stored as real dates, so they sort and filter as dates)."""
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")
STYLES = ({"font": BOLD}, {"alignment": WRAP}, {"number_format": DATE_FORMAT})
"""Header, long text, dates: the only styled cells of the open data workbook."""

PDF_MAX_ROWS = 200
"""Longest table the PDF prints (about 10 A4 pages of milestones, 3–4 s to print).

WeasyPrint lays out every row, 15–25 ms each here: 20,000 milestone rows would be about
1,000 pages and many minutes, and 400 commitments (chart and table) took 10 s. A longer table
is left out of the PDF with a line saying where it is (the page, the XLSX and the CSV hold
every row); the summary figures are always printed.
"""

KINDS = ("html", "pdf", "csv", "xlsx")
"""The files of every report version, each also copied to ``latest/``."""


def source_label(source: str, language: str) -> str:
    """How the page names the ``fuente`` of a row."""
    return text(language, f"report.source.{source}")


def state_label(code: str, language: str) -> str:
    """A state code of the table as people read it; ``no_data`` or blank as «Sin datos»."""
    if not code or code == NO_DATA:
        return text(language, "report.no_data")
    return contract.state_label(code, language)


def data_dictionary(language: str) -> list[tuple[str, str]]:
    """Every column of the consolidated table with its meaning, published beside the data."""
    states = contract.state_labels(language)
    listed = contract.listed(states, text(language, "workbook.list_or"))
    completed = contract.BY_STATE[contract.COMPLETED].label(language)
    return [
        (name, text(language, f"report.dictionary.{name}", states=listed, completed=completed))
        for name in COLUMNS
    ]


def published(table: pd.DataFrame, language: str) -> pd.DataFrame:
    """The table as published: states by their label in the report's language (the ledger and
    the table keep codes); a milestone never reported keeps a blank state."""
    shown = table.copy()
    labels = {code: contract.state_label(code, language) for code in contract.STATE_CODES}
    shown[contract.STATE] = shown[contract.STATE].map(lambda code: labels.get(code, code))
    return shown


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula, prefixed with ``'``; anything else as is.

    The apostrophe stays visible in the cell: the reader sees the institution's text exactly,
    preceded by ``'``, and no spreadsheet evaluates it (OWASP's advice against CSV injection).
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _neutralised(table: pd.DataFrame) -> pd.DataFrame:
    safe = table.copy()
    for column in safe.columns:
        if pd.api.types.is_bool_dtype(safe[column]):
            safe[column] = safe[column].map({True: "true", False: "false"})
        elif pd.api.types.is_string_dtype(safe[column]):
            # neutralise, by column: a map per cell was half the time of writing 80,000 rows
            text = safe[column]
            risky = text.str.startswith(FORMULA_TRIGGERS, na=False)
            if risky.any():
                safe[column] = text.where(~risky, "'" + text[risky])
    return safe


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """UTF-8 without BOM, ``\\n`` line ends, no timestamp: the same ledger gives the same bytes.

    Typed as the data package's schema says (``tasks/publication/datapackage.py``): booleans
    ``true`` and
    ``false``, dates ISO 8601, numbers with a decimal point, missing values empty.
    """
    text = _neutralised(table).to_csv(index=False, lineterminator="\n", float_format="%g")
    path.write_bytes(text.encode("utf-8"))


def _cell(value: Any) -> Any:
    """A value openpyxl stores as data: NA as empty, numpy scalars as Python, text neutralised."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    return neutralise(value)


def _sheet(workbook: Workbook, title: str, header: list[str], rows: list[list[Any]]) -> None:
    """A sheet with a bold frozen header, a filter and widths that fit its content.

    The workbook is write-only (rows streamed to the file, 20,000 rows in a fraction of the
    normal mode's time), so widths are measured before the rows are written.
    """
    sheet: Any = workbook.create_sheet(title)
    values = [[_cell(v) for v in row] for row in rows]
    longest = [
        max(len(str(v)) if v is not None else 0 for v in column)
        for column in zip(header, *values, strict=True)
    ]
    for index, length in enumerate(longest, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(length + 2, MAX_WIDTH)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(values) + 1}"
    bold, wrap, dated = (_style(sheet, **style) for style in STYLES)
    sheet.append([_styled(sheet, name, bold) for name in header])
    wrapped = {i for i, length in enumerate(longest) if length > MAX_WIDTH}
    for row in values:
        sheet.append(
            [
                _styled(sheet, v, wrap)
                if i in wrapped
                else _styled(sheet, v, dated)
                if isinstance(v, date)
                else v
                for i, v in enumerate(row)
            ]
        )


def _style(sheet: Any, **style: Any) -> StyleArray:
    """A cell style registered once with the workbook (setting a font or alignment on each cell
    hashes it against the workbook's list: a third of the XLSX's time at 20,000 rows)."""
    cell = WriteOnlyCell(sheet)
    for name, setting in style.items():
        setattr(cell, name, setting)
    return cell._style


def _styled(sheet: Any, value: Any, style: StyleArray) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet)
    cell._style = copy(style)
    cell.value = value  # after the style: a date in a General cell still gets a date format
    return cell


def _summary_rows(
    plan: Plan,
    cycle: Cycle,
    figures: Figures,
    version: int,
    submissions: list[int],
    language: str,
) -> list[list[Any]]:
    def label(key: str, **values: Any) -> str:
        return text(language, f"report.summary.{key}", **values)

    return [
        [label("plan"), plan.name],
        [label("cycle"), cycle.id],
        [label("deadline"), cycle.deadline],
        [label("version"), version],
        [label("milestones"), figures.milestones],
        [label("headline"), figures.headline],
        *[
            [label("state", state=state_label(state, language)), count]
            for state, count in figures.counts.items()
        ],
        [label("overdue"), figures.overdue],
        [label("changed"), figures.changed],
        [label("used"), ", ".join(str(s) for s in submissions)],
        [label("formula"), text(language, COMMITMENT_FORMULA)],
        [label("note"), label("note_text")],
    ]


def _write_xlsx(
    plan: Plan,
    cycle: Cycle,
    table: pd.DataFrame,
    figures: Figures,
    version: int,
    submissions: list[int],
    path: Path,
    language: str = "es",
) -> None:
    def name(key: str) -> str:
        return text(language, f"report.sheets.{key}")

    def header(key: str) -> str:
        return text(language, f"report.headers.{key}")

    workbook = Workbook(write_only=True)
    summary = _summary_rows(plan, cycle, figures, version, submissions, language)
    _sheet(workbook, name("summary"), [header("indicator"), header("value")], summary)
    commitment_header = [f.name for f in fields(CommitmentFigures)]
    commitments = [list(asdict(c).values()) for c in figures.commitments]
    _sheet(workbook, name("commitments"), commitment_header, commitments)
    shown = published(table, language)
    dated = shown.assign(
        fecha_inicio=shown["fecha_inicio"].map(date.fromisoformat),
        fecha_fin=shown["fecha_fin"].map(date.fromisoformat),
    )
    _sheet(workbook, name("milestones"), list(table.columns), dated.astype(object).values.tolist())
    institution_header = [f.name for f in fields(InstitutionFigures)]
    institutions = [
        list(asdict(i, dict_factory=lambda items: dict(_delivery(items, language))).values())
        for i in figures.institutions
    ]
    _sheet(workbook, name("institutions"), institution_header, institutions)
    dictionary = [list(entry) for entry in data_dictionary(language)]
    _sheet(workbook, name("dictionary"), [header("column"), header("description")], dictionary)
    workbook.save(path)


def _delivery(items: list[tuple[str, Any]], language: str) -> list[tuple[str, Any]]:
    """An institution's figures with its delivery by its label."""
    return [
        (name, Delivery(value).label(language) if name == "estado_entrega" else value)
        for name, value in items
    ]


def evidence_link(url: str) -> str | None:
    """The URL when it is a plain http(s) address worth a link; None otherwise (shown as text)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def page_rows(table: pd.DataFrame, language: str = "es") -> list[SimpleNamespace]:
    """Table rows for the template: NA as None, dates parsed, evidence links checked.

    Namespaces rather than dicts: Jinja looks ``r.hito`` up as an attribute first, and 20,000
    rows × a dozen failed attribute lookups were a third of the page's rendering time.
    """
    records = table.astype(object).where(table.notna(), None).to_dict("records")
    return [
        SimpleNamespace(
            **row,
            inicio=date.fromisoformat(row["fecha_inicio"]),
            fin=date.fromisoformat(row["fecha_fin"]),
            estado_texto=state_label(row["estado"], language),
            estado_clase=(row["estado"] or NO_DATA).replace("_", "-"),
            enlace=evidence_link(row["evidencia_url"]),
            fuente_texto=source_label(row["fuente"], language),
        )
        for row in records
    ]


def _used(table: pd.DataFrame, submissions: list[int], language: str) -> list[dict[str, Any]]:
    """Each submission used, with the institution and source it stands for in the table."""
    groups = table.dropna(subset=["envio"]).groupby("envio")
    institutions = groups["institucion"].agg(lambda names: ", ".join(sorted(set(names))))
    sources = groups["fuente"].agg(
        lambda found: ", ".join(sorted({source_label(f, language).lower() for f in found}))
    )
    return [
        {
            "id": submission,
            "institucion": institutions.get(submission, ""),
            "fuente": sources.get(submission, ""),
        }
        for submission in submissions
    ]


def _changes(rows: list[SimpleNamespace]) -> list[SimpleNamespace]:
    """Rows whose progress moved since the previous cycle, largest move first, then plan order."""
    moved = [r for r in rows if r.cambio_pct is not None and r.cambio_pct != 0]
    return sorted(moved, key=lambda r: -abs(r.cambio_pct))


def _page_context(
    plan: Plan,
    cycle: Cycle,
    table: pd.DataFrame,
    figures: Figures,
    version: int,
    submissions: list[int],
    language: str,
) -> dict[str, Any]:
    """What ``report.html`` shows, computed once for the page and for the PDF."""
    rows = page_rows(table, language)
    return {
        "plan": plan,
        "cycle": cycle,
        "figures": figures,
        "rows": rows,
        "changes": _changes(rows),
        "compared": any(r.avance_anterior is not None for r in rows),
        "formula": text(language, COMMITMENT_FORMULA),
        "version": version,
        "submissions": _used(table, submissions, language),
    }


def _everything(items: list[Any]) -> bool:
    return True


def _printable(items: list[Any]) -> bool:
    return len(items) <= PDF_MAX_ROWS


def print_pdf(html: Path, path: Path) -> None:
    """The page as printed (A4 landscape, ``@media print``), through WeasyPrint, offline."""
    _print(html.read_text(encoding="utf-8"), path)


def _without_packaging_advice(record: logging.LogRecord) -> bool:
    """Drop WeasyPrint's advice to install HarfBuzz-Subset: fontTools, its fallback, subsets the
    fonts correctly here, and the line only alarms the people running a cycle."""
    return not record.getMessage().startswith("Using fontTools instead of HarfBuzz-Subset")


def _print(page: str, path: Path) -> None:
    logging.getLogger("weasyprint").addFilter(_without_packaging_advice)
    try:  # imported here: WeasyPrint loads the system's Pango, which only this step needs
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher
    except OSError as error:
        raise RuntimeError(
            "the report PDF needs the Pango library: apt-get install libpango-1.0-0 "
            f"libpangoft2-1.0-0 ({error})"
        ) from error
    offline = URLFetcher(allowed_protocols=frozenset())  # every fetch refused
    HTML(string=page, url_fetcher=offline, media_type="print").write_pdf(path)


def report_name(plan: Plan, cycle_id: str, kind: str) -> str:
    """The Hitos-made name of a report file: ``gt-pan5-2023-03.pdf``."""
    return f"{plan.id}-{cycle_id}.{kind}"


def write_report(
    plan: Plan,
    cycle: Cycle,
    table: pd.DataFrame,
    figures: Figures,
    folder: Path,
    version: int,
    submissions: list[int],
    language: str = "es",
) -> dict[str, Path]:
    """Write ``v{version}/{plan}-{cycle}.{html,pdf,csv,xlsx}`` and copy them to ``latest/``,
    in ``language`` (the data keep their column keys; states appear by their label)."""
    versioned = folder / f"v{version}"
    latest = folder / "latest"
    versioned.mkdir(parents=True, exist_ok=True)
    latest.mkdir(parents=True, exist_ok=True)
    paths = {kind: versioned / report_name(plan, cycle.id, kind) for kind in KINDS}
    context = _page_context(plan, cycle, table, figures, version, submissions, language)
    page = render("report.html", language, shown=_everything, **context)
    paths["html"].write_text(page, "utf-8")
    _print(render("report.html", language, shown=_printable, **context), paths["pdf"])
    write_csv(published(table, language), paths["csv"])
    _write_xlsx(plan, cycle, table, figures, version, submissions, paths["xlsx"], language)
    for kind, path in list(paths.items()):
        paths[f"latest_{kind}"] = Path(shutil.copyfile(path, latest / path.name))
    return paths
