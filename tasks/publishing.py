"""Publishing a consolidation: a new report version only when its inputs changed, then the email."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from tasks.consolidation import Figures, consolidated_table, figures, used_submissions
from tasks.ledger import Cycle, Report, session
from tasks.mail import Outgoing, compose
from tasks.plans import Plan
from tasks.rendering import month_year, render
from tasks.report import KINDS, write_report
from tasks.settings import Settings

ATTACHED = ("pdf", "xlsx")
"""What the director's email carries, so the report reads without the link: page and data."""


@dataclass
class Publication:
    """A report version and the figures it shows, for the director's email and the artifact."""

    report: Report
    cycle: Cycle
    figures: Figures
    links: dict[str, str] = field(default_factory=dict)
    """``latest_html``… → public URL (``report_base_url`` set) or file path; ``version``: the
    page of this very version, which later versions never overwrite (with a base URL only)."""


def links(settings: Settings, report: Report) -> dict[str, str]:
    """Where the director and the public find each file: URLs under the base, else file paths."""
    base = settings.report_base_url.rstrip("/")
    found: dict[str, str] = {}
    for kind in KINDS:
        path = report.files.get(f"latest_{kind}")
        if path is None:
            continue
        name = Path(path).name
        found[f"latest_{kind}"] = f"{base}/{report.cycle_id}/latest/{name}" if base else path
    if base and "html" in report.files:
        name = Path(report.files["html"]).name
        found["version"] = f"{base}/{report.cycle_id}/v{report.version}/{name}"
    return found


def publish(settings: Settings, plan: Plan, cycle_id: str) -> Publication:
    """The cycle's report: the latest version if built from the same submissions, else a new one."""
    with session(settings.database) as db:
        cycle = db.get(Cycle, cycle_id)
        if cycle is None:
            raise ValueError(
                f"cycle {cycle_id} does not exist: open it first (hitos cycle open {cycle_id})"
            )
        table = consolidated_table(db, plan, cycle)
        used = used_submissions(table)
        numbers = figures(db, plan, cycle, table)
        latest = db.scalars(
            select(Report).where(Report.cycle_id == cycle_id).order_by(Report.version.desc())
        ).first()
        if (
            latest is not None
            and latest.submissions == used
            and set(KINDS) <= latest.files.keys()  # a version from before the PDF is rebuilt
            and all(Path(p).exists() for p in latest.files.values())
        ):
            return Publication(latest, cycle, numbers, links(settings, latest))
        version = (latest.version + 1) if latest else 1
        files = write_report(
            plan,
            cycle,
            table,
            numbers,
            settings.folder("reports", cycle_id),
            version,
            used,
            public=False,  # a draft until the director publishes it (tasks.approval)
        )
        report = Report(
            cycle_id=cycle_id,
            version=version,
            submissions=used,
            files={k: str(v) for k, v in files.items()},
        )
        db.add(report)
        return Publication(report, cycle, numbers, links(settings, report))


def report_email(plan: Plan, publication: Publication) -> Outgoing:
    """The director's notice that a report version is ready: figures, links, PDF and XLSX."""
    report, numbers = publication.report, publication.figures
    delivered = sum(1 for row in numbers.institutions if row.estado_entrega != "sin entregar")
    attachments = [Path(report.files[kind]) for kind in ATTACHED if kind in report.files]
    return compose(
        "report",
        key=f"{report.cycle_id}/-/report/{report.version}",
        kind="report",
        to=[plan.coordinator.director.email],
        subject=(
            f"[Gobierno Abierto] Informe consolidado · {month_year(report.cycle_id)}"
            f" · v{report.version}"
        ),
        attachments=attachments,
        cycle_id=report.cycle_id,
        plan=plan,
        cycle=publication.cycle,
        version=report.version,
        figures=numbers,
        files=publication.links or report.files,
        attached=[path.name for path in attachments],
        delivered=delivered,
        institutions=len(numbers.institutions),
    )


def summary_markdown(publication: Publication) -> str:
    """The Prefect artifact of a consolidation: headline, commitments, deliveries, files."""
    return render(
        "report_summary.md",
        report=publication.report,
        figures=publication.figures,
        links=publication.links or publication.report.files,
    )
