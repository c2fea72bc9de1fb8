"""The consolidated table of a cycle and the figures the report shows, read from the ledger.

One row per milestone of the plan, in plan order. Values come from the latest accepted
submission of the responsible institution in the cycle; an institution that did not report
keeps its last known values from an earlier cycle, marked ``ultimo_conocido``, so the public
never mistakes them for news. Contacts (names, emails) and senders never enter the table.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tasks.deadlines import local_date
from tasks.ledger import ACCEPTED, Cycle, MilestoneValue, Submission, previous_cycle
from tasks.plans import Commitment, Milestone, Plan
from tasks.workbooks import STATES, plan_index

COMPLETED = "Completado"
NO_DATA = "Sin datos"
REJECTED = ("rejected", "unreadable")
"""Outcomes counted as rejections: the institution has to send the file again."""

DATA_DICTIONARY: list[tuple[str, str]] = [
    ("ciclo", "Ciclo de reporte (AAAA-MM)."),
    ("codigo_compromiso", "Código del compromiso en el plan (C01, C02…)."),
    ("compromiso_ogp", "Identificador del compromiso en la Alianza para el Gobierno Abierto."),
    ("compromiso", "Título del compromiso."),
    ("codigo_hito", "Código del hito: número de compromiso y de hito (9.1, 10.3), como texto."),
    ("hito", "Descripción del hito según el plan."),
    ("institucion", "Siglas de la institución responsable del hito."),
    ("fecha_inicio", "Fecha de inicio planificada (AAAA-MM-DD)."),
    ("fecha_fin", "Fecha de finalización planificada (AAAA-MM-DD)."),
    ("estado", "No iniciado, Iniciado o Completado; vacío si la institución nunca reportó."),
    ("avance_pct", "Avance del hito, de 0 a 100; vacío si no hay datos."),
    ("avance_anterior", "Avance reportado en el ciclo anterior; vacío si no lo hubo."),
    ("cambio_pct", "avance_pct menos avance_anterior, en puntos porcentuales."),
    (
        "vencido",
        "True si la fecha de finalización es anterior a la fecha límite del ciclo y el hito "
        "no está Completado.",
    ),
    (
        "fuente",
        "reportado: enviado en este ciclo; ultimo_conocido: último dato aceptado de un ciclo "
        "anterior, sin actualizar; sin_datos: la institución nunca reportó este hito.",
    ),
    ("descripcion_avance", "Lo realizado en el período, escrito por la institución."),
    ("evidencia_url", "Enlace a la evidencia, indicado por la institución."),
    ("observaciones", "Observaciones de la institución."),
    ("envio", "Número del envío del que provienen los datos; vacío si no hay datos."),
]
"""Every column of the consolidated table with its meaning, in Spanish (published as is)."""

COLUMNS = [name for name, _ in DATA_DICTIONARY]
TEXT_COLUMNS = [
    "ciclo",
    "codigo_compromiso",
    "compromiso_ogp",
    "compromiso",
    "codigo_hito",
    "hito",
    "institucion",
    "fecha_inicio",
    "fecha_fin",
    "estado",
    "fuente",
    "descripcion_avance",
    "evidencia_url",
    "observaciones",
]
NUMBER_COLUMNS = ["avance_pct", "avance_anterior", "cambio_pct"]


@dataclass(frozen=True)
class _Source:
    """A milestone's value and where it came from."""

    value: MilestoneValue
    fuente: str


def _accepted(db: Session, institution: str, cycle_ids: list[str]) -> list[Submission]:
    """Accepted submissions of an institution in these cycles, newest cycle and version first."""
    return _accepted_by_institution(db, [institution], cycle_ids).get(institution, [])


