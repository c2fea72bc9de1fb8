"""The consolidated table of a cycle and the figures the report shows, read from the ledger.

One row per milestone of the plan, in plan order. Values come from the publishable file of the
responsible institution in the cycle (its newest approved file since the last return,
``tasks.core.delivery``); an institution without one keeps its last known values from an
earlier cycle, marked ``ultimo_conocido``, so the public never mistakes them for news.
Deliveries come from ``tasks.storage.queries.deliveries``, the answer every view gives.
Contacts (names, emails) and senders never enter the table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import pandas as pd
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from tasks.core import contract
from tasks.core.contract import COMPLETED, IN_PROGRESS, NOT_STARTED, STATE_CODES
from tasks.core.delivery import FileFact
from tasks.core.states import Delivery, Outcome, Review
from tasks.plans.plan import Commitment, Milestone, Plan
from tasks.storage.ledger import Cycle, MilestoneValue, Report, Submission
from tasks.storage.queries import (
    cycles_of,
    deliveries,
    extensions_of,
    files_by_institution,
    previous_cycle,
    publishable_files,
    published_report,
)

NO_DATA = "no_data"
"""The state counted for a milestone nobody ever reported (its label: ``report.no_data``)."""
REJECTED = (Outcome.REJECTED, Outcome.UNREADABLE)
"""Outcomes the institution had to answer with another file."""

NUMBER_COLUMNS = [contract.PROGRESS, "avance_anterior", "cambio_pct"]
REPORTED_TEXTS = [k for k in contract.VALUE_COLUMNS if contract.BY_KEY[k].kind in ("text", "url")]
"""The institution's own texts, published as written."""
PUBLISHED_COLUMNS = [
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
TEXT_COLUMNS = [c for c in PUBLISHED_COLUMNS if c not in (*NUMBER_COLUMNS, "vencido", "envio")]


@dataclass(frozen=True)
class _Source:
    """A milestone's value and where it came from."""

    value: Row[Any]
    """``milestone``, ``estado``, ``avance_pct``, the three texts and ``submission_id``."""
    fuente: str


def _values_of(db: Session, submission_ids: Collection[int]) -> Iterable[Row[Any]]:
    """The milestone values of these files: newest cycle, version, submission first.

    Plain rows from one query, not ORM objects: at 1,000 institutions building 35,000 mapped
    instances took most of the consolidation's ledger time.
    """
    if not submission_ids:
        return ()
    return db.execute(
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
        .where(Submission.id.in_(list(submission_ids)))
        .order_by(
            Submission.cycle_id.desc(),
            Submission.version.desc(),
            Submission.id.desc(),
            MilestoneValue.id,
        )
    )


def _cycles_up_to(db: Session, cycle: Cycle) -> list[str]:
    return [c.id for c in cycles_of(db, cycle.plan_id) if c.id <= cycle.id]


def _owner(plan: Plan) -> dict[str, str]:
    """Milestone code → its responsible institution: a value counts only from its owner."""
    return {m.code: m.institution for m in plan.milestones}


def publishable(db: Session, plan: Plan, cycle: Cycle) -> list[int]:
    """The files a consolidation of the cycle reads: each institution's publishable file
    (``tasks.core.delivery``) in this cycle and the earlier ones."""
    return sorted(f.id for f in publishable_files(db, plan.id, _cycles_up_to(db, cycle)).values())


def _sources(db: Session, plan: Plan, cycle: Cycle, files: Collection[int]) -> dict[str, _Source]:
    """Milestone code → the value the report uses: this cycle's, else the last known one."""
    owner = _owner(plan)
    found: dict[str, _Source] = {}
    for value in _values_of(db, files):
        if owner.get(value.milestone) == value.institution and value.milestone not in found:
            fuente = "reportado" if value.cycle_id == cycle.id else "ultimo_conocido"
            found[value.milestone] = _Source(value, fuente)
    return found


def _previous_values(db: Session, plan: Plan, cycle: Cycle) -> dict[str, float]:
    """Milestone code → progress in the previous cycle as the public saw it: its published
    version's files (so a change since the last cycle compares with what was published, not with
    files approved after it), else the files a consolidation of it would read."""
    previous = previous_cycle(db, plan.id, cycle.id)
    if previous is None:
        return {}
    owner = _owner(plan)
    published = published_report(db, plan.id, previous.id)
    files = (
        published.submissions
        if published is not None
        else [f.id for f in publishable_files(db, plan.id, [previous.id]).values()]
    )
    values: dict[str, float] = {}
    for value in _values_of(db, files):
        if value.cycle_id == previous.id and owner.get(value.milestone) == value.institution:
            values.setdefault(value.milestone, value.avance_pct)
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
    """One row per milestone of the plan, in plan order, with the columns of ``PUBLISHED_COLUMNS``.

    The values are those of ``submissions``: by default the publishable files of the cycle and
    the earlier ones; a report's ``submissions`` rebuilds the table that report published, so
    files approved after it do not leak onto the public board.
    """
    files = publishable(db, plan, cycle) if submissions is None else submissions
    sources = _sources(db, plan, cycle, files)
    before = _previous_values(db, plan, cycle)
    rows = [
        _row(plan.commitment(m.commitment), cycle, m, sources.get(m.code), before.get(m.code))
        for m in plan.milestones
    ]
    table = pd.DataFrame(rows, columns=PUBLISHED_COLUMNS)
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
    avance_anterior: float | None = None
    """Its progress in the earlier cycle the report compares with (``Figures.previous``)."""

    @property
    def with_data(self) -> bool:
        """Whether any of its milestones was ever reported: without, its 0 % is no figure at all
        (shown as «sin datos», never as 0 %)."""
        return self.sin_datos < self.no_iniciado + self.iniciado + self.completado + self.sin_datos

    @property
    def cambio_pct(self) -> float | None:
        """Change since the compared cycle, in percentage points; None without both figures."""
        if self.avance_anterior is None or not self.with_data:
            return None
        return round(self.avance_pct - self.avance_anterior, 2)


@dataclass(frozen=True)
class InstitutionFigures:
    """One institution's delivery in the cycle."""

    codigo: str
    nombre: str
    hitos: int
    estado_entrega: Delivery
    envios: int
    rechazos: int
    prorroga: str = ""
    """The institution's extended deadline (AAAA-MM-DD), empty without an extension."""


@dataclass(frozen=True)
class CycleFigures:
    """An earlier cycle as its public report showed it: what a later report charts and compares
    with."""

    cycle_id: str
    version: int | None
    """The published version shown; None for a cycle never published (as consolidating it
    would read it: what its milestones' ``avance_anterior`` compare with too)."""
    milestones: int
    headline: float
    counts: dict[str, int]
    commitments: dict[str, float | None]
    """Commitment code → its progress; None when none of its milestones had data."""


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
    history: list[CycleFigures] = field(default_factory=list)
    """The plan's earlier published cycles, oldest first (``report_figures``); empty otherwise."""
    previous: CycleFigures | None = None
    """The previous cycle, which the headline and each commitment compare with (as each
    milestone's ``avance_anterior`` does: its published version, else what consolidating it
    would read); None for a first cycle or without ``report_figures``."""
    source_cycles: dict[int, str] = field(default_factory=dict)
    """Submission id → its cycle, for the files the table shows (``report_figures``): where
    a value carried over from an earlier cycle comes from."""

    @property
    def headline_change(self) -> float | None:
        """Change of the headline since ``previous``, in percentage points."""
        return round(self.headline - self.previous.headline, 2) if self.previous else None

    @property
    def delivered(self) -> int:
        return sum(i.estado_entrega != Delivery.NOT_DELIVERED for i in self.institutions)

    @property
    def not_delivered(self) -> list[str]:
        """Codes of the institutions that did not deliver, in the plan's order."""
        return [i.codigo for i in self.institutions if i.estado_entrega == Delivery.NOT_DELIVERED]


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


def institution_figures(db: Session, plan: Plan, cycle: Cycle) -> list[InstitutionFigures]:
    """Each institution's delivery in the cycle (``tasks.storage.queries.deliveries``, the one
    answer every view gives) and how many files it took."""
    verdicts = deliveries(db, plan, cycle, cycle.deadline)
    files = files_by_institution(db, plan.id, cycle.id)
    extended = extensions_of(db, plan.id, cycle.id)
    return [
        InstitutionFigures(
            codigo=institution.code,
            nombre=institution.name,
            hitos=len(plan.milestones_of(institution.code)),
            estado_entrega=verdicts[institution.code].state,
            envios=len(files.get(institution.code, [])),
            rechazos=sum(_sent_again(f) for f in files.get(institution.code, [])),
            prorroga=extended[institution.code].until.isoformat()
            if institution.code in extended
            else "",
        )
        for institution in plan.reporting_institutions()
    ]


def _sent_again(file: FileFact) -> bool:
    """A file the institution had to send again: refused by the rules or returned by review."""
    return file.outcome in REJECTED or (file.accepted and file.review == Review.RETURNED)


def snapshot(institutions: list[InstitutionFigures]) -> list[dict[str, Any]]:
    """The institutions' figures as a report version keeps them (``Report.institutions``)."""
    return [asdict(i) for i in institutions]


def from_snapshot(kept: list[dict[str, Any]]) -> list[InstitutionFigures]:
    """The institutions' figures as a published version showed them."""
    return [
        InstitutionFigures(**{**row, "estado_entrega": Delivery(row["estado_entrega"])})
        for row in kept
    ]


def figures(plan: Plan, table: pd.DataFrame, institutions: list[InstitutionFigures]) -> Figures:
    """The report's figures, from the consolidated table and the institutions' deliveries."""
    counts = _state_counts(table)
    total = len(table)
    change = table["cambio_pct"]
    return Figures(
        milestones=total,
        headline=round(100 * counts[COMPLETED] / total, 2) if total else 0.0,
        counts=counts,
        commitments=_commitments(plan, table),
        institutions=institutions,
        overdue=int(table["vencido"].sum()),
        changed=int((change.notna() & (change != 0)).sum()),
    )


def _as_shown(db: Session, plan: Plan, cycle: Cycle, version: Report | None) -> CycleFigures:
    """A cycle's figures as ``version`` published them, or as consolidating it would read."""
    table = consolidated_table(db, plan, cycle, version.submissions if version else None)
    counts = _state_counts(table)
    total = len(table)
    return CycleFigures(
        cycle_id=cycle.id,
        version=version.version if version else None,
        milestones=total,
        headline=round(100 * counts[COMPLETED] / total, 2) if total else 0.0,
        counts=counts,
        commitments={
            c.codigo: c.avance_pct if c.with_data else None for c in _commitments(plan, table)
        },
    )


def earlier_cycles(db: Session, plan: Plan, cycle: Cycle) -> list[CycleFigures]:
    """The plan's cycles before ``cycle`` that the public has seen, oldest first, each as its
    published version showed it (rebuilt from that version's submissions, as the board does); a
    cycle never published is left out, so a chart never shows unpublished figures."""
    found = []
    for earlier in cycles_of(db, plan.id):
        public = published_report(db, plan.id, earlier.id) if earlier.id < cycle.id else None
        if public is not None:
            found.append(_as_shown(db, plan, earlier, public))
    return found


def _source_cycles(db: Session, submissions: Collection[int]) -> dict[int, str]:
    if not submissions:
        return {}
    rows = db.execute(
        select(Submission.id, Submission.cycle_id).where(Submission.id.in_(list(submissions)))
    )
    return {row.id: str(row.cycle_id) for row in rows}


def report_figures(
    db: Session,
    plan: Plan,
    cycle: Cycle,
    table: pd.DataFrame,
    institutions: list[InstitutionFigures],
) -> Figures:
    """``figures`` with what the report adds: the earlier published cycles (its chart across
    cycles), the previous cycle (the change of the headline and of each commitment) and the
    cycle of each file used."""
    history = earlier_cycles(db, plan, cycle)
    before = previous_cycle(db, plan.id, cycle.id)
    previous = None
    if before is not None:
        shown = history[-1] if history and history[-1].cycle_id == before.id else None
        previous = shown or _as_shown(db, plan, before, None)  # never published
    numbers = figures(plan, table, institutions)
    then = previous.commitments if previous else {}
    return replace(
        numbers,
        commitments=[replace(c, avance_anterior=then.get(c.codigo)) for c in numbers.commitments],
        history=history,
        previous=previous,
        source_cycles=_source_cycles(db, used_submissions(table)),
    )
