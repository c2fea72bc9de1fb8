"""hitos.consolidate: a draft report from the approved files, and the director told it awaits
approval (``hitos publish`` makes it public and rebuilds the board)."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from flows import ALERTS, settings_on, step
from tasks.catalogues import language_of
from tasks.checks.boundaries import cycle_id as checked_cycle_id
from tasks.core.cycles import cycle_label
from tasks.people.contacts import current_plan
from tasks.publication.approval import consolidate_draft
from tasks.publication.publishing import SCHEDULE, current_cycle, summary_markdown

build_draft = step(consolidate_draft, "build-draft", "draft-{cycle_id}", retries=2)
find_cycle = step(current_cycle, "find-cycle")


@flow(name="hitos.consolidate", log_prints=True, validate_parameters=True, **ALERTS)
def consolidate(cycle_id: str = "", plan: str = "", by: str = SCHEDULE) -> dict[str, str]:
    """Consolidate a cycle of ``plan`` (``YYYY-MM``; empty: the cycle being reported; ``plan``
    empty: ``HITOS_PLAN``'s): a draft page, PDF, XLSX and CSV, and the director's notice that it
    awaits approval."""
    cycle_id = checked_cycle_id(cycle_id) if cycle_id else ""
    settings = settings_on(plan)
    the_plan = current_plan(settings)  # the plan's dates and wording in force
    cycle_id = cycle_id or find_cycle(settings)
    publication = build_draft(settings, the_plan, cycle_id, by)
    report = publication.report
    create_markdown_artifact(
        key=f"hitos-report-{the_plan.id}-{cycle_id}",
        markdown=summary_markdown(publication, language_of(settings, the_plan)),
        description=(
            f"Consolidated report {cycle_label(the_plan.id, cycle_id)} v{report.version} "
            f"({report.state})"
        ),
    )
    return {kind: str(path) for kind, path in publication.paths.items()}


if __name__ == "__main__":
    consolidate("2023-03")
