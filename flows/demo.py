"""hitos.demo: a whole simulated cycle of the sample plan, with the embedded mail server."""

from __future__ import annotations

from datetime import timedelta

from prefect import flow

from flows import settings_on, step
from flows.consolidate import consolidate
from flows.intake import intake
from flows.open_cycle import open_cycle
from flows.remind import remind
from tasks.cycle.requests import scheduled_opening
from tasks.mail.local_server import local_smtp_server
from tasks.mesa.simulation import director_follows_up, session_day, the_mesa_meets
from tasks.people.contacts import current_plan
from tasks.plans.plan import load_plan
from tasks.simulation import (
    AFTER_THE_SESSION,
    correction_on_the_page,
    director_extends,
    director_publishes,
    first_answers,
    institution_websites,
    late_answers,
    later_answers,
    returned_corrects,
    reviewers_review,
    simulated_day,
)

institutions_answer = step(first_answers, "institutions-answer")
institution_corrects = step(correction_on_the_page, "institution-corrects-on-its-page")
institutions_progress = step(later_answers, "institutions-progress")
reviewers_decide = step(reviewers_review, "reviewers-review")
returned_institution_corrects = step(returned_corrects, "returned-institution-corrects")
director_grants_extension = step(director_extends, "director-extends")
director_publishes_draft = step(director_publishes, "director-publishes")
mesa_session = step(the_mesa_meets, "the-mesa-meets")
institutions_answer_late = step(late_answers, "institutions-answer-after-the-session")
director_follows_up_agreements = step(director_follows_up, "director-follows-up")

LATER_CYCLE = "2023-08"
"""The demo's second cycle, so the public board shows history and change."""


@flow(name="hitos.demo", log_prints=True)
def demo(
    cycle_id: str = "2023-03", later_cycle_id: str = LATER_CYCLE, plan: str = ""
) -> dict[str, str]:
    """Open, answer (the evidence on the institutions' websites, run on loopback), intake,
    correct, review (one accepted file returned, then corrected), remind the silent institution
    and extend its deadline, consolidate a draft, publish it; the Mesa's session (convened,
    assessed, held, its communiqué approved), then the late answers; then a later cycle (empty
    ``later_cycle_id``: none) where institutions report progress, reviewed and published too
    (``plan`` empty: ``HITOS_PLAN``'s). The public files of the last cycle come back."""
    operator = settings_on(plan)
    on = str(operator.plan)
    the_plan = load_plan(operator.plan)
    with (
        local_smtp_server(
            operator.folder("mail", "inbox"),
            operator.folder("mail", "outbox"),
            operator.sender,
            operator.smtp_port,
        ),
        institution_websites(operator, the_plan) as settings,
    ):
        open_cycle(cycle_id, plan=on, opened_on=scheduled_opening(the_plan, cycle_id))
        institutions_answer(settings, the_plan, cycle_id, AFTER_THE_SESSION)
        intake(plan=on)
        institution_corrects(settings, the_plan, cycle_id)
        intake(plan=on)
        reviewers_decide(settings, the_plan, cycle_id)
        returned_institution_corrects(settings, the_plan, cycle_id)
        intake(plan=on)
        reviewers_decide(settings, the_plan, cycle_id)
        remind(cycle_id, today=simulated_day(settings, the_plan, cycle_id), plan=on)
        director_grants_extension(settings, the_plan, cycle_id)
        consolidate(cycle_id, plan=on)
        files = director_publishes_draft(settings, the_plan, cycle_id)
        papers = {cycle_id: mesa_session(settings, current_plan(settings), cycle_id)}
        after = session_day(cycle_id) + timedelta(days=1)
        institutions_answer_late(settings, the_plan, cycle_id, after)
        intake(plan=on)
        reviewers_decide(settings, the_plan, cycle_id, return_one=False)
        director_follows_up_agreements(settings, the_plan, cycle_id)
        if later_cycle_id:
            open_cycle(
                later_cycle_id, plan=on, opened_on=scheduled_opening(the_plan, later_cycle_id)
            )
            institutions_progress(settings, the_plan, later_cycle_id)
            intake(plan=on)
            reviewers_decide(settings, the_plan, later_cycle_id, return_one=False)
            remind(later_cycle_id, today=simulated_day(settings, the_plan, later_cycle_id), plan=on)
            consolidate(later_cycle_id, plan=on)
            in_force = current_plan(settings)  # the dates the Mesa changed in the first session
            files = director_publishes_draft(settings, in_force, later_cycle_id)
            papers[later_cycle_id] = mesa_session(settings, in_force, later_cycle_id)
        return files | {
            f"mesa {cycle} {kind}": path
            for cycle, found in papers.items()
            for kind, path in found.items()
        }


if __name__ == "__main__":
    demo()
