"""The workbook contract, in one place: sheets, columns, states, bounds and header matching.

What the request workbook holds and what a returned file must say (DESIGN.md, "The workbook
contract"). The builder (``tasks.workbooks.building``), the reader (``tasks.workbooks.reading``),
the marker (``tasks.workbooks.marking``), validation, consolidation and the report read it from
here; the Great Expectations suite
(``expectations/hitos_entrega.json``) is checked against it by ``tests/test_contract.py``.

Keys and codes are stable data (``avance_pct``, ``started``): the ledger stores them and the
open data publishes the column keys. Labels are texts people read, per language, in the
catalogues (``contract.columns.<key>``, ``contract.states.<code>``, ``contract.sheets.<key>``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from tasks.catalogues import LANGUAGES, text

Kind = Literal["code", "text", "date", "state", "whole", "url"]


@dataclass(frozen=True)
class Column:
    """One column of the ``Hitos`` sheet."""

    key: str
    kind: Kind
    filled_by: Literal["hitos", "institution"]
    width: float
    """Width in the request workbook, in Excel's character units (a digit of Calibri 11, 7 px):
    the visible ones add up to about 1,240 px, so a 1366 px screen at 100 % shows them all. Each
    holds its longest label word in bold in both languages («Milestone» needs 9.5) and its
    values («30 May 2023» needs 11.5)."""
    required: bool = False
    """A returned file without it is rejected (``column-missing``)."""
    aliases: tuple[str, ...] = ()
    """Other headers offices write for it, as normalised words joined by ``_``."""
    read: bool = True
    """Read back from returned files (the commitment and milestone texts are only shown)."""
    hidden: bool = False
    """Kept in the request workbook but hidden: said once in its title block instead."""

    def label(self, language: str) -> str:
        return text(language, f"contract.columns.{self.key}")


COLUMNS: tuple[Column, ...] = (
    # Every row of a returned file still names its institution (intake's last resort to tell
    # whose file it is); the liaison reads it once, above the table.
    Column("institucion", "text", "hitos", 11, hidden=True),
    Column("codigo_hito", "code", "hitos", 9.5, required=True),
    Column("compromiso", "text", "hitos", 16, read=False),
    Column("hito", "text", "hitos", 30, read=False),
    Column("fecha_inicio", "date", "hitos", 11.5, aliases=("inicio",)),
    Column(
        "fecha_fin",
        "date",
        "hitos",
        11.5,
        aliases=("fecha_final", "fecha_finalizacion", "fecha_termino", "fin"),
    ),
    Column("estado", "state", "institution", 12, required=True, aliases=("estado_hito",)),
    Column(
        "avance_pct",
        "whole",
        "institution",
        9,
        required=True,
        aliases=("avance", "porcentaje_avance", "avance_porcentaje", "pct_avance", "progress_pct"),
    ),
    Column("descripcion_avance", "text", "institution", 30, required=True),
    Column(
        "evidencia_url",
        "url",
        "institution",
        22,
        required=True,
        aliases=("evidencia", "url_evidencia", "enlace_evidencia", "evidence", "evidence_url"),
    ),
    Column("observaciones", "text", "institution", 18, aliases=("observacion", "comments")),
)
KEYS = [c.key for c in COLUMNS]
FILLED_BY_INSTITUTION = [c.key for c in COLUMNS if c.filled_by == "institution"]
VALUE_COLUMNS = FILLED_BY_INSTITUTION
"""The values kept per milestone of an accepted file (``MilestoneValue``)."""
REQUIRED = [c.key for c in COLUMNS if c.required]
CODE = "codigo_hito"
"""The column that identifies a milestone row and marks the header row."""
STATE = "estado"
PROGRESS = "avance_pct"
EVIDENCE = "evidencia_url"
DATE_COLUMNS = [c.key for c in COLUMNS if c.kind == "date"]
READ = [c.key for c in COLUMNS if c.read]
TEXT_COLUMNS = [c.key for c in COLUMNS if c.read and c.kind in ("text", "url")]
"""Read back as trimmed text (``''`` when blank)."""
BY_KEY = {c.key: c for c in COLUMNS}

PROGRESS_MIN = 0
PROGRESS_MAX = 100
"""Progress is a whole number in this range (the dropdown, the suite and the messages)."""


@dataclass(frozen=True)
class State:
    """One of the public board's three states, with the progress it allows."""

    code: str
    low: int
    high: int
    synonyms: tuple[str, ...] = ()
    """Other words offices write for it, in any language, as normalised words."""

    @property
    def started(self) -> bool:
        """Once started, a milestone needs a description and evidence."""
        return self.low > PROGRESS_MIN

    def label(self, language: str) -> str:
        return text(language, f"contract.states.{self.code}")


