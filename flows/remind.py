"""hitos.remind: remind only the institutions still without an accepted file."""

from __future__ import annotations

from datetime import date

from prefect import flow

from flows import step
from tasks.ledger import Cycle, session
from tasks.mail import send_all
from tasks.plans import load_plan
from tasks.reminders import reminder_email, waiting_institutions
from tasks.settings import Settings

select_waiting = step(waiting_institutions, "select-waiting", "waiting-{cycle_id}")
render_reminder = step(reminder_email, "render-reminder", "reminder-{institution.code}-{cycle.id}")
send_emails = step(send_all, "send-emails", retries=2)


def open_cycles(settings: Settings, cycle_id: str) -> list[Cycle]:
    with session(settings.database) as db:
        query = db.query(Cycle).filter(Cycle.state == "open")
        if cycle_id:
            query = query.filter(Cycle.id == cycle_id)
        return list(query)


@flow(name="hitos.remind", log_prints=True)
def remind(cycle_id: str = "", today: date | None = None) -> dict[str, str]:
    """Send the reminder due today to each institution that still owes its file."""
    settings = Settings()
    plan = load_plan(settings.plan)
    today = today or date.today()
    sent: dict[str, str] = {}
    for cycle in open_cycles(settings, cycle_id):
        mails = [
            render_reminder(settings, plan, cycle, institution, today)
            for institution in select_waiting(settings, plan, cycle.id)
        ]
        sent.update(send_emails(settings, [m for m in mails if m is not None]))
    return sent


if __name__ == "__main__":
    remind("2023-03")
