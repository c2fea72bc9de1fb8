"""The consolidated table of a cycle and the figures the report shows, read from the ledger.

One row per milestone of the plan, in plan order. Values come from the latest accepted
submission of the responsible institution in the cycle; an institution that did not report
keeps its last known values from an earlier cycle, marked ``ultimo_conocido``, so the public
never mistakes them for news. Contacts (names, emails) and senders never enter the table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from tasks.cycle.deadlines import local_date
from tasks.cycle.extensions import deadlines
from tasks.plans.plan import Commitment, Milestone, Plan
from tasks.storage.ledger import (
    ACCEPTED,
    Cycle,
    MilestoneValue,
    Submission,
    cycles_of,
    latest_progress,
    of_cycle,
    previous_cycle,
)
from tasks.workbooks import contract
from tasks.workbooks.contract import COMPLETED, IN_PROGRESS, NOT_STARTED, STATE_CODES

NO_DATA = "no_data"
"""The state counted for a milestone nobody ever reported (its label: ``report.no_data``)."""
ON_TIME, LATE, MISSING = "on_time", "late", "missing"
"""Delivery of an institution in a cycle (labels: ``report.delivery.<code>``)."""
REJECTED = ("rejected", "unreadable", "returned")
"""Outcomes counted as rejections: the institution has to send the file again (``returned``:
accepted by the rules, returned by a reviewer)."""

NUMBER_COLUMNS = [contract.PROGRESS, "avance_anterior", "cambio_pct"]
REPORTED_TEXTS = [k for k in contract.VALUE_COLUMNS if contract.BY_KEY[k].kind in ("text", "url")]
"""The institution's own texts, published as written."""
COLUMNS = [
    "ciclo",
    "codigo_compromiso",
    "compromiso_ogp",
    "compromiso",
    contract.CODE,
    "hito",
    "institucion",
    *contract.DATE_COLUMNS,
    contract.STATE,
    *NUMBER_COLUMNS,
    "vencido",
    "fuente",
    *REPORTED_TEXTS,
    "envio",
]
"""The consolidated table's columns, published as open data; each is described, per language,
under ``report.dictionary.<column>`` in the catalogues."""
TEXT_COLUMNS = [c for c in COLUMNS if c not in (*NUMBER_COLUMNS, "vencido", "envio")]


@dataclass(frozen=True)
class _Source:
    """A milestone's value and where it came from."""

    value: Row[Any]
    """``milestone``, ``estado``, ``avance_pct``, the three texts and ``submission_id``."""
    fuente: str


def _accepted_values(
    db: Session, plan_id: str, cycle_ids: list[str], only: Collection[int] | None = None
) -> Iterable[Row[Any]]:
    """Values of accepted submissions in these cycles of the plan: newest cycle, version,
    submission first.

    Plain rows from one query, not ORM objects: at 1,000 institutions building 35,000 mapped
    instances took most of the consolidation's ledger time. ``only`` keeps the values of those
    submissions (a published report's), so a table can be rebuilt as it was published.
    """
    if not cycle_ids:
        return ()
    query = (
        select(
            Submission.institution,
            MilestoneValue.submission_id,
            MilestoneValue.milestone,
            MilestoneValue.estado,
            MilestoneValue.avance_pct,
            MilestoneValue.descripcion_avance,
            MilestoneValue.evidencia_url,
            MilestoneValue.observaciones,
            Submission.cycle_id,
        )
        .join(MilestoneValue, MilestoneValue.submission_id == Submission.id)
        .where(
            Submission.plan_id == plan_id,
            Submission.cycle_id.in_(cycle_ids),
            Submission.outcome.in_(ACCEPTED),
            Submission.review == "approved",  # only approved files feed a publication
        )
        .order_by(
            Submission.cycle_id.desc(),
            Submission.version.desc(),
            Submission.id.desc(),
            MilestoneValue.id,
        )
    )
    if only is not None:
        query = query.where(Submission.id.in_(list(only)))
    return db.execute(query)


def _cycles_up_to(db: Session, cycle: Cycle) -> list[str]:
    return [c.id for c in cycles_of(db, cycle.plan_id) if c.id <= cycle.id]


