"""hitos.consolidate: the report from the latest accepted files, and the director told."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows import ALERTS, step
from tasks.board import build_board
from tasks.boundaries import cycle_id as checked_cycle_id
from tasks.catalogues import language_of
from tasks.mail import send_all
from tasks.plans import load_plan
from tasks.publishing import current_cycle, publish, report_email, summary_markdown
from tasks.settings import Settings

build_report = step(publish, "build-report", "report-{cycle_id}")
render_notice = step(report_email, "render-notice")
send_emails = step(send_all, "send-emails", retries=2)
find_cycle = step(current_cycle, "find-cycle")
rebuild_board = step(build_board, "build-board")


@flow(name="hitos.consolidate", log_prints=True, validate_parameters=True, **ALERTS)
def consolidate(cycle_id: str = "") -> dict[str, str]:
    """Consolidate a cycle (``YYYY-MM``; empty: the cycle being reported): page, PDF, XLSX and
    CSV, and the director's email."""
    cycle_id = checked_cycle_id(cycle_id) if cycle_id else ""
    settings = Settings()
    plan = load_plan(settings.plan)
    cycle_id = cycle_id or find_cycle(settings)
    publication = build_report(settings, plan, cycle_id)
    report = publication.report
    rebuild_board(settings, plan)
    language = language_of(settings, plan)
    send_emails(settings, [render_notice(plan, publication, language)])
    create_markdown_artifact(
        key=f"hitos-report-{cycle_id}",
        markdown=summary_markdown(publication, language),
        description=f"Consolidated report {cycle_id} v{report.version}",
    )
    return {kind: str(path) for kind, path in publication.paths.items()}


if __name__ == "__main__":
    consolidate("2023-03")
