"""Reading returned workbooks: .xlsx, .xlsm, .xls, .ods and .csv into one table of rows.

The one place that knows file formats. It decides by content (zip, OLE or text), never runs
macros or formulas (python-calamine reads the values Excel cached), and tolerates what real
offices send: title rows above the header, renamed or accented headers, blank rows and
columns, states in any case, ``50%`` or ``50,0``, ``dd/mm/yyyy`` dates, codes that a
spreadsheet turned into numbers, CSV with ``;`` and Latin-1. Judging the values is the
validator's job: this module only reports files it cannot open (``UnreadableFile``) and
file-level problems (a missing sheet, header or column) as findings.
"""

from __future__ import annotations

import codecs
import csv
import math
import re
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime
from io import BytesIO, StringIO
from itertools import islice
from pathlib import PurePath
from typing import Any
from zipfile import BadZipFile, ZipFile

import numpy as np
import pandas as pd
from python_calamine import (
    CalamineWorkbook,
    PasswordError,
    SheetTypeEnum,
    SheetVisibleEnum,
)

from tasks.catalogues import text
from tasks.core import contract
from tasks.core.contract import (
    CODE,
    EVIDENCE,
    HEADER_SEARCH_ROWS,
    META_SHEET,
    PROGRESS,
    STATE,
)
from tasks.core.findings import Finding, finding
from tasks.workbooks.hyperlinks import web_links
from tasks.workbooks.limits import Budget, LimitExceeded, Limits

ROW_COLUMNS = ["fila", *contract.READ, "codigo_numerico", "avance_raw"]
# An .xlsx is a zip: its declared content is checked before any parser inflates it.
MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 100
RATIO_FLOOR = 10 * 1024 * 1024  # below this, any ratio is harmless

# Why a file cannot be opened: codes of the catalogues' ``unreadable.<code>`` clauses.
NOT_A_SPREADSHEET = "not-a-spreadsheet"
DAMAGED = "damaged"
PROTECTED = "protected"
TOO_BIG = "much-larger-than-the-template"

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_OTHER_MAGIC = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"{\\rtf")
_WEB = ("http://", "https://")
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
_SEPARATORS = (";", ",", "\t")
# A row with none of these is a note or a signature line under the table, not a milestone.
_REPORTED = (CODE, *contract.FILLED_BY_INSTITUTION)
_DATES = contract.DATE_COLUMNS
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)")
_CODE_AS_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_DAY_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?:[ T].*)?")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?")

Grid = list[list[object]]


class UnreadableFile(Exception):
    """A file that cannot be opened at all; ``code`` names why (``unreadable.<code>`` in the
    catalogues is the clause the liaison reads).

    ``rule`` is the finding it becomes, with ``details`` for its message.
    """

    def __init__(self, code: str, rule: str = "file-unreadable", **details: str) -> None:
        super().__init__(code)
        self.code = code
        self.rule = rule
        self.details: dict[str, Any] = details

    def reason_in(self, language: str) -> str:
        """Why, as one clause in the liaison's language."""
        return text(language, f"unreadable.{self.code}", **self.details)

    @property
    def reason(self) -> str:
        return self.reason_in("es")


@dataclass
class ReadResult:
    """The contract sheet's rows, the ``_meta`` values and file-level findings.

    ``rows`` has the ``ROW_COLUMNS``, one row per data row that reports anything: ``fila`` is
    the 1-based row in the sheet (the record number in a CSV); text columns are trimmed ``str``
    (``''`` when blank); ``estado`` is canonical when recognised; ``avance_pct`` is a float or
    NaN and ``avance_raw`` the text typed in that cell (``''`` for a number or a blank cell);
    ``codigo_numerico`` says the code may have lost digits as a number; dates are ``date`` or
    None. ``meta`` is empty for a CSV. ``findings`` use the rules ``sheet-missing``,
    ``header-missing`` and ``column-missing``.
    """

    rows: pd.DataFrame
    meta: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    header_row: int | None = None
    """The header's 1-based row in the sheet (None: no header found)."""
    positions: dict[str, int] = field(default_factory=dict)
    """Each contract column's 1-based position in the header row: with ``header_row``, where a
    finding's cell is (``contract.finding_cell``)."""


