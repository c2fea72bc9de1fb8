"""What reviewers read of a submission's result: contract labels, values as typed, made inert.

Great Expectations shows the codes and numbers of a result as they are stored («80.0», «null»,
«started», «≈8.333% unexpected») and writes the values into its pages as raw HTML: a
``<script>`` an institution typed in ``estado`` would run in the reviewer's browser. The stored
result keeps the values as typed; the copy made here for the page shows them as a reader would
say them and escapes them, once.
"""

from __future__ import annotations

import copy
import math
from html import escape as html_escape
from typing import Any

from babel.numbers import get_decimal_symbol

from tasks.catalogues import text
from tasks.checks.validation import ROW
from tasks.core import contract

OBSERVED = "hitos_observed"
"""Where a rule's result carries the sentence its page shows as what was observed
(``tasks.checks.data_docs.pages.ReviewerTable``)."""


def label(column: str, language: str) -> str:
    """A contract column as reviewers know it (``avance_pct`` → «Avance %»)."""
    return contract.BY_KEY[column].label(language) if column in contract.BY_KEY else column


def for_reviewers(result: dict[str, Any], language: str) -> dict[str, Any]:
    """A copy of a submission's result (Great Expectations' JSON) as reviewers read it: each
    column by its contract label (a helper column by the contract column its rule points at),
    each failing row by its milestone and row, each value as typed («80», a state by its label,
    a blank as blank), what each rule found in words (``observed``), all of it HTML-escaped."""
    shown = copy.deepcopy(result)
    row = text(language, "data_docs.row")
    names = {ROW: row} | {key: label(key, language) for key in contract.KEYS}
    for expectation in shown["results"]:
        config = expectation["expectation_config"]
        if "column" in config["kwargs"]:
            config["kwargs"]["column"] = label(config["meta"].get("column", ""), language)
        found = expectation.get("result") or {}
        if ROW in (found.get("unexpected_index_column_names") or []):
            # Each failing row: its name, and its value under the column's label (as Great
            # Expectations looks it up once the column is relabelled).
            found["unexpected_index_column_names"] = [row]
            found["unexpected_index_list"] = [
                {names.get(key, key): value_shown(value, language) for key, value in item.items()}
                for item in map(_own_columns, found.get("unexpected_index_list") or [])
            ]
        for name in ("partial_unexpected_list", "unexpected_list"):
            if name in found:
                found[name] = [value_shown(value, language) for value in found[name]]
        for count in found.get("partial_unexpected_counts") or []:
            count["value"] = value_shown(count.get("value"), language)
        expectation["result"] = _escaped(found)
        expectation["meta"] = {
            **(expectation.get("meta") or {}),
            OBSERVED: observed(found, language),
        }
    statistics = shown.get("statistics") or {}
    if statistics.get("success_percent") is not None:
        statistics["success_percent"] = round(statistics["success_percent"])
    return shown


def observed(found: dict[str, Any], language: str) -> str:
    """What a rule found in the file, as a sentence: «Se cumple en las 6 filas», «No se cumple
    en 2 de 6 filas», «No se aplica a ninguna fila» (its condition chose none, or every row it
    chose was blank where blanks are skipped)."""
    rows = int(found.get("element_count") or 0) - int(found.get("missing_count") or 0)
    unmet = int(found.get("unexpected_count") or 0)
    if rows <= 0:
        return html_escape(text(language, "data_docs.observed.none"))
    if unmet == 0:
        return html_escape(text(language, "data_docs.observed.met", rows=rows))
    return html_escape(text(language, "data_docs.observed.unmet", unmet=unmet, rows=rows))


def value_shown(value: Any, language: str) -> Any:
    """A value as its reader would say it: a whole number without «.0», a decimal with the
    language's sign, a state by its label, a blank as «(vacío)», a helper column's flag as
    «—» (the row's name says what is wrong with it)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return text(language, "data_docs.blank")
    if isinstance(value, bool):
        return "—"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:g}".replace(".", get_decimal_symbol(language))
    if isinstance(value, str) and value in contract.BY_STATE:
        return contract.state_label(value, language)
    return value


def _own_columns(item: dict[str, Any]) -> dict[str, Any]:
    """A failing row without the helper columns a rule over several columns groups by (the
    submission's key): on its own page the file goes without saying."""
    values = [key for key in item if key != ROW]
    helpers = [key for key in values if key.startswith("_")]
    if len(helpers) == len(values):
        return item
    return {key: value for key, value in item.items() if key not in helpers}


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return html_escape(value)
    if isinstance(value, dict):
        return {key: _escaped(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped(item) for item in value]
    return value
