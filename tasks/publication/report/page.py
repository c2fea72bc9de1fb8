"""The report page (``templates/report.html``): what it shows, computed once for the page and
for the PDF that prints it.

The page is rendered with autoescape: institution text is never marked safe, and only plain
http(s) evidence URLs become links. It names no internal id (a submission's number means
nothing to a reader): a value is «reported this cycle» or «last known, from March 2023».
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from tasks.catalogues import text
from tasks.core import contract
from tasks.core.contract import COMPLETED, IN_PROGRESS, NOT_STARTED
from tasks.plans.plan import Plan
from tasks.publication.consolidation import (
    COMMITMENT_FORMULA,
    NO_DATA,
    Figures,
)
from tasks.rendering import render
from tasks.storage.ledger import Cycle

SOURCES = ("sin_datos", "ultimo_conocido", "reportado")
"""A row's ``fuente``, weakest first."""
CHART_STATES = (COMPLETED, IN_PROGRESS, NOT_STARTED, NO_DATA)
"""The order of the states in the chart across cycles: completed first, from the left, so the
bars' left parts read as the headline."""


def source_label(source: str, language: str) -> str:
    """How the page names the ``fuente`` of a row."""
    return text(language, f"report.source.{source}")


def state_label(code: str, language: str) -> str:
    """A state code of the table as people read it; ``no_data`` or blank as «Sin datos»."""
    if not code or code == NO_DATA:
        return text(language, "report.no_data")
    return contract.state_label(code, language)


def evidence_link(url: str) -> str | None:
    """The URL when it is a plain http(s) address worth a link; None otherwise (shown as text)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def page_rows(
    table: pd.DataFrame, language: str = "es", source_cycles: dict[int, str] | None = None
) -> list[SimpleNamespace]:
    """Table rows for the template: NA as None, dates parsed, evidence links checked, and
    (with ``source_cycles``) the cycle each value was reported in, as ``ciclo_dato``.

    Namespaces rather than dicts: Jinja looks ``r.hito`` up as an attribute first, and 20,000
    rows × a dozen failed attribute lookups were a third of the page's rendering time.
    """
    records = table.astype(object).where(table.notna(), None).to_dict("records")
    cycles = source_cycles or {}
    return [
        SimpleNamespace(
            **row,
            inicio=date.fromisoformat(row["fecha_inicio"]),
            fin=date.fromisoformat(row["fecha_fin"]),
            estado_texto=state_label(row["estado"], language),
            estado_clase=(row["estado"] or NO_DATA).replace("_", "-"),
            enlace=evidence_link(row["evidencia_url"]),
            fuente_texto=source_label(row["fuente"], language),
            ciclo_dato=cycles.get(row["envio"]) if row["envio"] is not None else None,
        )
        for row in records
    ]


def _changes(rows: list[SimpleNamespace]) -> list[SimpleNamespace]:
    """Rows whose progress moved since the previous cycle, largest move first, then plan order."""
    moved = [r for r in rows if r.cambio_pct is not None and r.cambio_pct != 0]
    return sorted(moved, key=lambda r: -abs(r.cambio_pct))


@dataclass(frozen=True)
class InstitutionData:
    """Where an institution's values in this version come from, as the page says it."""

    source: str
    """``reportado``, ``ultimo_conocido`` or ``sin_datos``; of mixed sources, the weakest."""
    cycle_id: str | None
    """The cycle of the values (the newest, for last-known values from several)."""


def _institution_data(rows: list[SimpleNamespace]) -> dict[str, InstitutionData]:
    """Institution code → where its values come from: this cycle, an earlier one, or nowhere."""
    weakest_last = sorted(rows, key=lambda r: (-SOURCES.index(r.fuente), r.ciclo_dato or ""))
    return {r.institucion: InstitutionData(r.fuente, r.ciclo_dato) for r in weakest_last}


def sample_notice(plan: Plan) -> tuple[str, dict[str, str]] | None:
    """The catalogue key and values of the notice that the plan holds sample data (commitments
    marked ``sample: true``), or None for a plan of checked data."""
    sample = [c.code for c in plan.commitments if c.sample]
    if not sample:
        return None
    if len(sample) == len(plan.commitments):
        return "report.sample.all", {}
    return "report.sample.some", {"codes": ", ".join(sample)}


def timeline(cycle: Cycle, figures: Figures, version: int) -> list[SimpleNamespace]:
    """The chart across cycles: each earlier published cycle, then this version."""
    earlier = [SimpleNamespace(**vars(c), current=False) for c in figures.history]
    now = SimpleNamespace(
        cycle_id=cycle.id,
        version=version,
        milestones=figures.milestones,
        headline=figures.headline,
        counts=figures.counts,
        current=True,
    )
    return [*earlier, now]


def page_context(
    plan: Plan,
    cycle: Cycle,
    table: pd.DataFrame,
    figures: Figures,
    version: int,
    made_on: date,
    language: str,
) -> dict[str, Any]:
    """What ``report.html`` shows, computed once for the page and for the PDF."""
    rows = page_rows(table, language, figures.source_cycles)
    return {
        "plan": plan,
        "cycle": cycle,
        "figures": figures,
        "rows": rows,
        "changes": _changes(rows),
        "compared": any(r.avance_anterior is not None for r in rows),
        "formula": text(language, COMMITMENT_FORMULA),
        "version": version,
        "made_on": made_on,
        "sources": _institution_data(rows),
        "sample": sample_notice(plan),
        "chart_states": CHART_STATES,
        "timeline": timeline(cycle, figures, version),
    }


def render_page(context: dict[str, Any], language: str, shown: Callable[[list[Any]], bool]) -> str:
    """The page; ``shown(items)`` says whether a table of ``items`` is printed in full (the
    PDF leaves the longest ones out)."""
    return render("report.html", language, shown=shown, **context)