def read_submission(
    data: bytes,
    filename: str,
    max_bytes: int = 10 * 1024 * 1024,
    limits: Limits | None = None,
) -> ReadResult:
    """The rows of a returned workbook; raises ``UnreadableFile`` only when it cannot be opened
    or passes one of the ``limits`` (rows, columns, cells, seconds), checked while reading.

    ``filename`` is a hint: the content decides the format. A text file is read as CSV when its
    name says so or when it has the contract's header.
    """
    limits = limits or Limits()
    try:
        return _read(data, filename, max_bytes, limits, Budget(limits.seconds))
    except LimitExceeded as exc:
        raise UnreadableFile(TOO_BIG, exc.rule, **exc.details) from exc


def _read(data: bytes, filename: str, max_bytes: int, limits: Limits, budget: Budget) -> ReadResult:
    if not data:
        raise UnreadableFile("empty")
    if len(data) > max_bytes:
        size, limit = _megabytes(len(data)), _megabytes(max_bytes)
        raise UnreadableFile(
            "too-large",
            "file-too-large",
            size_mb=size,
            limit_mb=limit,
        )
    if data.startswith(_ZIP_MAGIC):
        _check_zip(data, limits)
        return _read_workbook(data, limits, budget)
    if data.startswith(_OLE_MAGIC):
        _check_ole(data)
        return _read_workbook(data, limits, budget)
    text = _decode(data)
    if text is None:
        raise UnreadableFile(NOT_A_SPREADSHEET)
    grid = _csv_grid(text, limits)
    budget.check()
    named_as_text = PurePath(filename).suffix.lower() in _TEXT_SUFFIXES
    if contract.find_header(grid) is None and not named_as_text:
        raise UnreadableFile(NOT_A_SPREADSHEET)
    return _result(grid, {}, from_text=True)


def normalise_state(value: str) -> str:
    """The state's code (``started``) when recognised, else the trimmed value: see
    ``contract.state_code`` (case, accents, any language's label, ``En proceso``)."""
    return contract.state_code(value)


