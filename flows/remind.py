"""hitos.remind: remind only the institutions still without an accepted file; the reviewers'
daily digest of files awaiting review."""

from __future__ import annotations

from datetime import date

from prefect import flow

from flows import ALERTS, batch_run_name, batches, settings_on, step
from tasks.checks.boundaries import cycle_id as checked_cycle_id
from tasks.core.calendar import local_today
from tasks.core.states import CycleState
from tasks.cycle.closing import close_due_cycles
from tasks.cycle.reminders import reminder_email, waiting_institutions
from tasks.mail.outgoing import Outgoing, send_all
from tasks.operations.alerts import alert_refusals
from tasks.people.contacts import current_plan
from tasks.people.notices import review_digest
from tasks.plans.plan import Institution, Plan
from tasks.settings import Settings
from tasks.storage.ledger import Cycle, session
from tasks.storage.queries import cycles_of


def render_reminders(
    settings: Settings, plan: Plan, cycle: Cycle, institutions: list[Institution], today: date
) -> list[Outgoing]:
    """The reminder due today for each institution (none before the first reminder point)."""
    mails = [reminder_email(settings, plan, cycle, i, today) for i in institutions]
    return [m for m in mails if m is not None]


close_due = step(close_due_cycles, "close-due-cycles")
select_waiting = step(waiting_institutions, "select-waiting", "waiting-{cycle_id}")
# One task run per batch of institutions, not per institution: see flows.BATCH.
render_batch = step(render_reminders, "render-reminders", batch_run_name("reminders"))
send_emails = step(send_all, "send-emails", retries=2)
render_digest = step(review_digest, "render-digest")
alert_refused = step(alert_refusals, "alert-refused")


def open_cycles(settings: Settings, plan: Plan, cycle_id: str) -> list[Cycle]:
    """The plan's open cycles (only ``cycle_id`` when given)."""
    with session(settings.database) as db:
        return [
            c for c in cycles_of(db, plan.id, CycleState.OPEN) if c.id == cycle_id or not cycle_id
        ]


@flow(name="hitos.remind", log_prints=True, **ALERTS)
def remind(cycle_id: str = "", today: date | None = None, plan: str = "") -> dict[str, str]:
    """Close the plan's cycles past their last reminder point (``plan`` empty:
    ``HITOS_PLAN``'s), then send the reminder due today to each institution that still owes
    its file."""
    cycle_id = checked_cycle_id(cycle_id) if cycle_id else ""
    settings = settings_on(plan)
    the_plan = current_plan(settings)  # the contacts in force today
    today = today or local_today(the_plan.timezone)
    close_due(settings, the_plan, today)
    sent: dict[str, str] = {}
    for cycle in open_cycles(settings, the_plan, cycle_id):
        mails = [
            mail
            for institutions in batches(select_waiting(settings, the_plan, cycle.id))
            for mail in render_batch(settings, the_plan, cycle, institutions, today)
        ]
        sent.update(send_emails(settings, mails))
    digest = render_digest(settings, the_plan, today)
    if digest is not None:
        sent.update(send_emails(settings, [digest]))
    alert_refused(settings, the_plan)
    return sent


if __name__ == "__main__":
    remind("2023-03")
