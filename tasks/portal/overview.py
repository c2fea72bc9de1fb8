"""What a liaison's page shows (and a new liaison's welcome email): the institution's milestones
with their states and progress cycle by cycle, its deadline and any extension, its delivery, every
file it sent with what happened to it, and the Mesa's agreements still open for it.

Every fact is asked of the named queries (``tasks.storage.queries``): the deadline, the delivery
and the standing file are the ones status, the console and the emails give.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from tasks.core.delivery import DeliveryVerdict
from tasks.core.findings import Finding
from tasks.core.states import Outcome, Review
from tasks.plans.plan import Institution, Milestone, Plan
from tasks.storage import queries
from tasks.storage.ledger import Agreement, Cycle, Extension, MilestoneValue, Submission


@dataclass(frozen=True)
class Step:
    """What the institution's standing file of one cycle said of a milestone."""

    cycle_id: str
    estado: str
    avance_pct: float | None
    evidencia_url: str


@dataclass(frozen=True)
class MilestoneHistory:
    milestone: Milestone
    steps: list[Step]
    """Oldest cycle first; cycles without a standing file are left out."""


@dataclass(frozen=True)
class SentFile:
    """One file the institution sent in the cycle and what became of it."""

    submission: Submission
    findings: list[Finding]
    review_note: str
    """The reviewer's comment on a returned file (``""`` otherwise)."""

    @property
    def rejected(self) -> bool:
        return self.submission.outcome == Outcome.REJECTED

    @property
    def returned(self) -> bool:
        return self.submission.review == Review.RETURNED


@dataclass(frozen=True)
class Overview:
    plan: Plan
    institution: Institution
    cycle: Cycle
    delivery: DeliveryVerdict
    extension: Extension | None
    milestones: list[MilestoneHistory]
    files: list[SentFile]
    agreements: list[Agreement] = field(default_factory=list)

    @property
    def to_fix(self) -> SentFile | None:
        """The newest file, when it is a rejected or returned one: what the liaison must fix
        (``None`` once a newer file stands)."""
        if not self.files:
            return None
        newest = self.files[0]
        return newest if newest.rejected or newest.returned else None


def overview(db: Session, plan: Plan, cycle: Cycle, code: str, today: date) -> Overview:
    """The institution's page in the cycle (``today``: the day lateness counts to)."""
    institution = plan.institution(code)
    delivery = queries.deliveries(db, plan, cycle, today)[code]
    extension = queries.extensions_of(db, plan.id, cycle.id).get(code)
    files = [
        SentFile(sub, [f.as_finding() for f in sub.findings], return_note(db, sub))
        for sub in queries.institution_files(db, plan.id, cycle.id, code)
    ]
    return Overview(
        plan,
        institution,
        cycle,
        delivery,
        extension,
        history(db, plan, code, cycle.id),
        files,
        queries.agreements_of(db, plan.id, code, only_open=True),
    )


def history(db: Session, plan: Plan, code: str, up_to: str) -> list[MilestoneHistory]:
    """Each of the institution's milestones as its standing file of each cycle reported it."""
    said: dict[str, dict[str, MilestoneValue]] = {}
    for cycle in queries.cycles_of(db, plan.id):
        if cycle.id <= up_to:
            said[cycle.id] = queries.standing_values(db, plan.id, cycle.id).get(code, {})
    return [
        MilestoneHistory(
            m,
            [
                Step(cycle_id, v.estado, v.avance_pct, v.evidencia_url or "")
                for cycle_id, values in said.items()
                if (v := values.get(m.code)) is not None
            ],
        )
        for m in plan.milestones_of(code)
    ]


def return_note(db: Session, sub: Submission) -> str:
    """The reviewer's comment when the file was returned."""
    if sub.review != Review.RETURNED:
        return ""
    returns = [d for d in queries.submission_decisions(db, sub.id) if d.action == "return"]
    return returns[0].note if returns else ""
