"""Links inserted in cells (Insert ▸ Link, Ctrl+K): where they point, which calamine does not read.

The request workbook lets a liaison link the evidence cell to its document, and Excel and
LibreOffice let them show a text of their own («Acta de la sesión») instead of the address. The
cell's value is then that text; the address is in the sheet's relationships. Found here from the
.xlsx's own parts, without parsing the sheet: only when the sheet has links at all is its XML
searched for them.
"""

from __future__ import annotations

import posixpath
import re
from io import BytesIO
from xml.sax.saxutils import unescape
from zipfile import ZipFile

from openpyxl.utils.cell import range_boundaries

_SHEET = re.compile(r"<(?:\w+:)?sheet\b[^>]*>")
_RELATIONSHIP = re.compile(r"<(?:\w+:)?Relationship\b[^>]*>")
_HYPERLINK = re.compile(r"<(?:\w+:)?hyperlink\b[^>]*>")
_ATTRIBUTE = re.compile(r'([\w:.-]+)\s*=\s*"([^"]*)"')
_LINK_TYPE = "/hyperlink"
_WEB = ("http://", "https://")
_CELLS_PER_LINK = 1000  # a link over a large block is no one cell's evidence


def web_links(data: bytes, sheet_name: str) -> dict[tuple[int, int], str]:
    """(row, column), both 0-based → the web address a cell of the named sheet links to; empty
    when the file is no .xlsx, the sheet has no such links, or its parts cannot be followed."""
    try:
        with ZipFile(BytesIO(data)) as archive:
            names = set(archive.namelist())
            part = _sheet_part(archive, sheet_name)
            if part is None:
                return {}
            folder, base = posixpath.split(part)
            relations = posixpath.join(folder, "_rels", f"{base}.rels")
            if relations not in names:
                return {}
            targets = {
                attributes.get("Id", ""): unescape(attributes.get("Target", ""))
                for attributes in _tags(_RELATIONSHIP, archive.read(relations))
                if attributes.get("Type", "").endswith(_LINK_TYPE)
            }
            targets = {key: url for key, url in targets.items() if url.lower().startswith(_WEB)}
            if not targets:
                return {}
            return _cells(_tags(_HYPERLINK, archive.read(part)), targets)
    # A file calamine read but whose parts do not lead anywhere simply has no links to follow.
    except (KeyError, ValueError, OSError, UnicodeDecodeError):
        return {}


def _sheet_part(archive: ZipFile, sheet_name: str) -> str | None:
    """The zip part of the named sheet (``xl/worksheets/sheet1.xml``)."""
    ids = [
        _relation_id(attributes)
        for attributes in _tags(_SHEET, archive.read("xl/workbook.xml"))
        if unescape(attributes.get("name", "")) == sheet_name
    ]
    if not ids:
        return None
    for attributes in _tags(_RELATIONSHIP, archive.read("xl/_rels/workbook.xml.rels")):
        if attributes.get("Id") == ids[0]:
            target = attributes.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
    return None


def _cells(links: list[dict[str, str]], targets: dict[str, str]) -> dict[tuple[int, int], str]:
    found: dict[tuple[int, int], str] = {}
    for attributes in links:
        url = targets.get(_relation_id(attributes))
        if url is None or "ref" not in attributes:
            continue
        bounds = range_boundaries(attributes["ref"])
        if any(bound is None for bound in bounds):  # a whole row or column: no one cell's link
            continue
        left, top, right, bottom = (int(bound or 0) for bound in bounds)
        if (bottom - top + 1) * (right - left + 1) > _CELLS_PER_LINK:
            continue
        for row in range(top - 1, bottom):
            for column in range(left - 1, right):
                found.setdefault((row, column), url)
    return found


def _relation_id(attributes: dict[str, str]) -> str:
    """The ``r:id`` of a tag, whatever prefix the file gave the relationships' namespace."""
    return next((v for k, v in attributes.items() if k.endswith(":id")), "")


def _tags(tag: re.Pattern[str], xml: bytes) -> list[dict[str, str]]:
    return [dict(_ATTRIBUTE.findall(found)) for found in tag.findall(xml.decode("utf-8"))]
