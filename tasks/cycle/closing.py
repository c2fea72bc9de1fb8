"""Closing cycles: by hand, or by themselves once the last reminder point has passed.

A closed cycle gets no more reminders (``flows.remind`` reminds open cycles only); its files are
still taken in and it can still be consolidated by its id.
"""

from __future__ import annotations

from datetime import date

from tasks.cycle.deadlines import add_business_days
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import Cycle, cycle_label, cycle_of, cycles_of, session

OPEN = ("open", "consolidated")
"""States a cycle is still reported in (and reminded, while ``open``)."""


def closing_day(settings: Settings, plan: Plan, cycle: Cycle) -> date:
    """The day a cycle closes by itself: ``close_after_days`` business days after its deadline."""
    return add_business_days(cycle.deadline, settings.close_after_days, plan.country)


def close_cycle(settings: Settings, cycle_id: str, plan_id: str = "") -> Cycle:
    """Close a cycle of the plan (the settings' unless ``plan_id`` says; idempotent);
    ValueError when there is no such cycle."""
    plan_id = plan_id or settings.plan_id
    with session(settings.database) as db:
        cycle = cycle_of(db, plan_id, cycle_id, for_update=True)
        if cycle is None:
            raise ValueError(
                f"cycle {cycle_label(plan_id, cycle_id)} does not exist "
                "(hitos status shows the cycles)"
            )
        cycle.state = "closed"
        return cycle


def close_due_cycles(settings: Settings, plan: Plan, today: date) -> list[str]:
    """Close every cycle of the plan whose closing day has come; their ids."""
    with session(settings.database) as db:
        cycles = cycles_of(db, plan.id, *OPEN)
    due = [c.id for c in cycles if closing_day(settings, plan, c) <= today]
    return [close_cycle(settings, cycle_id, plan.id).id for cycle_id in due]
