"""What the board shows, read from the published reports: each cycle as its shown version
published it, and the histories across cycles.

Every figure is the one consolidation computed for a public version: its table rebuilt from the
submissions that version used (``consolidated_table`` restricted to ``Report.submissions``), its
deliveries as the version kept them (``Report.institutions``). The board computes no progress of
its own and never reads the current ledger's deliveries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from tasks.plans.plan import Plan
from tasks.publication.consolidation import (
    NO_DATA,
    CommitmentFigures,
    Figures,
    InstitutionFigures,
    consolidated_table,
    figures,
    from_snapshot,
)
from tasks.storage.ledger import Cycle, Report
from tasks.storage.queries import cycle_of


@dataclass(frozen=True)
class PublishedCycle:
    """A cycle as the public sees it: the report version shown and the figures it published."""

    cycle: Cycle
    report: Report
    versions: list[Report]
    """Every public version of the cycle, oldest first (each one is offered for download)."""
    table: pd.DataFrame
    figures: Figures


def public_versions(db: Session, plan_id: str) -> dict[str, list[Report]]:
    """Cycle → its public report versions, oldest first: those the director published (the
    last one is what the public sees now; drafts never reach the board,
    ``tasks.publication.approval``).
    """
    versions: dict[str, list[Report]] = {}
    public = Report.state.in_(("published", "superseded"))
    for report in db.scalars(
        select(Report)
        .where(public, Report.plan_id == plan_id)
        .order_by(Report.cycle_id, Report.version)
    ):
        versions.setdefault(report.cycle_id, []).append(report)
    return versions


def published_cycles(db: Session, plan: Plan) -> list[PublishedCycle]:
    """Every cycle with a public report, oldest first, rebuilt as its shown version published it."""
    found = []
    for cycle_id, versions in public_versions(db, plan.id).items():
        cycle = cycle_of(db, plan.id, cycle_id)
        if cycle is None:
            continue
        shown = versions[-1]
        table = consolidated_table(db, plan, cycle, shown.submissions)
        numbers = figures(plan, table, from_snapshot(shown.institutions))
        found.append(PublishedCycle(cycle, shown, versions, table, numbers))
    return found


def published_at(report: Report) -> datetime:
    """When a version went public (UTC): the director's publication, else (a version published
    before the ledger kept that moment) its consolidation."""
    return report.published_at or report.created_at


def last_publication(cycles: list[PublishedCycle]) -> Report | None:
    """The version whose publication last changed the board: the board's «updated» moment."""
    shown = [r for p in cycles for r in p.versions]
    return max(shown, key=published_at) if shown else None


Point = tuple[str, str, float | None, str]
"""A milestone in one cycle: cycle id, state code (``no_data`` when never reported), progress
(None without data), source (``reportado``, ``ultimo_conocido``, ``sin_datos``)."""


def milestone_history(cycles: list[PublishedCycle]) -> dict[str, list[Point]]:
    """Milestone code → its point in each published cycle, oldest first.

    Read from the tables' columns: the full page rows are built for the latest cycle only.
    """
    history: dict[str, list[Point]] = {}
    for published in cycles:
        t = published.table
        states = t["estado"].where(t["estado"] != "", NO_DATA)
        progress = t["avance_pct"].astype(object).where(t["avance_pct"].notna(), None)
        for code, state, value, source in zip(
            t["codigo_hito"], states, progress, t["fuente"], strict=True
        ):
            history.setdefault(code, []).append((published.cycle.id, state, value, source))
    return history


def commitment_history(
    cycles: list[PublishedCycle],
) -> dict[str, list[tuple[str, CommitmentFigures]]]:
    """Commitment code → its figures in each published cycle, oldest first."""
    history: dict[str, list[tuple[str, CommitmentFigures]]] = {}
    for published in cycles:
        for c in published.figures.commitments:
            history.setdefault(c.codigo, []).append((published.cycle.id, c))
    return history


def delivery_history(
    cycles: list[PublishedCycle],
) -> dict[str, list[tuple[str, InstitutionFigures]]]:
    """Institution code → its delivery in each published cycle, oldest first."""
    record: dict[str, list[tuple[str, InstitutionFigures]]] = {}
    for published in cycles:
        for row in published.figures.institutions:
            record.setdefault(row.codigo, []).append((published.cycle.id, row))
    return record
