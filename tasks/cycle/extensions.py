"""Extensions: one institution's own deadline in a cycle and its reason, granted by the director.

Reminders, delivery ("on time") and the report read an institution's deadline through
``tasks.storage.queries`` (``deliveries``, ``deadline_of``), so an extension moves them all at
once. Granting is a decision of the audit trail; granting the same date for the same reason again
changes nothing and records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from tasks.core.refusals import DecisionRefused
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage import queries
from tasks.storage.ledger import Decision, Extension, of_cycle, session, utcnow


class ExtensionRefused(DecisionRefused):
    """An extension that cannot be granted."""


@dataclass(frozen=True)
class Granted:
    cycle_id: str
    institution: str
    until: date
    reason: str
    granted_by: str
    changed: bool
    """False when the same date and reason were already granted: nothing was recorded."""


def extensions(settings: Settings, cycle_id: str, plan_id: str = "") -> dict[str, Extension]:
    """Institution code → the extension granted in the plan's cycle (the settings' plan unless
    ``plan_id`` says)."""
    with session(settings.database) as db:
        return queries.extensions_of(db, plan_id or settings.plan_id, cycle_id)


def extend(
    settings: Settings,
    plan: Plan,
    cycle_id: str,
    institution: str,
    until: date,
    reason: str,
    actor: str,
) -> Granted:
    """Give an institution until ``until`` (inclusive) in the cycle; a later grant replaces it.

    Refused when the cycle or institution is unknown, the date is not after the cycle's
    deadline, or no reason is given: an extension without a reason cannot be audited.
    """
    reason = reason.strip()
    if not reason:
        raise ExtensionRefused("extension-needs-reason", "an extension needs a reason (--reason)")
    if institution not in {i.code for i in plan.reporting_institutions()}:
        raise ExtensionRefused(
            "unknown-institution", f"{institution} is not an institution asked in plan {plan.id}"
        )
    with session(settings.database) as db:
        cycle = queries.require_cycle(db, plan.id, cycle_id, for_update=True)
        if until <= cycle.deadline:
            raise ExtensionRefused(
                "extension-not-later",
                f"the new deadline must be after the cycle's ({cycle.deadline.isoformat()})",
            )
        existing = db.scalars(
            select(Extension).where(
                of_cycle(Extension, plan.id, cycle_id), Extension.institution == institution
            )
        ).first()
        if existing is not None and (existing.until, existing.reason) == (until, reason):
            return Granted(cycle_id, institution, until, reason, existing.granted_by, False)
        if existing is None:
            db.add(
                Extension(
                    plan_id=plan.id,
                    cycle_id=cycle_id,
                    institution=institution,
                    until=until,
                    reason=reason,
                    granted_by=actor,
                )
            )
        else:
            existing.until, existing.reason = until, reason
            existing.granted_by, existing.granted_at = actor, utcnow()
        db.add(
            Decision(
                actor=actor,
                action="extend",
                plan_id=plan.id,
                cycle_id=cycle_id,
                institution=institution,
                note=f"{until.isoformat()}: {reason}",
            )
        )
    return Granted(cycle_id, institution, until, reason, actor, True)
