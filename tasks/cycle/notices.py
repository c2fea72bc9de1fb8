"""The director's notice that every institution asked in a cycle has delivered.

Sent once per cycle (its key), after intake, when ``tasks.storage.queries.waiting_institutions``
(the same answer reminders and status give) finds nobody left.
"""

from __future__ import annotations

from tasks.catalogues import language_of
from tasks.core.cycles import cycle_label
from tasks.core.states import CycleState
from tasks.mail.outgoing import Outgoing, compose, plan_subject
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import Cycle, session
from tasks.storage.queries import cycles_of, waiting_institutions


def all_delivered_email(settings: Settings, plan: Plan, cycle: Cycle) -> Outgoing:
    """The director's notice that every institution asked has a standing file."""
    language = language_of(settings, plan)
    return compose(
        "all_delivered",
        key=f"{cycle_label(plan.id, cycle.id)}/-/all-delivered",
        kind="notice",
        to=[plan.coordinator.director.email],
        subject=plan_subject(plan, language, "all_delivered", cycle_id=cycle.id),
        language=language,
        cycle_id=cycle.id,
        plan=plan,
        period=cycle.id,
        institutions=len(plan.reporting_institutions()),
        console=settings.console,
    )


def delivery_notices(settings: Settings, plan: Plan) -> list[Outgoing]:
    """After intake: "every institution delivered" for each open cycle of the plan where that is
    now true."""
    with session(settings.database) as db:
        done = [
            cycle
            for cycle in cycles_of(db, plan.id, CycleState.OPEN)
            if not waiting_institutions(db, plan, cycle)
        ]
    return [all_delivered_email(settings, plan, cycle) for cycle in done]
