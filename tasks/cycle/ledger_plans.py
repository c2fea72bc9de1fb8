"""The plans one ledger runs: the settings' plan and every other plan with a cycle in it.

Intake reads one mailbox for the whole directorate, so a file returned for the 6th plan's
2023-08 may arrive while the 5th plan's 2023-08 is still open; it needs every plan a file can
belong to. A plan other than the settings' is found by its id beside the settings' plan file
(``plans/gt-pan6.yaml``), the ledger holding ids, never a machine's path.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from tasks.people.contacts import with_current_contacts
from tasks.plans.plan import Plan, load_plan
from tasks.settings import Settings
from tasks.storage.ledger import Cycle, session

logger = logging.getLogger(__name__)


def plans_in_ledger(settings: Settings, plan: Plan) -> dict[str, Plan]:
    """Plan id → plan (with the contacts in force today): ``plan`` first, then every other
    plan with a cycle in the ledger whose file lies beside the settings' plan file."""
    with session(settings.database) as db:
        ids = sorted(set(db.scalars(select(Cycle.plan_id).distinct())) - {plan.id})
    found = {plan.id: plan}
    for plan_id in ids:
        path = settings.plan.parent / f"{plan_id}.yaml"
        if not path.is_file():
            logger.warning("plan %s has cycles in the ledger but no file %s", plan_id, path)
            continue
        found[plan_id] = with_current_contacts(settings, load_plan(path))
    return found
