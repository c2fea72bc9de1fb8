"""Request workbooks at scale: styled once by openpyxl, then filled per institution as XML.

openpyxl spent most of a workbook's 10 ms hashing styles and writing each sheet through a
temporary file; 1,000 institutions took 9.6 s. A template (one workbook built and styled by
``tasks.workbooks.building`` with openpyxl) is taken apart once per cycle and language; each
institution's file is the template's zip with its three sheets' rows written directly, using the
style ids openpyxl gave the template's cells. Everything else (styles, validations' texts,
protection, print set-up, the workbook's structure) is the template's, byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO
from xml.sax.saxutils import escape
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from openpyxl.utils import get_column_letter

_EPOCH = date(1899, 12, 30)  # day 0 of Excel's 1900 date system, as openpyxl writes it
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SHEET_DATA = re.compile(r"<sheetData>.*</sheetData>|<sheetData/>", re.S)
_DIMENSION = re.compile(r'<dimension ref="[^"]*"/>')
_TITLE = re.compile(r"(<dc:title[^>]*>)[^<]*(</dc:title>)")


@dataclass(frozen=True)
class Row:
    """One row to write: its cells (value, style id) from column A, and the height it opens
    with, if not one line (never a custom height: the row grows as the liaison types)."""

    cells: Sequence[tuple[object, int | None]]
    height: float | None = None


@dataclass(frozen=True)
class Template:
    """The template's zip entries and where each institution's rows go."""

    parts: dict[str, bytes]
    milestones: str
    instructions: str
    meta: str
    header: str
    """The header row of the milestones' sheet as openpyxl wrote it (the same for everyone)."""
    header_row: int

    @classmethod
    def from_xlsx(cls, data: bytes, sheets: tuple[str, str, str], header_row: int) -> Template:
        """Take a template workbook apart; ``sheets`` are its three sheets' part names."""
        with ZipFile(BytesIO(data)) as archive:
            parts = {name: archive.read(name) for name in archive.namelist()}
        milestones = parts[sheets[0]].decode("utf-8")
        found = re.search(rf'<row r="{header_row}"[ >].*?</row>', milestones, re.S)
        if found is None:
            raise ValueError(f"the template has no header row {header_row}")
        return cls(parts, *sheets, found.group(0), header_row)

    def fill(
        self,
        milestones: list[Row],
        instructions: list[Row],
        meta: list[Row],
        title: str,
        stamp: datetime,
    ) -> bytes:
        """The workbook with these rows (each list from row 1; in ``milestones`` the header's
        row is written as the template has it)."""
        sheets = {
            self.milestones: self._sheet(self.milestones, milestones, len(milestones)),
            self.instructions: self._sheet(self.instructions, instructions, 0),
            self.meta: self._sheet(self.meta, meta, 0),
        }
        buffer = BytesIO()
        moment = (stamp.year, stamp.month, stamp.day, 0, 0, 0)
        with ZipFile(buffer, "w", ZIP_DEFLATED) as archive:
            for name, content in self.parts.items():
                if name in sheets:
                    content = sheets[name].encode("utf-8")
                elif name == "docProps/core.xml":
                    text = content.decode("utf-8")
                    content = _TITLE.sub(rf"\g<1>{escape(title)}\g<2>", text).encode("utf-8")
                info = ZipInfo(name, date_time=moment)
                # The fastest level: at 20 rows a workbook is a few KB either way.
                archive.writestr(info, content, ZIP_DEFLATED, compresslevel=1)
        return buffer.getvalue()

    def _sheet(self, part: str, rows: list[Row], last_data_row: int) -> str:
        source = self.parts[part].decode("utf-8")
        body = []
        width = 1
        for number, row in enumerate(rows, start=1):
            if number == self.header_row and part == self.milestones:
                body.append(self.header)
                continue
            if not row.cells:
                continue
            width = max(width, len(row.cells))
            body.append(_row(number, row))
        height = max(len(rows), 1)
        xml = _SHEET_DATA.sub(lambda _: "<sheetData>" + "".join(body) + "</sheetData>", source)
        span = f"A1:{get_column_letter(width)}{height}"
        xml = _DIMENSION.sub(f'<dimension ref="{span}"/>', xml, count=1)
        if last_data_row:
            first = self.header_row + 1
            xml = re.sub(
                rf'sqref="([A-Z]+){first}:\1\d+"',
                rf'sqref="\g<1>{first}:\g<1>{last_data_row}"',
                xml,
            )
        return xml


def _row(number: int, row: Row) -> str:
    # Without customHeight, Excel and LibreOffice open the row at this height and fit it again
    # when its text changes; with it, the row kept its height and cut what was typed.
    height = f' ht="{row.height:g}"' if row.height else ""
    cells = "".join(
        _cell(f"{get_column_letter(index)}{number}", value, style)
        for index, (value, style) in enumerate(row.cells, start=1)
    )
    return f'<row r="{number}"{height}>{cells}</row>'


def _cell(ref: str, value: object, style: int | None) -> str:
    """One cell as openpyxl writes it: text inline, numbers and dates as numbers."""
    styled = f' s="{style}"' if style else ""
    if value is None or value == "":
        return f'<c r="{ref}"{styled}/>'
    if isinstance(value, datetime):
        serial = (value - datetime(1899, 12, 30)).total_seconds() / 86400
        return f'<c r="{ref}"{styled} t="n"><v>{serial:g}</v></c>'
    if isinstance(value, date):
        return f'<c r="{ref}"{styled} t="n"><v>{(value - _EPOCH).days}</v></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}"{styled} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"{styled} t="n"><v>{value!r}</v></c>'
    text = _CONTROL.sub("", str(value))
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
    return f'<c r="{ref}"{styled} t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'
