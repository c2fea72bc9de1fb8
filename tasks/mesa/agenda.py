"""A session's agenda, read from the ledger in the order the seed's session follows.

First the agreements still open from earlier sessions (the Mesa follows them up before anything
else), then the plan's state, each institution that reports with its commitment and milestones,
what is overdue, what went down since the last session, and what civil society disputes. The
figures are those of the cycle's public report (its last published version), or, before
anything is published, of the approved files (what a draft would show): the agenda computes no
progress of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pandas as pd
from sqlalchemy.orm import Session

from tasks.core.contract import COMPLETED, IN_PROGRESS
from tasks.mesa import assessments as voice
from tasks.mesa.agreements import agreements
from tasks.mesa.members import owner_name
from tasks.mesa.sessions import session_of
from tasks.plans.plan import Plan
from tasks.publication.board import public_versions
from tasks.publication.consolidation import (
    Figures,
    consolidated_table,
    figures,
    from_snapshot,
    institution_figures,
)
from tasks.publication.report import page_rows
from tasks.settings import Settings
from tasks.storage.ledger import Agreement, Assessment, Cycle, MesaSession, Report
from tasks.storage.ledger import session as ledger
from tasks.storage.queries import cycle_of

REPORTED_STATES = (IN_PROGRESS, COMPLETED)
"""A milestone an institution reports on at the Mesa: begun or done (one not begun has no
progress to report)."""


@dataclass(frozen=True)
class CycleFigures:
    """A cycle as the Mesa sees it: the public version's table and figures, or the draft's."""

    cycle: Cycle
    report: Report | None
    """The public version the figures come from; None: nothing published yet."""
    table: pd.DataFrame
    figures: Figures


@dataclass(frozen=True)
class Reporter:
    """An institution that reported at the session: its commitments and their milestones."""

    code: str
    name: str
    commitments: list[tuple[int, list[str]]]
    """(commitment number, milestone codes it reported on), in plan order."""


@dataclass
class Slide:
    """One commitment of the pack: its milestones with self-report and civil society's view."""

    number: int
    code: str
    title: str
    ogp_id: str
    progress: float
    rows: list[SimpleNamespace]
    assessments: dict[str, list[Assessment]] = field(default_factory=dict)


@dataclass
class Agenda:
    """Everything a session's agenda and pack show, in the order the session follows."""

    plan: Plan
    cycle: Cycle
    session: MesaSession | None
    source: CycleFigures
    carried: list[Agreement]
    reporters: list[Reporter]
    slides: list[Slide]
    overdue: list[SimpleNamespace]
    went_down: list[SimpleNamespace]
    disputed: list[SimpleNamespace]
    assessments: dict[str, list[Assessment]]
    owners: dict[str, str]
    """Agreement owner code → name."""


def cycle_figures(db: Session, plan: Plan, cycle: Cycle) -> CycleFigures:
    """The cycle's public figures (its last published version's files), else the draft's."""
    shown = public_versions(db, plan.id).get(cycle.id, [])
    report = shown[-1] if shown else None
    table = consolidated_table(db, plan, cycle, report.submissions if report else None)
    institutions = (
        from_snapshot(report.institutions)
        if report is not None and report.institutions
        else institution_figures(db, plan, cycle)
    )
    return CycleFigures(cycle, report, table, figures(plan, table, institutions))


def reporters(plan: Plan, table: pd.DataFrame) -> list[Reporter]:
    """The institutions that reported on milestones this cycle, and which: rows reported in the
    cycle (not carried from an earlier one) that are begun or done, grouped by institution and
    commitment, in the plan's order of commitments."""
    grouped: dict[str, dict[int, list[str]]] = {}
    reported = table[(table["fuente"] == "reportado") & table["estado"].isin(REPORTED_STATES)]
    for code, institution in zip(reported["codigo_hito"], reported["institucion"], strict=True):
        number = int(code.split(".")[0])
        grouped.setdefault(institution, {}).setdefault(number, []).append(code)
    return [
        Reporter(code, plan.institution(code).name, list(by_commitment.items()))
        for code, by_commitment in grouped.items()
    ]


def build_agenda(settings: Settings, plan: Plan, cycle_id: str, language: str) -> Agenda:
    """The cycle's agenda and pack contents, from the ledger."""
    with ledger(settings.database) as db:
        cycle = cycle_of(db, plan.id, cycle_id)
        if cycle is None:
            raise KeyError(f"cycle {plan.id}/{cycle_id} does not exist")
        source = cycle_figures(db, plan, cycle)
        standing = voice.current(db, plan.id, [cycle_id])
    by_milestone = voice.by_milestone(standing)
    contested = voice.disputed(standing)
    rows = page_rows(source.table, language)
    for row in rows:
        row.disputed = row.codigo_hito in contested
    by_commitment: dict[str, list[SimpleNamespace]] = {}
    for row in rows:
        by_commitment.setdefault(row.codigo_compromiso, []).append(row)
    slides = [
        Slide(
            c.numero,
            c.codigo,
            c.titulo,
            c.ogp_id,
            c.avance_pct,
            by_commitment.get(c.codigo, []),
            {
                r.codigo_hito: by_milestone[r.codigo_hito]
                for r in by_commitment.get(c.codigo, [])
                if r.codigo_hito in by_milestone
            },
        )
        for c in source.figures.commitments
    ]
    carried = agreements(settings, plan.id, only_open=True, before=cycle_id)
    return Agenda(
        plan=plan,
        cycle=cycle,
        session=session_of(settings, plan.id, cycle_id),
        source=source,
        carried=carried,
        reporters=reporters(plan, source.table),
        slides=slides,
        overdue=[r for r in rows if r.vencido],
        went_down=[r for r in rows if r.cambio_pct is not None and r.cambio_pct < 0],
        disputed=[r for r in rows if r.disputed],
        assessments=by_milestone,
        owners={a.owner: owner_name(plan, a.owner) for a in carried},
    )
