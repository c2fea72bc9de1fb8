"""Changes to the plan that the Mesa approves: new dates, new wording, a withdrawn milestone.

The plan file is version 1; each change the Mesa approves in a session is the plan's next
version, recorded with that session and the reason, and in force from the session's day. The
changes in force are applied by ``tasks.plans.versions`` for every step
(``tasks.people.contacts.current_plan``): requests ask for the dates in force, the rules judge
against them, and the report and the board show them, with each milestone's history beside it,
so a «completed» never comes from quietly moving the goalposts.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from tasks.mesa import audit
from tasks.mesa.refused import MesaRefused
from tasks.mesa.sessions import CANCELLED
from tasks.people.contacts import with_plan_changes
from tasks.plans.plan import Plan
from tasks.plans.versions import DATES, WITHDRAWAL, WORDING
from tasks.settings import Settings
from tasks.storage.ledger import MesaSession, PlanChange, session
from tasks.storage.queries import plan_changes


def changes(settings: Settings, plan_id: str, on: date | None = None) -> list[PlanChange]:
    """The plan's changes in version order (only those in force ``on`` that day when given)."""
    with session(settings.database) as db:
        return plan_changes(db, plan_id, on)


def version_in_force(settings: Settings, plan_id: str, on: date | None = None) -> int:
    """The plan's version in force: 1 for the file, plus one per change in force."""
    found = changes(settings, plan_id, on)
    return found[-1].version if found else 1


def in_force(settings: Settings, plan: Plan, on: date | None = None) -> Plan:
    """The plan with every change in force ``on`` (today) applied: what
    ``tasks.people.contacts.current_plan`` gives every step."""
    return with_plan_changes(settings, plan, on)


def change(
    settings: Settings,
    plan: Plan,
    milestone: str,
    session_cycle: str,
    reason: str,
    by: str = "",
    start: date | None = None,
    end: date | None = None,
    description: str = "",
    expected_result: str = "",
    withdraw: bool = False,
) -> PlanChange:
    """Record a change the Mesa approved in the session of ``session_cycle``: the plan's next
    version, in force from that session's day. ``plan`` is the plan file as loaded."""
    kind = WITHDRAWAL if withdraw else DATES if (start or end) else WORDING
    if withdraw and (start or end or description or expected_result):
        raise MesaRefused("mixed-change", "a withdrawal changes nothing else: give it alone")
    if kind == WORDING and not (description or expected_result):
        raise MesaRefused(
            "empty-change", "say what changes: --start/--end, --description, or --withdraw"
        )
    if (start or end) and (description or expected_result):
        raise MesaRefused("mixed-change", "change dates and wording in two changes")
    if not reason.strip():
        raise MesaRefused("no-reason", "say why the Mesa approved it (--reason)")
    before = in_force(settings, plan)
    current = next((m for m in before.milestones if m.code == milestone), None)
    if current is None:
        raise MesaRefused(
            "unknown-milestone", f"{milestone!r} is not a milestone in force of plan {plan.id}"
        )
    new_start, new_end = start or current.start, end or current.end
    if kind == DATES and new_start >= new_end:
        raise MesaRefused("bad-dates", f"{milestone} would start on {new_start}, after its end")
    with session(settings.database) as db:
        held = db.scalars(
            select(MesaSession).where(
                MesaSession.plan_id == plan.id, MesaSession.cycle_id == session_cycle
            )
        ).first()
        if held is None or held.state == CANCELLED:
            raise MesaRefused(
                "no-session",
                f"the Mesa approves changes in a session, and cycle {session_cycle} has none",
            )
        last = db.scalar(select(func.max(PlanChange.version)).where(PlanChange.plan_id == plan.id))
        row = PlanChange(
            plan_id=plan.id,
            version=(last or 1) + 1,
            milestone=milestone,
            kind=kind,
            start=start,
            end=end,
            description=description.strip(),
            expected_result=expected_result.strip(),
            before={
                "start": current.start.isoformat(),
                "end": current.end.isoformat(),
                "description": current.description,
                "expected_result": current.expected_result,
            },
            session_cycle=session_cycle,
            valid_from=held.day,
            reason=reason.strip(),
            recorded_by=by,
        )
        db.add(row)
        db.flush()
        what = f"v{row.version}: {milestone} {kind}. {row.reason}"
        audit.decided(db, by, audit.PLAN_CHANGE, plan.id, session_cycle, note=what)
        return row


def history(settings: Settings, plan_id: str) -> dict[str, list[PlanChange]]:
    """Milestone code → its changes, oldest first (what the board shows beside it)."""
    found: dict[str, list[PlanChange]] = {}
    for row in changes(settings, plan_id):
        found.setdefault(row.milestone, []).append(row)
    return found
