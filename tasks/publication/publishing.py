"""Publishing a consolidation: a new report version only when its inputs changed, then the email."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy import func, select

from tasks.catalogues import language_of
from tasks.core.calendar import local_date
from tasks.core.states import ReportState
from tasks.plans.plan import Plan
from tasks.publication.consolidation import (
    Figures,
    consolidated_table,
    from_snapshot,
    institution_figures,
    report_figures,
    snapshot,
    used_submissions,
)
from tasks.publication.report import KINDS, report_name, write_report
from tasks.rendering import render
from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.ledger import Cycle, Decision, Report, of_cycle, session, utcnow
from tasks.storage.queries import cycles_of, publication_sources, require_cycle


@dataclass
class Publication:
    """A report version and the figures it shows, for the director's email and the artifact."""

    report: Report
    cycle: Cycle
    figures: Figures
    paths: dict[str, Path] = field(default_factory=dict)
    """``html``… and ``latest_html``… → this worker's local copy of each file of the version."""
    links: dict[str, str] = field(default_factory=dict)
    """``latest_html``… → public URL (``report_base_url`` set) or local copy; ``version``: the
    page of this very version, which later versions never overwrite (with a base URL only)."""


def links(settings: Settings, report: Report, paths: dict[str, Path]) -> dict[str, str]:
    """Where the director and the public find each file: URLs under the base, else local copies."""
    base = settings.report_base_url.rstrip("/")
    found: dict[str, str] = {}
    for kind in KINDS:
        path = paths.get(f"latest_{kind}")
        if path is None:
            continue
        found[f"latest_{kind}"] = (
            f"{base}/{report.plan_id}/{report.cycle_id}/latest/{path.name}" if base else str(path)
        )
    if base and "html" in paths:
        folder = f"{base}/{report.plan_id}/{report.cycle_id}/v{report.version}"
        found["version"] = f"{folder}/{paths['html'].name}"
    return found


def local_copies(
    settings: Settings, plan: Plan, report: Report, data: dict[str, bytes]
) -> dict[str, Path]:
    """The version's files under ``reports/<plan>/<cycle>/v<n>/`` and, once the director
    published it, ``latest/`` (the public files: a draft never reaches them), from the store."""
    paths: dict[str, Path] = {}
    public = report.state != ReportState.DRAFT
    for kind, key in report.files.items():
        name = report_name(plan, report.cycle_id, kind)
        folder = ("reports", report.plan_id, report.cycle_id)
        version = f"v{report.version}"
        paths[kind] = filestore.local_copy(
            settings, data[key], *folder, version, name, public=public
        )
        if report.state == ReportState.PUBLISHED:
            paths[f"latest_{kind}"] = filestore.local_copy(
                settings, data[key], *folder, "latest", name, public=True
            )
    return paths


def current_cycle(settings: Settings) -> str:
    """The cycle of the settings' plan being reported: its newest one (open, consolidated or
    already closed)."""
    with session(settings.database) as db:
        cycles = cycles_of(db, settings.plan_id)
    found = cycles[-1].id if cycles else None
    if found is None:
        raise ValueError(
            f"plan {settings.plan_id} has no cycle yet: open one first "
            f"(hitos cycle open YYYY-MM --plan {settings.plan_id})"
        )
    return str(found)


SCHEDULE = "hitos (schedule)"
"""Who consolidates when nobody asked (the deadline's scheduled run), in the audit trail."""


def consolidate(
    settings: Settings, plan: Plan, cycle_id: str, actor: str = SCHEDULE
) -> Publication:
    """The cycle's report as the ledger stands: the version already made from the same sources
    (``tasks.storage.queries.Sources``: publishable files, deliveries and deadlines), else a new
    draft, recorded in the audit trail as ``actor``'s consolidation.

    The files live in the file store (so any worker can reuse or send them); this worker gets
    local copies.
    """
    with session(settings.database) as db:
        # The cycle's row is locked until this version is committed (PostgreSQL): a second
        # consolidation of the cycle waits, then finds this version and reuses it.
        cycle = require_cycle(db, plan.id, cycle_id, for_update=True)
        sources = publication_sources(db, plan, cycle, cycle.deadline)
        table = consolidated_table(db, plan, cycle, sorted(f.id for f in sources.files.values()))
        used = used_submissions(table)
        report = db.scalars(
            select(Report).where(of_cycle(Report, plan.id, cycle_id), Report.sources == sources.key)
        ).first()
        institutions = (
            from_snapshot(report.institutions)
            if report is not None and report.institutions
            else institution_figures(db, plan, cycle)
        )
        numbers = report_figures(db, plan, cycle, table, institutions)
        complete = (
            report is not None
            and set(KINDS) <= report.files.keys()  # a version from before the PDF is rebuilt
            and all(filestore.exists(db, key) for key in report.files.values())
        )
        if report is None or not complete:
            if report is None:
                latest = db.scalar(
                    select(func.max(Report.version)).where(of_cycle(Report, plan.id, cycle_id))
                )
                report = Report(
                    plan_id=plan.id,
                    cycle_id=cycle_id,
                    version=(latest or 0) + 1,
                    submissions=used,
                    sources=sources.key,
                    institutions=snapshot(institutions),
                    files={},
                )
                db.add(report)
                db.add(
                    Decision(
                        actor=actor,
                        action="consolidate",
                        plan_id=plan.id,
                        cycle_id=cycle_id,
                        report_version=report.version,
                    )
                )
            with TemporaryDirectory(prefix="hitos-report-") as folder:
                language = language_of(settings, plan)
                made_on = local_date(report.created_at or utcnow(), plan.timezone)
                written = write_report(
                    plan, cycle, table, numbers, Path(folder), report.version, language, made_on
                )
                report.files = {k: filestore.put(db, written[k].read_bytes()) for k in KINDS}
            # a draft: tasks.publication.approval publishes it (and marks the cycle consolidated)
        data = filestore.get_many(db, set(report.files.values()))
    paths = local_copies(settings, plan, report, data)
    return Publication(report, cycle, numbers, paths, links(settings, report, paths))


def summary_markdown(publication: Publication, language: str = "es") -> str:
    """The Prefect artifact of a consolidation: headline, commitments, deliveries, files."""
    return render(
        "report_summary.md",
        language,
        report=publication.report,
        figures=publication.figures,
        links=publication.links,
    )
