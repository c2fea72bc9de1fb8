"""Closing cycles: by hand, or by themselves once the last reminder point has passed.

A closed cycle gets no more reminders (``flows.remind`` reminds open cycles only); its files are
still taken in and it can still be consolidated by its id. Closing is a decision of the audit
trail, recorded once however many times (or runs at once) close the cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tasks.core.calendar import add_business_days
from tasks.core.states import REPORTED, CycleState
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import Cycle, Decision, session
from tasks.storage.queries import cycles_of, require_cycle

SCHEDULE = "hitos (schedule)"
"""Who closes a cycle whose closing day came, in the audit trail."""


@dataclass(frozen=True)
class Closed:
    cycle_id: str
    changed: bool
    """False when the cycle was already closed: nothing was recorded."""


def closing_day(settings: Settings, plan: Plan, cycle: Cycle) -> date:
    """The day a cycle closes by itself: ``close_after_days`` business days after its deadline."""
    return add_business_days(cycle.deadline, settings.close_after_days, plan.country)


def close_cycle(
    settings: Settings, cycle_id: str, plan_id: str = "", actor: str = SCHEDULE, note: str = ""
) -> Closed:
    """Close a cycle of the plan (the settings' unless ``plan_id`` says); the row is locked, so
    two closings at once record one decision."""
    plan_id = plan_id or settings.plan_id
    with session(settings.database) as db:
        cycle = require_cycle(db, plan_id, cycle_id, for_update=True)
        if cycle.state == CycleState.CLOSED:
            return Closed(cycle_id, False)
        cycle.state = CycleState.CLOSED
        db.add(Decision(actor=actor, action="close", plan_id=plan_id, cycle_id=cycle_id, note=note))
        return Closed(cycle_id, True)


def close_due_cycles(settings: Settings, plan: Plan, today: date) -> list[str]:
    """Close every cycle of the plan whose closing day has come; their ids."""
    with session(settings.database) as db:
        cycles = cycles_of(db, plan.id, *REPORTED)
    due = [c.id for c in cycles if closing_day(settings, plan, c) <= today]
    return [close_cycle(settings, cycle_id, plan.id).cycle_id for cycle_id in due]
