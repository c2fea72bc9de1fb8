"""hitos.open-cycle: create the cycle, build each institution's workbook, email it."""

from __future__ import annotations

from datetime import date

from prefect import flow

from flows import step
from tasks.mail import send_all, write_preview
from tasks.plans import Plan, load_plan
from tasks.requests import (
    build_request,
    open_cycle_record,
    planned_cycle,
    preview_request,
    request_email,
)
from tasks.settings import Settings

create_cycle = step(open_cycle_record, "create-cycle", "create-cycle-{cycle_id}")
build_workbook = step(build_request, "build-workbook", "workbook-{institution.code}-{cycle.id}")
plan_cycle = step(planned_cycle, "plan-cycle", "plan-cycle-{cycle_id}")
preview_workbook = step(
    preview_request, "preview-workbook", "preview-{institution.code}-{cycle.id}"
)
render_request = step(request_email, "render-request", "request-{institution.code}-{cycle.id}")
send_emails = step(send_all, "send-emails", retries=2)


def current_cycle_id(today: date | None = None) -> str:
    """The cycle a day belongs to: March and August rounds (``2023-03``, ``2023-08``)."""
    today = today or date.today()
    month = "03" if today.month < 8 else "08"
    return f"{today.year}-{month}"


@flow(name="hitos.open-cycle", log_prints=True)
def open_cycle(cycle_id: str = "", dry_run: bool = False) -> dict[str, str]:
    """Open a cycle and send every institution its request (or, dry, write them to a folder)."""
    settings = Settings()
    plan = load_plan(settings.plan)
    cycle_id = cycle_id or current_cycle_id()
    if dry_run:
        return preview_cycle(settings, plan, cycle_id)
    cycle = create_cycle(settings, plan, cycle_id)
    mails = [
        render_request(plan, cycle, institution, build_workbook(settings, plan, cycle, institution))
        for institution in plan.reporting_institutions()
    ]
    return send_emails(settings, mails)


def preview_cycle(settings: Settings, plan: Plan, cycle_id: str) -> dict[str, str]:
    """Every workbook and email of the cycle in ``dry-run/<cycle>``; the ledger is not touched."""
    cycle = plan_cycle(settings, plan, cycle_id)
    folder = settings.folder("dry-run", cycle.id)
    previews = {}
    for institution in plan.reporting_institutions():
        workbook = preview_workbook(settings, plan, cycle, institution, folder)
        mail = render_request(plan, cycle, institution, workbook)
        previews[mail.key] = str(write_preview(mail, settings, folder))
    return previews


if __name__ == "__main__":
    open_cycle("2023-03")
