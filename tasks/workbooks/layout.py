"""The request workbook's layout and looks, shared by the builder and the marker.

Where the header is, how a cell to fill and a locked cell look, how tall a row of wrapped text
is, how a sheet prints, and where the contract's columns are on a sheet (found with the reader's
own header matcher). The columns themselves, their order and widths, are the contract's
(``tasks.core.contract``).
"""

from __future__ import annotations

from functools import lru_cache

from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from tasks.core import contract

HEADER_ROW = 6
"""The header's row: the institution, cycle and deadline are written above it."""
FIRST_ROW = HEADER_ROW + 1
"""The first milestone's row."""
TITLE_COLUMN = next(n for n, c in enumerate(contract.COLUMNS, start=1) if not c.hidden)
"""Where the title block is written: the first column the liaison sees."""

FONT = "Calibri"  # named on every font: LibreOffice draws a nameless one in its serif default
SIZE = 11  # and sized: LibreOffice drew a font without a size at 10 pt beside the 11 pt cells
_THIN = Side(style="thin", color="BFBFBF")
_DARK = Side(style="thin", color="595959")
LOCKED_FILL = PatternFill("solid", fgColor="F2F2F2")
LOCKED_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
LOCKED_FONT = Font(name=FONT, size=SIZE, color="404040")
OPEN_FILL = PatternFill("solid", fgColor="FFFFFF")
OPEN_BORDER = Border(left=_DARK, right=_DARK, top=_DARK, bottom=_DARK)
HEADER_FONT = Font(name=FONT, size=SIZE, bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
LOCKED_HEADER_FILL = PatternFill("solid", fgColor="D9D9D9")
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
WARNING_FILL = PatternFill("solid", fgColor="FFEB9C")
WRAP = Alignment(wrap_text=True, vertical="top")
CENTRED = Alignment(horizontal="center", vertical="top")

LINE_HEIGHT = 15  # points, for the default 11 pt font
# Characters of ordinary text per unit of column width (a unit is one digit, 7 px of Calibri
# 11). The sample plan's texts measure 6.0 px a character in Carlito (Calibri's metrics), 6.2 at
# most; LibreOffice wrapped them at 1.2 characters a unit (36 in a 30-unit column). 1.15 keeps
# a little room for wider text. A font without Calibri's metrics (DejaVu Sans: 7.4 px) needs
# more lines than this gives: the row then grows once its text is edited.
CHARS_PER_WIDTH = 1.15
_A4 = 9  # openpyxl's paperSize code for A4


def put(cell: Cell, value: object) -> Cell:
    """Write a value; text stays text even if it starts with "=" (openpyxl makes formulas)."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def style_header(cell: Cell, column: contract.Column) -> None:
    """A header label: blue over the columns to fill, grey over the locked ones."""
    to_fill = column.filled_by == "institution"
    cell.font = HEADER_FONT
    cell.fill = HEADER_FILL if to_fill else LOCKED_HEADER_FILL
    cell.border = OPEN_BORDER if to_fill else LOCKED_BORDER
    cell.alignment = Alignment(wrap_text=True, vertical="center")


def style_cell(cell: Cell, column: contract.Column) -> None:
    """A cell to fill is white with a dark border and unlocked; a pre-filled one grey, locked."""
    cell.alignment = WRAP
    if column.filled_by == "institution":
        cell.fill = OPEN_FILL
        cell.border = OPEN_BORDER
        cell.protection = Protection(locked=False)
    else:
        cell.fill = LOCKED_FILL
        cell.border = LOCKED_BORDER
        cell.font = LOCKED_FONT


def cell_fill(column: contract.Column) -> PatternFill:
    """The fill a data cell of the column has before anything is marked on it."""
    return OPEN_FILL if column.filled_by == "institution" else LOCKED_FILL


def print_one_page_wide(sheet: Worksheet, orientation: str) -> None:
    sheet.page_setup.orientation = orientation
    sheet.page_setup.paperSize = _A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.6)


def lines(value: object, width: float) -> int:
    """The lines a value takes wrapped in a column ``width`` units wide, words kept whole."""
    per_line = max(1, int(width * CHARS_PER_WIDTH))
    text = "" if value is None else str(value)
    if len(text) <= per_line and "\n" not in text:
        return 1  # most cells: codes, dates, states, numbers
    return _wrapped_lines(text, per_line)


@lru_cache(maxsize=4096)
def _wrapped_lines(text: str, per_line: int) -> int:
    """Cached: the instructions' lines and a plan's texts recur in every institution's file."""
    return sum(_wrapped(paragraph, per_line) for paragraph in text.split("\n"))


def _wrapped(paragraph: str, per_line: int) -> int:
    """Lines of one paragraph wrapped greedily at spaces; a word longer than a line (a link)
    is broken across lines, as spreadsheets do."""
    count, used = 1, 0
    for word in paragraph.split():
        if used and used + 1 + len(word) > per_line:
            count, used = count + 1, 0
        elif used:
            used += 1
        end = used + len(word) - 1
        count += end // per_line
        used = end % per_line + 1
    return count


def row_height(values: list[object], widths: list[float]) -> float | None:
    """The height a row of wrapped text needs to show all of it when the file opens, or None for
    one line. Written as a row's height but never as a custom one, so Excel and LibreOffice
    grow the row again when the liaison types more (a custom height cut long titles)."""
    needed = max(lines(value, width) for value, width in zip(values, widths, strict=True))
    return LINE_HEIGHT * needed if needed > 1 else None


def fit_rows(sheet: Worksheet, first_row: int = 1) -> None:
    """Give rows of wrapped text the height they need: LibreOffice shows them one line high."""
    widths: dict[str, float] = {}
    for row in sheet.iter_rows(min_row=first_row):
        needed = 1
        for cell in row:
            letter = cell.column_letter
            if letter not in widths:
                widths[letter] = sheet.column_dimensions[letter].width
            needed = max(needed, lines(cell.value, widths[letter]))
        if needed > 1:
            sheet.row_dimensions[row[0].row].height = LINE_HEIGHT * needed


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
