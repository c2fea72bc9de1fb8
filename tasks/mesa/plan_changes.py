"""Changes to the plan that the Mesa approves: new dates, new wording, a withdrawn milestone.

The plan file is version 1; each change the Mesa approves in a session is the plan's next
version, recorded with that session and the reason, and in force from the session's day.
``in_force`` is the plan every step uses (``tasks.people.contacts.current_plan``): requests ask for
the dates in force, the rules judge against them, and the report and the board show them, with
each milestone's history beside it, so a «completed» never comes from quietly moving the
goalposts.
"""

from __future__ import annotations

from datetime import date
from functools import cached_property

from sqlalchemy import func, select

from tasks.mesa import audit
from tasks.mesa.refused import MesaRefused
from tasks.mesa.sessions import CANCELLED
from tasks.plans.plan import Milestone, Plan
from tasks.settings import Settings
from tasks.storage.ledger import MesaSession, PlanChange, session

DATES, WORDING, WITHDRAWAL = "dates", "wording", "withdrawal"
"""The kinds of change; labels per language: ``mesa.change_kind.<kind>``."""


def changes(settings: Settings, plan_id: str, on: date | None = None) -> list[PlanChange]:
    """The plan's changes in version order (only those in force ``on`` that day when given)."""
    query = select(PlanChange).where(PlanChange.plan_id == plan_id)
    if on is not None:
        query = query.where(PlanChange.valid_from <= on)
    with session(settings.database) as db:
        return list(db.scalars(query.order_by(PlanChange.version)))


def version_in_force(settings: Settings, plan_id: str, on: date | None = None) -> int:
    """The plan's version in force: 1 for the file, plus one per change in force."""
    found = changes(settings, plan_id, on)
    return found[-1].version if found else 1


def in_force(settings: Settings, plan: Plan, on: date | None = None) -> Plan:
    """The plan with every change in force ``on`` (all of them when None) applied; the plan
    itself when there is none (no copy, no cost)."""
    found = changes(settings, plan.id, on)
    return applied(plan, found) if found else plan


def applied(plan: Plan, found: list[PlanChange]) -> Plan:
    """The plan with these changes applied, in order (a withdrawn milestone is left out)."""
    by_code: dict[str, list[PlanChange]] = {}
    for change in found:
        by_code.setdefault(change.milestone, []).append(change)
    commitments = []
    for commitment in plan.commitments:
        milestones = []
        for milestone in commitment.milestones:
            current: Milestone | None = milestone
            for change in by_code.get(milestone.code, []):
                current = _apply(current, change) if current is not None else None
            if current is not None:
                milestones.append(current)
        commitments.append(commitment.model_copy(update={"milestones": milestones}))
    changed = plan.model_copy(update={"commitments": commitments})
    for name, attribute in vars(Plan).items():  # the copy's indexes are built again, from it
        if isinstance(attribute, cached_property):
            changed.__dict__.pop(name, None)
    return changed


def _apply(milestone: Milestone, change: PlanChange) -> Milestone | None:
    if change.kind == WITHDRAWAL:
        return None
    if change.kind == DATES:
        return milestone.model_copy(
            update={"start": change.start or milestone.start, "end": change.end or milestone.end}
        )
    update = {"description": change.description or milestone.description}
    if change.expected_result:
        update["expected_result"] = change.expected_result
    return milestone.model_copy(update=update)


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