def _owner(plan: Plan) -> dict[str, str]:
    """Milestone code → its responsible institution: a value counts only from its owner."""
    return {m.code: m.institution for m in plan.milestones}


def _sources(
    db: Session, plan: Plan, cycle: Cycle, only: Collection[int] | None = None
) -> dict[str, _Source]:
    """Milestone code → the value the report uses: this cycle's, else the last known one."""
    owner = _owner(plan)
    found: dict[str, _Source] = {}
    for value in _accepted_values(db, plan.id, _cycles_up_to(db, cycle), only):
        if owner.get(value.milestone) == value.institution and value.milestone not in found:
            fuente = "reportado" if value.cycle_id == cycle.id else "ultimo_conocido"
            found[value.milestone] = _Source(value, fuente)
    return found


def _previous_values(db: Session, plan: Plan, cycle: Cycle) -> dict[str, float]:
    """Milestone code → progress in the previous cycle's latest accepted submission."""
    previous = previous_cycle(db, plan.id, cycle.id)
    if previous is None:
        return {}
    owner = _owner(plan)
    return {
        milestone: avance
        for institution, values in latest_progress(db, plan.id, previous.id).items()
        for milestone, avance in values.items()
        if owner.get(milestone) == institution
    }


def _row(
    commitment: Commitment,
    cycle: Cycle,
    milestone: Milestone,
    source: _Source | None,
    before: float | None,
) -> dict[str, object]:
    value = source.value if source else None
    progress = value.avance_pct if value else None
    estado = contract.state_code(value.estado) if value else ""  # also a label stored earlier
    return {
        "ciclo": cycle.id,
        "codigo_compromiso": commitment.code,
        "compromiso_ogp": commitment.ogp_id,
        "compromiso": commitment.title,
        "codigo_hito": milestone.code,
        "hito": milestone.description,
        "institucion": milestone.institution,
        "fecha_inicio": milestone.start.isoformat(),
        "fecha_fin": milestone.end.isoformat(),
        "estado": estado,
        "avance_pct": progress,
        "avance_anterior": before,
        "cambio_pct": progress - before if progress is not None and before is not None else None,
        "vencido": milestone.end < cycle.deadline and estado != COMPLETED,
        "fuente": source.fuente if source else "sin_datos",
        **{key: getattr(value, key) if value else "" for key in REPORTED_TEXTS},
        "envio": value.submission_id if value else None,
    }


def consolidated_table(
    db: Session, plan: Plan, cycle: Cycle, submissions: Collection[int] | None = None
) -> pd.DataFrame:
    """One row per milestone of the plan, in plan order, with the columns of ``COLUMNS``.

    ``submissions`` (a report's ``submissions``) rebuilds the table that report published: only
    those files' values count, so files accepted after it do not leak onto the public board.
    """
    sources = _sources(db, plan, cycle, submissions)
    before = _previous_values(db, plan, cycle)
    rows = [
        _row(plan.commitment(m.commitment), cycle, m, sources.get(m.code), before.get(m.code))
        for m in plan.milestones
    ]
    table = pd.DataFrame(rows, columns=COLUMNS)
    table[TEXT_COLUMNS] = table[TEXT_COLUMNS].astype(str)
    table[NUMBER_COLUMNS] = table[NUMBER_COLUMNS].astype("float64")
    table["vencido"] = table["vencido"].astype(bool)
    table["envio"] = table["envio"].astype("Int64")
    return table


def used_submissions(table: pd.DataFrame) -> list[int]:
    """Ids of the submissions whose values the consolidated table shows, ascending."""
    return sorted(int(envio) for envio in table["envio"].dropna().unique())


@dataclass(frozen=True)
class CommitmentFigures:
    """One commitment's milestones by state and its mean progress."""

    numero: int
    codigo: str
    ogp_id: str
    titulo: str
    no_iniciado: int
    iniciado: int
    completado: int
    sin_datos: int
    avance_pct: float


@dataclass(frozen=True)
class InstitutionFigures:
    """One institution's delivery in the cycle."""

    codigo: str
    nombre: str
    hitos: int
    estado_entrega: str
    envios: int
    rechazos: int
    prorroga: str = ""
    """The institution's extended deadline (AAAA-MM-DD), empty without an extension."""