def parse_percent(value: object) -> float | None:
    """A progress value as a number: ``50``, ``"50%"``, ``"50,0"``, ``"50.0"``; else None.

    Numbers are taken literally: a cell formatted as a percentage holds 0.5 for "50 %", and the
    value cannot tell that format apart (the template's cells are whole numbers 0–100), so 0.5
    stays 0.5 and the validator says it is not a whole number.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) else None
    if not isinstance(value, str):
        return None
    text = "".join(value.split()).removesuffix("%").removeprefix("%")
    if not _NUMBER.fullmatch(text):
        return None
    return float(text.replace(",", "."))


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}".removesuffix(".0").replace(".", ",")


def _check_zip(data: bytes, limits: Limits) -> None:
    """Reject a zip that is corrupt, encrypted, not a spreadsheet, or inflates to far more than
    it weighs (judged on the sizes it declares, before anything is inflated)."""
    try:
        with ZipFile(BytesIO(data)) as archive:
            members = archive.infolist()
            if any(m.flag_bits & 1 for m in members):  # zip-level password (7-Zip, WinRAR)
                raise UnreadableFile(PROTECTED)
            total = sum(m.file_size for m in members)
            if total > MAX_UNCOMPRESSED or (total > RATIO_FLOOR and total > MAX_RATIO * len(data)):
                raise UnreadableFile("inflates-too-much")
            names = {m.filename for m in members}
            mimetype = archive.open("mimetype").read(100) if "mimetype" in names else b""
            limits.check_xlsx(archive)
    except (BadZipFile, OSError, EOFError, ValueError, NotImplementedError, zlib.error) as exc:
        raise UnreadableFile(DAMAGED) from exc
    if names & {"xl/workbook.xml", "xl/workbook.bin"}:
        return
    if mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
        return
    if any(PurePath(n).suffix.lower() in (".xlsx", ".xlsm", ".xls", ".csv") for n in names):
        raise UnreadableFile("zip-archive")
    raise UnreadableFile(NOT_A_SPREADSHEET)


def _check_ole(data: bytes) -> None:
    """Reject an OLE file that is an encrypted .xlsx or not a workbook (a .doc, a .msg).

    OLE directory entries hold their names in UTF-16; an encrypted OOXML file is an OLE
    container with an ``EncryptedPackage`` stream.
    """
    if "EncryptedPackage".encode("utf-16-le") in data:
        raise UnreadableFile(PROTECTED)
    if not any(name.encode("utf-16-le") in data for name in ("Workbook", "Book")):
        raise UnreadableFile(NOT_A_SPREADSHEET)


def _read_workbook(data: bytes, limits: Limits, budget: Budget) -> ReadResult:
    """The contract sheet of a workbook (.xlsx, .xlsm, .xls, .ods) and its ``_meta`` sheet."""
    # calamine fails in many ways on damaged files (zip, XML, BIFF errors): all mean "damaged".
    try:
        book = CalamineWorkbook.from_filelike(BytesIO(data))
        sheets = book.sheets_metadata
        hitos = next((s.name for s in sheets if contract.is_sheet(s.name, "milestones")), None)
        meta_name = next((s.name for s in sheets if _same_sheet(s.name, META_SHEET)), None)
        meta = _meta(_grid(book, meta_name, limits=limits)) if meta_name else {}
        if hitos is None:
            visible = [
                s.name
                for s in sheets
                if s.typ == SheetTypeEnum.WorkSheet and s.visible == SheetVisibleEnum.Visible
            ]
            with_header = [
                n
                for n in visible
                if contract.find_header(_grid(book, n, HEADER_SEARCH_ROWS)) is not None
            ]
            hitos = with_header[0] if len(with_header) == 1 else None
        grid = _grid(book, hitos, limits=limits) if hitos else None
        if grid is not None and data.startswith(_ZIP_MAGIC):
            _follow_evidence_links(grid, web_links(data, hitos or ""))
        budget.check()
    except PasswordError as exc:
        raise UnreadableFile(PROTECTED) from exc
    except LimitExceeded:
        raise
    except Exception as exc:
        raise UnreadableFile(DAMAGED) from exc
    if grid is None:
        return ReadResult(_frame([]), meta, [finding("sheet-missing")])
    return _result(grid, meta, from_text=False)


def _follow_evidence_links(grid: Grid, links: dict[tuple[int, int], str]) -> None:
    """An evidence cell linked to a web address under a text of the liaison's own («Acta de la
    sesión», Ctrl+K) reads as that address: the evidence is where the link points."""
    found = contract.find_header(grid) if links else None
    if found is None or EVIDENCE not in found[1]:
        return
    header, columns = found
    column = columns[EVIDENCE]
    for (row, at), url in links.items():
        if at != column or row <= header or row >= len(grid) or column >= len(grid[row]):
            continue
        shown = grid[row][column]
        if not (isinstance(shown, str) and shown.strip().lower().startswith(_WEB)):
            grid[row][column] = url


def _same_sheet(name: str, wanted: str) -> bool:
    return name.strip().casefold() == wanted.casefold()


def _grid(
    book: CalamineWorkbook, name: str, nrows: int | None = None, limits: Limits | None = None
) -> Grid:
    """A sheet's cells from A1 (blank leading rows and columns kept, so positions are real);
    its size checked against ``limits`` before any cell becomes a Python object."""
    sheet = book.get_sheet_by_name(name)
    if limits is not None:
        limits.check_sheet(sheet.height, sheet.width)
        limits.check_cells(sheet.height * sheet.width)
    rows = sheet.to_python(skip_empty_area=False, nrows=nrows)
    return [list(row) for row in rows]


def _meta(grid: Grid) -> dict[str, str]:
    """Key/value pairs of the ``_meta`` sheet (keys in column A, values in column B)."""
    pairs = ((_text(row[0]), _text(row[1]) if len(row) > 1 else "") for row in grid if row)
    return {key: value for key, value in pairs if key}


def _decode(data: bytes) -> str | None:
    """The file as text (UTF-8 with or without BOM, UTF-16 with BOM, else cp1252/Latin-1);
    None when it is binary."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if data.startswith(_OTHER_MAGIC) or b"\x00" in data[:8192]:
        return None
    text: str | None = None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        text = data.decode("latin-1")
    sample = text[:8192]
    controls = sum(1 for c in sample if c < " " and c not in "\t\r\n\f")
    return None if controls > len(sample) // 100 else text


