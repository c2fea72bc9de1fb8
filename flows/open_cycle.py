"""hitos.open-cycle: create the cycle, build each institution's workbook, email it."""

from __future__ import annotations

from datetime import date

from prefect import flow

from flows import step
from tasks.mail import send_all, write_preview
from tasks.plans import load_plan
from tasks.requests import build_request, open_cycle_record, request_email
from tasks.settings import Settings

create_cycle = step(open_cycle_record, "create-cycle", "create-cycle-{cycle_id}")
build_workbook = step(build_request, "build-workbook", "workbook-{institution.code}-{cycle.id}")
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
    cycle = create_cycle(settings, plan, cycle_id or current_cycle_id())
    mails = [
        render_request(plan, cycle, institution, build_workbook(settings, plan, cycle, institution))
        for institution in plan.reporting_institutions()
    ]
    if dry_run:
        folder = settings.folder("dry-run", cycle.id)
        return {mail.key: str(write_preview(mail, settings, folder)) for mail in mails}
    return send_emails(settings, mails)


if __name__ == "__main__":
    open_cycle("2023-03")
