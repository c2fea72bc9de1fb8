"""The open data of a report: the table as published, its CSV, its column names and dictionary.

Institutions' text reaches spreadsheets here: a text cell that a spreadsheet would run as a
formula is neutralised with a leading apostrophe, in the CSV and the XLSX alike (OWASP's advice
against CSV injection); the data dictionary says so to the people who use the data.

The CSV keeps the table's column keys (``codigo_hito``, ``avance_pct``) in every language: they
are the open data's stable names, those of the data package's Table Schema, its foreign keys and
the board's history, so a script reading one plan's CSV reads every plan's and every year's;
the data dictionary (in the language) says what each holds. People read the XLSX, whose headers
are the columns' labels in the language.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tasks.catalogues import text
from tasks.core import contract
from tasks.publication.consolidation import PUBLISHED_COLUMNS

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters that make Excel, LibreOffice or Google Sheets evaluate a cell."""


def column_label(key: str, language: str) -> str:
    """A column of the consolidated table as people read it: the workbook contract's label for
    the columns institutions fill in («Avance %»), the report's for the rest («Cambio (p. p.)»)."""
    column = contract.BY_KEY.get(key)
    return column.label(language) if column is not None else text(language, f"report.labels.{key}")


def data_dictionary(language: str) -> list[tuple[str, str]]:
    """Every column of the consolidated table with its meaning, published beside the data."""
    states = contract.state_labels(language)
    listed = contract.listed(states, text(language, "workbook.list_or"))
    completed = contract.BY_STATE[contract.COMPLETED].label(language)
    return [
        (name, text(language, f"report.dictionary.{name}", states=listed, completed=completed))
        for name in PUBLISHED_COLUMNS
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
    preceded by ``'``, and no spreadsheet evaluates it.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def neutralised_text(values: pd.Series) -> pd.Series:
    """``neutralise`` for a column of text at once (a call per cell was half the time of writing
    80,000 rows)."""
    risky = values.str.startswith(FORMULA_TRIGGERS, na=False)
    return values.where(~risky, "'" + values[risky]) if risky.any() else values


def _neutralised(table: pd.DataFrame) -> pd.DataFrame:
    safe = table.copy()
    for column in safe.columns:
        if pd.api.types.is_bool_dtype(safe[column]):
            safe[column] = safe[column].map({True: "true", False: "false"})
        elif pd.api.types.is_string_dtype(safe[column]):
            safe[column] = neutralised_text(safe[column])
    return safe


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """UTF-8 without BOM, ``\\n`` line ends, no timestamp: the same ledger gives the same bytes.

    Typed as the data package's schema says (``tasks/publication/datapackage.py``): booleans
    ``true`` and ``false``, dates ISO 8601, numbers with a decimal point, missing values empty.
    """
    written = _neutralised(table).to_csv(index=False, lineterminator="\n", float_format="%g")
    path.write_bytes(written.encode("utf-8"))