@dataclass(frozen=True)
class Figures:
    """What the report summarises: headline, states, commitments, institutions."""

    milestones: int
    headline: float
    """Share of the plan's milestones completed, in % with two decimals."""
    counts: dict[str, int]
    """Milestones per state code, the three states and ``no_data``, in that order."""
    commitments: list[CommitmentFigures]
    institutions: list[InstitutionFigures]
    overdue: int
    changed: int
    """Milestones whose progress differs from the previous cycle's."""


COMMITMENT_FORMULA = "report.formula"
"""Catalogue key of how a commitment's progress is computed, as the report states it."""


def _state_counts(rows: pd.DataFrame) -> dict[str, int]:
    counts = Counter(state or NO_DATA for state in rows["estado"])
    return {state: counts[state] for state in (*STATE_CODES, NO_DATA)}


def _commitments(plan: Plan, table: pd.DataFrame) -> list[CommitmentFigures]:
    """Each commitment's counts and mean, from one grouping of the table (4,000 commitments at
    N = 1,000: one filter per commitment was most of the consolidation's time)."""
    by = table["codigo_compromiso"]
    states = table["estado"].where(table["estado"] != "", NO_DATA)
    counts = states.groupby(by, sort=False).value_counts().to_dict()
    # COMMITMENT_FORMULA: milestones without data count as 0 %.
    means = table["avance_pct"].fillna(0.0).groupby(by, sort=False).mean().to_dict()
    return [
        CommitmentFigures(
            numero=c.number,
            codigo=c.code,
            ogp_id=c.ogp_id,
            titulo=c.title,
            no_iniciado=counts.get((c.code, NOT_STARTED), 0),
            iniciado=counts.get((c.code, IN_PROGRESS), 0),
            completado=counts.get((c.code, COMPLETED), 0),
            sin_datos=counts.get((c.code, NO_DATA), 0),
            avance_pct=round(float(means.get(c.code, 0.0)), 2),
        )
        for c in plan.commitments
    ]


def _delivery(plan: Plan, deadline: date, accepted: list[datetime]) -> str:
    """On time when the first accepted file arrived by the end of the deadline day (local), the
    deadline being the institution's extension if it has one."""
    if not accepted:
        return MISSING
    on_time = local_date(min(accepted), plan.timezone) <= deadline
    return ON_TIME if on_time else LATE


def _institutions(db: Session, plan: Plan, cycle: Cycle) -> list[InstitutionFigures]:
    by_institution: dict[str, list[tuple[str, datetime]]] = {}
    for institution, outcome, review, received_at in db.execute(
        select(
            Submission.institution, Submission.outcome, Submission.review, Submission.received_at
        ).where(of_cycle(Submission, plan.id, cycle.id))
    ):
        # A file the review returned counts as not delivered, like a rejected one.
        counted = "returned" if review == "returned" and outcome in ACCEPTED else outcome
        by_institution.setdefault(str(institution), []).append((counted, received_at))
    extended = deadlines(db, cycle)
    rows = []
    for institution in plan.reporting_institutions():
        submissions = by_institution.get(institution.code, [])
        accepted = [received for outcome, received in submissions if outcome in ACCEPTED]
        deadline = extended.get(institution.code, cycle.deadline)
        rows.append(
            InstitutionFigures(
                codigo=institution.code,
                nombre=institution.name,
                hitos=len(plan.milestones_of(institution.code)),
                estado_entrega=_delivery(plan, deadline, accepted),
                envios=len(submissions),
                rechazos=sum(outcome in REJECTED for outcome, _ in submissions),
                prorroga=extended[institution.code].isoformat()
                if institution.code in extended
                else "",
            )
        )
    return rows


def figures(db: Session, plan: Plan, cycle: Cycle, table: pd.DataFrame) -> Figures:
    """The report's figures, from the consolidated table and the cycle's submissions."""
    counts = _state_counts(table)
    total = len(table)
    change = table["cambio_pct"]
    return Figures(
        milestones=total,
        headline=round(100 * counts[COMPLETED] / total, 2) if total else 0.0,
        counts=counts,
        commitments=_commitments(plan, table),
        institutions=_institutions(db, plan, cycle),
        overdue=int(table["vencido"].sum()),
        changed=int((change.notna() & (change != 0)).sum()),
    )
