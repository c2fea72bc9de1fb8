"""What intake tells its callers about a file: the CLI, the flow's artifact, replies, console."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from tasks.core.cycles import cycle_label
from tasks.core.findings import Finding
from tasks.settings import Settings
from tasks.storage.ledger import Submission, of_cycle, session


@dataclass
class IntakeResult:
    """A submission's outcome with its findings, as every caller (CLI, flow, reply) needs it."""

    submission_id: int
    outcome: str
    institution: str | None
    cycle: str | None
    filename: str
    sender: str
    findings: list[Finding]
    plan: str | None = None

    def summary(self) -> dict[str, object]:
        """One line for tables: the intake artifact and the CLI."""
        return {
            "envío": self.submission_id,
            "archivo": self.filename,
            "institución": self.institution or "",
            "ciclo": cycle_label(self.plan, self.cycle) if self.plan and self.cycle else "",
            "resultado": self.outcome,
            "errores": sum(f.severity == "error" for f in self.findings),
            "advertencias": sum(f.severity == "warning" for f in self.findings),
        }

    def as_dict(self) -> dict[str, object]:
        return {
            "submission": self.submission_id,
            "outcome": self.outcome,
            "institution": self.institution,
            "plan": self.plan,
            "cycle": self.cycle,
            "filename": self.filename,
            "findings": [f.as_dict() for f in self.findings],
        }


def as_outcome(sub: Submission) -> IntakeResult:
    """A stored submission as intake's result (its findings loaded)."""
    return IntakeResult(
        sub.id,
        sub.outcome,
        sub.institution,
        sub.cycle_id,
        sub.filename,
        sub.sender,
        [f.as_finding() for f in sub.findings],
        sub.plan_id,
    )


def outcome_of(settings: Settings, sha256: str) -> IntakeResult:
    """The outcome of the file with this content (the first time it was received)."""
    with session(settings.database) as db:
        sub = db.scalars(select(Submission).where(Submission.sha256 == sha256)).first()
        assert sub is not None, "file was not stored"
        return as_outcome(sub)


def cycle_outcomes(
    settings: Settings, plan_id: str, cycle_id: str, institution: str | None = None
) -> list[IntakeResult]:
    """Every submission of a plan's cycle with its findings, for reviewers."""
    with session(settings.database) as db:
        query = select(Submission).where(of_cycle(Submission, plan_id, cycle_id))
        if institution:
            query = query.where(Submission.institution == institution)
        return [as_outcome(s) for s in db.scalars(query.order_by(Submission.id))]