def _accepted_by_institution(
    db: Session, institutions: list[str], cycle_ids: list[str]
) -> dict[str, list[Submission]]:
    """Accepted submissions in these cycles, per institution, newest cycle and version first.

    One query, with every submission's values loaded in a second one: asking per institution
    and loading values per submission made 2N round trips, the cost of a 1,000-institution
    consolidation.
    """
    if not cycle_ids or not institutions:
        return {}
    found: dict[str, list[Submission]] = {}
    submissions = db.scalars(
        select(Submission)
        .where(
            Submission.institution.in_(institutions),
            Submission.cycle_id.in_(cycle_ids),
            Submission.outcome.in_(ACCEPTED),
        )
        .options(selectinload(Submission.values))
        .order_by(Submission.cycle_id.desc(), Submission.version.desc(), Submission.id.desc())
    )
    for submission in submissions:
        found.setdefault(str(submission.institution), []).append(submission)
    return found


def _cycles_up_to(db: Session, cycle: Cycle) -> list[str]:
    return list(db.scalars(select(Cycle.id).where(Cycle.id <= cycle.id)))


def _codes(plan: Plan) -> dict[str, set[str]]:
    """Each reporting institution's milestone codes, in the plan's order of institutions."""
    by_institution = plan_index(plan)[0]
    return {
        i.code: {m.code for m in by_institution[i.code]}
        for i in plan.institutions
        if i.code in by_institution
    }


def _sources(db: Session, plan: Plan, cycle: Cycle) -> dict[str, _Source]:
    """Milestone code → the value the report uses: this cycle's, else the last known one."""
    codes = _codes(plan)
    accepted = _accepted_by_institution(db, list(codes), _cycles_up_to(db, cycle))
    found: dict[str, _Source] = {}
    for institution, own in codes.items():
        for submission in accepted.get(institution, []):
            fuente = "reportado" if submission.cycle_id == cycle.id else "ultimo_conocido"
            for value in submission.values:
                if value.milestone in own and value.milestone not in found:
                    found[value.milestone] = _Source(value, fuente)
    return found


def _previous_values(db: Session, plan: Plan, cycle: Cycle) -> dict[str, float]:
    """Milestone code → progress in the previous cycle's latest accepted submission."""
    previous = previous_cycle(db, cycle.id)
    if previous is None:
        return {}
    codes = _codes(plan)
    accepted = _accepted_by_institution(db, list(codes), [previous.id])
    values: dict[str, float] = {}
    for institution, own in codes.items():
        submissions = accepted.get(institution)
        if submissions:
            values.update(
                (v.milestone, v.avance_pct) for v in submissions[0].values if v.milestone in own
            )
    return values


def _row(
    commitment: Commitment,
    cycle: Cycle,
    milestone: Milestone,
    source: _Source | None,
    before: float | None,
) -> dict[str, object]:
    value = source.value if source else None
    progress = value.avance_pct if value else None
    estado = value.estado if value else ""
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
        "descripcion_avance": value.descripcion_avance if value else "",
        "evidencia_url": value.evidencia_url if value else "",
        "observaciones": value.observaciones if value else "",
        "envio": value.submission_id if value else None,
    }


def consolidated_table(db: Session, plan: Plan, cycle: Cycle) -> pd.DataFrame:
    """One row per milestone of the plan, in plan order, with the columns of DATA_DICTIONARY."""
    sources = _sources(db, plan, cycle)
    before = _previous_values(db, plan, cycle)
    commitments = plan_index(plan)[1]
    rows = [
        _row(commitments[m.commitment], cycle, m, sources.get(m.code), before.get(m.code))
        for m in plan.milestones
    ]
    table = pd.DataFrame(rows, columns=COLUMNS)
    table[TEXT_COLUMNS] = table[TEXT_COLUMNS].astype(str)
    table[NUMBER_COLUMNS] = table[NUMBER_COLUMNS].astype("float64")
    table["vencido"] = table["vencido"].astype(bool)
    table["envio"] = table["envio"].astype("Int64")
    return table


