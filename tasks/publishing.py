"""Publishing a consolidation: a new report version only when its inputs changed, then the email."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from tasks.consolidation import Figures, consolidated_table, figures, used_submissions
from tasks.ledger import Cycle, Report, session
from tasks.mail import Outgoing, compose
from tasks.plans import Plan
from tasks.rendering import month_year
from tasks.report import write_report
from tasks.settings import Settings


@dataclass
class Publication:
    """A report version and the figures it shows, for the director's email and the artifact."""

    report: Report
    cycle: Cycle
    figures: Figures


def publish(settings: Settings, plan: Plan, cycle_id: str) -> Publication:
    """The cycle's report: the latest version if built from the same submissions, else a new one."""
    with session(settings.database) as db:
        cycle = db.get(Cycle, cycle_id)
        if cycle is None:
            raise ValueError(
                f"cycle {cycle_id} does not exist: open it first (hitos cycle open {cycle_id})"
            )
        used = used_submissions(db, plan, cycle)
        table = consolidated_table(db, plan, cycle)
        numbers = figures(db, plan, cycle, table)
        latest = db.scalars(
            select(Report).where(Report.cycle_id == cycle_id).order_by(Report.version.desc())
        ).first()
        if (
            latest is not None
            and latest.submissions == used
            and all(Path(p).exists() for p in latest.files.values())
        ):
            return Publication(latest, cycle, numbers)
        version = (latest.version + 1) if latest else 1
        files = write_report(
            plan, cycle, table, numbers, settings.folder("reports", cycle_id), version, used
        )
        report = Report(
            cycle_id=cycle_id,
            version=version,
            submissions=used,
            files={k: str(v) for k, v in files.items()},
        )
        db.add(report)
        if cycle.state == "open":
            cycle.state = "consolidated"
        return Publication(report, cycle, numbers)


def report_email(plan: Plan, publication: Publication) -> Outgoing:
    """The director's notice that a report version is ready, with where to find it."""
    report, numbers = publication.report, publication.figures
    delivered = sum(1 for row in numbers.institutions if row.estado_entrega != "sin entregar")
    return compose(
        "report",
        key=f"{report.cycle_id}/-/report/{report.version}",
        kind="report",
        to=[plan.coordinator.director.email],
        subject=(
            f"[Gobierno Abierto] Informe consolidado · {month_year(report.cycle_id)}"
            f" · v{report.version}"
        ),
        cycle_id=report.cycle_id,
        plan=plan,
        cycle=publication.cycle,
        version=report.version,
        figures=numbers,
        files=report.files,
        delivered=delivered,
        institutions=len(numbers.institutions),
    )
