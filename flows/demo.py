"""hitos.demo: a whole simulated cycle of the sample plan, with the embedded mail server."""

from __future__ import annotations

from prefect import flow

from flows import step
from flows.consolidate import consolidate
from flows.intake import intake
from flows.open_cycle import open_cycle
from flows.remind import remind
from tasks.local_mail import local_smtp_server
from tasks.plans import load_plan
from tasks.settings import Settings
from tasks.simulation import corrections, first_answers, simulated_day

institutions_answer = step(first_answers, "institutions-answer")
institution_corrects = step(corrections, "institution-corrects")


@flow(name="hitos.demo", log_prints=True)
def demo(cycle_id: str = "2023-03") -> dict[str, str]:
    """Open, answer, intake, correct, intake, remind the silent one, consolidate."""
    settings = Settings()
    plan = load_plan(settings.plan)
    with local_smtp_server(
        settings.folder("mail", "inbox"),
        settings.folder("mail", "outbox"),
        settings.sender,
        settings.smtp_port,
    ):
        open_cycle(cycle_id)
        institutions_answer(settings, plan, cycle_id)
        intake()
        institution_corrects(settings, plan, cycle_id)
        intake()
        remind(cycle_id, today=simulated_day(settings, plan, cycle_id))
        return consolidate(cycle_id)


if __name__ == "__main__":
    demo()