def used_submissions(db: Session, plan: Plan, cycle: Cycle) -> list[int]:
    """Ids of the submissions whose values the report shows, ascending."""
    return sorted({s.value.submission_id for s in _sources(db, plan, cycle).values()})


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


@dataclass(frozen=True)
class Figures:
    """What the report summarises: headline, states, commitments, institutions."""

    milestones: int
    headline: float
    """Share of the plan's milestones completed, in % with two decimals."""
    counts: dict[str, int]
    """Milestones per state, the three states and «Sin datos», in that order."""
    commitments: list[CommitmentFigures]
    institutions: list[InstitutionFigures]
    overdue: int
    changed: int
    """Milestones whose progress differs from the previous cycle's."""


COMMITMENT_FORMULA = (
    "Avance del compromiso = suma del avance (%) de sus hitos ÷ número de hitos del "
    "compromiso, redondeado a dos decimales. Un hito sin datos cuenta como 0 %."
)
"""How a commitment's progress is computed, as the report page states it."""


def _state_counts(rows: pd.DataFrame) -> dict[str, int]:
    counts = Counter(state or NO_DATA for state in rows["estado"])
    return {state: counts[state] for state in (*STATES, NO_DATA)}


def _commitment(commitment: Commitment, rows: pd.DataFrame) -> CommitmentFigures:
    counts = _state_counts(rows)
    # COMMITMENT_FORMULA: milestones without data count as 0 %.
    mean = float(rows["avance_pct"].fillna(0.0).mean()) if len(rows) else 0.0
    return CommitmentFigures(
        numero=commitment.number,
        codigo=commitment.code,
        ogp_id=commitment.ogp_id,
        titulo=commitment.title,
        no_iniciado=counts["No iniciado"],
        iniciado=counts["Iniciado"],
        completado=counts[COMPLETED],
        sin_datos=counts[NO_DATA],
        avance_pct=round(mean, 2),
    )


def _delivery(plan: Plan, cycle: Cycle, submissions: list[Submission]) -> str:
    """«a tiempo» when the first accepted file arrived by the end of the deadline day (local)."""
    accepted = [s.received_at for s in submissions if s.outcome in ACCEPTED]
    if not accepted:
        return "sin entregar"
    on_time = local_date(min(accepted), plan.timezone) <= cycle.deadline
    return "a tiempo" if on_time else "tarde"


def _institutions(db: Session, plan: Plan, cycle: Cycle) -> list[InstitutionFigures]:
    by_institution: dict[str, list[Submission]] = {}
    for submission in db.scalars(select(Submission).where(Submission.cycle_id == cycle.id)):
        by_institution.setdefault(str(submission.institution), []).append(submission)
    milestones = plan_index(plan)[0]
    rows = []
    for institution in plan.reporting_institutions():
        submissions = by_institution.get(institution.code, [])
        rows.append(
            InstitutionFigures(
                codigo=institution.code,
                nombre=institution.name,
                hitos=len(milestones[institution.code]),
                estado_entrega=_delivery(plan, cycle, submissions),
                envios=len(submissions),
                rechazos=sum(s.outcome in REJECTED for s in submissions),
            )
        )
    return rows


def figures(db: Session, plan: Plan, cycle: Cycle, table: pd.DataFrame) -> Figures:
    """The report's figures, from the consolidated table and the cycle's submissions."""
    counts = _state_counts(table)
    total = len(table)
    change = table["cambio_pct"]
    # One pass over the table, not one filter per commitment (4,000 of them at N = 1,000).
    groups = {str(code): rows for code, rows in table.groupby("codigo_compromiso", sort=False)}
    return Figures(
        milestones=total,
        headline=round(100 * counts[COMPLETED] / total, 2) if total else 0.0,
        counts=counts,
        commitments=[_commitment(c, groups.get(c.code, table.iloc[0:0])) for c in plan.commitments],
        institutions=_institutions(db, plan, cycle),
        overdue=int(table["vencido"].sum()),
        changed=int((change.notna() & (change != 0)).sum()),
    )
