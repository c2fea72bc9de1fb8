"""hitos.open-cycle: create the cycle, build each institution's workbook, email it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow

from flows import ALERTS, batch_run_name, batches, settings_on, step
from tasks.catalogues import language_of
from tasks.checks.boundaries import cycle_id as checked_cycle_id
from tasks.core.calendar import local_today
from tasks.cycle.requests import (
    build_request_batch,
    is_opening_day,
    liaison_links,
    open_cycle_record,
    planned_cycle,
    preview_request,
    request_email,
)
from tasks.mail.outgoing import Outgoing, send_all, write_preview
from tasks.mesa.agreements import open_by_owner
from tasks.operations.alerts import alert_refusals
from tasks.people.contacts import current_plan
from tasks.plans.plan import Institution, Plan
from tasks.settings import Settings
from tasks.storage.ledger import Cycle


def build_requests(
    settings: Settings, plan: Plan, cycle: Cycle, institutions: list[Institution]
) -> list[Outgoing]:
    """Each institution's workbook (recorded in the ledger, one transaction for the batch) and
    its request email."""
    language = language_of(settings, plan)
    workbooks = build_request_batch(settings, plan, cycle, institutions)
    agreements = open_by_owner(settings, plan.id)
    links = liaison_links(settings, plan, cycle, institutions)
    return [
        request_email(
            plan,
            cycle,
            i,
            workbook,
            language,
            agreements=agreements.get(i.code, []),
            link=links[i.code],
        )
        for i, workbook in zip(institutions, workbooks, strict=True)
    ]


def preview_requests(
    settings: Settings, plan: Plan, cycle: Cycle, institutions: list[Institution], folder: Path
) -> dict[str, str]:
    """Each institution's workbook and request as files in ``folder``; the ledger untouched."""
    previews = {}
    for institution in institutions:
        workbook = preview_request(settings, plan, cycle, institution, folder)
        mail = request_email(plan, cycle, institution, workbook, language_of(settings, plan))
        previews[mail.key] = str(write_preview(mail, settings, folder))
    return previews


create_cycle = step(open_cycle_record, "create-cycle", "create-cycle-{cycle_id}")
plan_cycle = step(planned_cycle, "plan-cycle", "plan-cycle-{cycle_id}")
# One task run per batch of institutions, not per institution: see flows.BATCH.
build_and_render = step(build_requests, "build-requests", batch_run_name("requests"))
preview_batch = step(preview_requests, "preview-requests", batch_run_name("preview"))
send_emails = step(send_all, "send-emails", retries=2)
alert_refused = step(alert_refusals, "alert-refused")


def current_cycle_id(today: date) -> str:
    """The cycle a day belongs to: March and August rounds (``2023-03``, ``2023-08``)."""
    month = "03" if today.month < 8 else "08"
    return f"{today.year}-{month}"


@flow(name="hitos.open-cycle", log_prints=True, **ALERTS)
def open_cycle(
    cycle_id: str = "",
    dry_run: bool = False,
    opening_day_only: bool = False,
    plan: str = "",
    opened_on: date | None = None,
) -> dict[str, str]:
    """Open a cycle of ``plan`` (empty: ``HITOS_PLAN``'s) and send every institution its
    request (or, dry, write them to a folder).

    ``opening_day_only`` (the schedule's runs): nothing happens unless today is the first
    business day of March or August in the plan's calendar. ``opened_on``: the day the
    requests go out, which the deadline counts from (today in the plan's time zone; a demo or a
    backfill names its own). A cycle already open keeps its day and deadline.
    """
    settings = settings_on(plan)
    the_plan = current_plan(settings)  # the contacts in force today
    if opening_day_only and not is_opening_day(the_plan):
        return {}
    today = local_today(the_plan.timezone)
    cycle_id = checked_cycle_id(cycle_id or current_cycle_id(today))
    if dry_run:
        return preview_cycle(settings, the_plan, cycle_id, opened_on or today)
    cycle = create_cycle(settings, the_plan, cycle_id, opened_on or today)
    mails = [
        mail
        for institutions in batches(the_plan.reporting_institutions())
        for mail in build_and_render(settings, the_plan, cycle, institutions)
    ]
    sent = send_emails(settings, mails)
    alert_refused(settings, the_plan)
    return sent


def preview_cycle(settings: Settings, plan: Plan, cycle_id: str, opened_on: date) -> dict[str, str]:
    """Every workbook and email of the cycle in ``dry-run/<plan>/<cycle>``; the ledger is not
    touched."""
    cycle = plan_cycle(settings, plan, cycle_id, opened_on)
    folder = settings.folder("dry-run", plan.id, cycle.id)
    previews: dict[str, str] = {}
    for institutions in batches(plan.reporting_institutions()):
        previews.update(preview_batch(settings, plan, cycle, institutions, folder))
    return previews


if __name__ == "__main__":
    open_cycle("2023-03")