def _csv_grid(text: str, limits: Limits | None = None) -> Grid:
    """CSV records as rows, split on the separator (``;``, ``,``, tab) that reveals the header.

    Records are read one by one and reading stops past ``limits``: a million-row file is
    refused after its first thousand records, not parsed whole.
    """
    limits = limits or Limits()

    first = next((line for line in text.splitlines() if line.strip()), "")

    def score(separator: str) -> tuple[int, int]:
        reader = csv.reader(StringIO(text, newline=""), delimiter=separator)
        head = list(islice(reader, HEADER_SEARCH_ROWS))
        found = contract.find_header([list(record) for record in head])
        return (len(found[1]) if found else 0, first.count(separator))

    # csv refuses fields over 128 KB: no CSV of ours has one.
    try:
        separator = max(_SEPARATORS, key=score)
        grid: Grid = []
        cells = 0
        for record in csv.reader(StringIO(text, newline=""), delimiter=separator):
            grid.append(list(record))
            cells += len(record)
            limits.check_sheet(len(grid), len(record))
            limits.check_cells(cells)
        return grid
    except csv.Error as exc:
        raise UnreadableFile(NOT_A_SPREADSHEET) from exc


def _result(grid: Grid, meta: dict[str, str], *, from_text: bool) -> ReadResult:
    """The rows under the header, or the finding that says why there are none."""
    found = contract.find_header(grid)
    if found is None:
        return ReadResult(_frame([]), meta, [finding("header-missing")])
    header, columns = found
    problems = [
        finding("column-missing", column=name) for name in contract.REQUIRED if name not in columns
    ]
    records = []
    for index in range(header + 1, len(grid)):
        cells = grid[index]
        values = {name: cells[at] for name, at in columns.items() if at < len(cells)}
        if any(_text(values.get(name)) for name in _REPORTED):
            records.append(_record(index + 1, values, from_text))
    positions = {name: at + 1 for name, at in columns.items()}
    return ReadResult(_frame(records), meta, problems, header + 1, positions)


def _record(fila: int, values: dict[str, object], from_text: bool) -> dict[str, object]:
    """One data row in the shape of ``ROW_COLUMNS``."""
    code, numeric = _code(values.get(CODE), from_text)
    progress = values.get(PROGRESS)
    percent = parse_percent(progress)
    record: dict[str, object] = {name: _text(values.get(name)) for name in contract.TEXT_COLUMNS}
    record.update({name: _date(values.get(name)) for name in _DATES})
    record.update(
        {
            "fila": fila,
            CODE: code,
            "codigo_numerico": numeric,
            STATE: contract.state_code(_text(values.get(STATE))),
            PROGRESS: math.nan if percent is None else percent,
            "avance_raw": progress.strip() if isinstance(progress, str) else "",
        }
    )
    return record


_TYPED = {"fila": np.int64, PROGRESS: np.float64, "codigo_numerico": np.bool_}  # in row order
_OBJECT_COLUMNS = [name for name in ROW_COLUMNS if name not in _TYPED]


def _frame(records: list[dict[str, object]]) -> pd.DataFrame:
    """The rows as a frame: one object block (no string inference) plus three typed columns.

    Building it from records and then ``astype`` took most of the reader's time (12 ms for a
    20-row file); this takes under 2 ms, with the same columns and dtypes.
    """
    grid = np.empty((len(records), len(_OBJECT_COLUMNS)), dtype=object)
    for index, record in enumerate(records):
        grid[index] = [record[name] for name in _OBJECT_COLUMNS]
    frame = pd.DataFrame(grid, columns=_OBJECT_COLUMNS, dtype=object, copy=False)
    for name, kind in _TYPED.items():
        values: np.ndarray = np.array([record[name] for record in records], dtype=kind)
        frame.insert(ROW_COLUMNS.index(name), name, values)
    return frame


def _code(value: object, from_text: bool) -> tuple[str, bool]:
    """The milestone code as text, and whether a spreadsheet may have turned it into a number.

    A number cell (4.2, 10) is one; so is a CSV value that reads as a number, since CSV files
    are exported from spreadsheets (``4,2`` with a decimal comma becomes ``4.2``). The plan, not
    this module, says which code was meant.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _text(value), True
    text = _text(value)
    if from_text and _CODE_AS_NUMBER.fullmatch(text):
        return text.replace(",", "."), True
    return text, False


def _text(value: object) -> str:
    """A cell as trimmed text: numbers without a spurious ``.0``, dates as dd/mm/yyyy."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime | date):
        return value.strftime("%d/%m/%Y")
    return str(value).strip()


def _date(value: object) -> date | None:
    """A date cell, or text as dd/mm/yyyy (also ``-`` or ``.``, two-digit years) or ISO."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if match := _DAY_FIRST.fullmatch(text):
        day, month, year = (int(part) for part in match.groups())
        year += 2000 if year < 100 else 0
    elif match := _ISO.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None