STATES: tuple[State, ...] = (
    State("not_started", PROGRESS_MIN, PROGRESS_MIN, ("no iniciada", "pendiente de iniciar")),
    State(
        "started",
        PROGRESS_MIN + 1,
        PROGRESS_MAX - 1,
        (
            "iniciada",
            "en proceso",
            "en progreso",
            "en curso",
            "en ejecucion",
            "started",
            "ongoing",
            "in process",
        ),
    ),
    State("completed", PROGRESS_MAX, PROGRESS_MAX, ("completada", "complete", "done")),
)
STATE_CODES = [s.code for s in STATES]
BY_STATE = {s.code: s for s in STATES}
STARTED = [s.code for s in STATES if s.started]
NOT_STARTED, IN_PROGRESS, COMPLETED = STATE_CODES

SHEETS = ("milestones", "instructions", "corrections")
"""Sheets people read, named in the workbook's language; ``_meta`` is never translated."""
META_SHEET = "_meta"
HEADER_SEARCH_ROWS = 30
"""The template has its header in row 1; offices add titles and logos above it, and Hitos
itself puts the institution, cycle and deadline there."""
_FILLER_WORDS = {"de", "del", "la", "el", "los", "las", "of", "the"}


def sheet_name(key: str, language: str) -> str:
    return text(language, f"contract.sheets.{key}")


def sheet_names(key: str) -> set[str]:
    """The sheet's name in every language, case-folded, for recognising returned files."""
    return {sheet_name(key, language).casefold() for language in LANGUAGES}


def is_sheet(name: str, key: str) -> bool:
    return name.strip().casefold() in sheet_names(key)


def words(label: str) -> list[str]:
    """Lower-case ASCII words of a label: accents, case and punctuation do not matter."""
    plain = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    return [w for w in re.split(r"[^a-z0-9]+", plain) if w]


def _normal(label: str) -> str:
    return "_".join(w for w in words(label) if w not in _FILLER_WORDS)


@cache
def _headers() -> dict[str, str]:
    """Normalised header → column key: the keys, every language's labels and the aliases."""
    found: dict[str, str] = {}
    for column in COLUMNS:
        names = [column.key, *column.aliases, *(column.label(lang) for lang in LANGUAGES)]
        for name in names:
            found.setdefault(_normal(name), column.key)
    return found


def column_key(label: object) -> str | None:
    """The contract column a header cell names (``"Código hito"`` → ``codigo_hito``), if any.

    Compared without case, accents, punctuation or filler words (``de``, ``del``, ``of``): the
    keys, the labels of every language (``Avance %``, ``Progress %``) and the aliases offices
    use (``Porcentaje de avance``, ``Enlace de evidencia``).
    """
    if not isinstance(label, str):
        return None
    return _headers().get(_normal(label))


def find_header(
    rows: Iterable[Sequence[object]], limit: int = HEADER_SEARCH_ROWS
) -> tuple[int, dict[str, int]] | None:
    """The header row (0-based, the first naming ``codigo_hito`` within ``limit`` rows) and each
    contract column's 0-based position in it (the first of duplicates).

    The one header matcher: the reader finds the values with it and the marker the cell a
    finding names, so the two never disagree.
    """
    for index, row in enumerate(rows):
        if index >= limit:
            break
        columns: dict[str, int] = {}
        for position, cell in enumerate(row):
            name = column_key(cell)
            if name is not None:
                columns.setdefault(name, position)
        if CODE in columns:
            return index, columns
    return None


def finding_cell(
    header_row: int | None, positions: Mapping[str, int], row: int | None, column: str
) -> tuple[int, int] | None:
    """The cell (1-based row, column) a finding points at in its file, given the file's header
    row and each column's 1-based position there (``find_header`` + 1): its row and column (the
    first column when the file has none of that name), else its column's header, else None.

    The one rule for "which cell": the marked copy marks it and the console names it, so the
    cell a reviewer reads is the cell the liaison sees coloured.
    """
    position = positions.get(column)
    if row is not None:
        return row, position or 1
    if position is not None and header_row is not None:
        return header_row, position
    return None


@cache
def _states() -> dict[str, str]:
    found: dict[str, str] = {}
    for state in STATES:
        for name in (state.code, *state.synonyms, *(state.label(lang) for lang in LANGUAGES)):
            found.setdefault(" ".join(words(name.replace("_", " "))), state.code)
    return found


def state_code(value: object) -> str:
    """The state's code when recognised, else the value trimmed (for the finding to quote).

    Case, accents and spacing do not matter; labels of every language, the codes themselves
    and synonyms (``En proceso``, ``In process``) are recognised. Also reads values stored
    by earlier versions, which kept the Spanish label.
    """
    trimmed = " ".join(str(value).split())
    return _states().get(" ".join(words(trimmed)), trimmed)


@cache
def state_label(code: str, language: str) -> str:
    """The state as people read it; an unrecognised value as it is."""
    recognised = state_code(code)
    return text(language, f"contract.states.{recognised}") if recognised in STATE_CODES else code


def listed(items: list[str], conjunction: str) -> str:
    """«a, b o c»: the words of a list the way a sentence says them."""
    return (
        ", ".join(items[:-1]) + f" {conjunction} " + items[-1] if len(items) > 1 else "".join(items)
    )


def state_labels(language: str) -> list[str]:
    """The dropdown's list, in order."""
    return [s.label(language) for s in STATES]
