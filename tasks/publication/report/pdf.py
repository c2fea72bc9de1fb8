"""The report's PDF: the page printed by WeasyPrint (its ``@media print`` rules), offline.

Tables longer than ``PDF_MAX_ROWS`` are left out with a line saying where they are, and every
resource fetch is refused: the page needs none, and a report must never call out while it is
built.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

PDF_MAX_ROWS = 200
"""Longest table the PDF prints (about 10 A4 pages of milestones, 3–4 s to print).

WeasyPrint lays out every row, 15–25 ms each here: 20,000 milestone rows would be about
1,000 pages and many minutes, and 400 commitments (chart and table) took 10 s. A longer table
is left out of the PDF with a line saying where it is (the page, the XLSX and the CSV hold
every row); the summary figures are always printed.
"""


def everything(items: list[Any]) -> bool:
    """The page shows every table."""
    return True


def printable(items: list[Any]) -> bool:
    """The PDF prints a table up to ``PDF_MAX_ROWS`` rows."""
    return len(items) <= PDF_MAX_ROWS


def print_pdf(html: Path, path: Path) -> None:
    """The page as printed (A4 landscape, ``@media print``), through WeasyPrint, offline."""
    print_page(html.read_text(encoding="utf-8"), path)


def _without_packaging_advice(record: logging.LogRecord) -> bool:
    """Drop WeasyPrint's advice to install HarfBuzz-Subset: fontTools, its fallback, subsets the
    fonts correctly here, and the line only alarms the people running a cycle."""
    return not record.getMessage().startswith("Using fontTools instead of HarfBuzz-Subset")


def print_page(page: str, path: Path) -> None:
    """Print an HTML page (the report's print version) to ``path``."""
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
