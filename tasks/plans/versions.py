"""The plan's versions: the plan file is version 1, each change the Mesa approves one more.

A change moves a milestone's dates, rewords it, or withdraws it (``tasks.mesa.plan_changes``
records them, ``tasks.people.contacts.current_plan`` applies those in force). Applying is pure:
the plan and the changes in, the plan in force out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import cached_property
from typing import Protocol

from tasks.plans.plan import Milestone, Plan

DATES, WORDING, WITHDRAWAL = "dates", "wording", "withdrawal"
"""The kinds of change; labels per language: ``mesa.change_kind.<kind>``."""


class Change(Protocol):
    """What a change says (the ledger's ``PlanChange`` row)."""

    milestone: str
    kind: str
    start: date | None
    end: date | None
    description: str
    expected_result: str


def applied(plan: Plan, changes: Sequence[Change]) -> Plan:
    """The plan with these changes applied, in order (a withdrawn milestone is left out); the
    plan itself when there are none (no copy, no cost)."""
    if not changes:
        return plan
    by_code: dict[str, list[Change]] = {}
    for change in changes:
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


def _apply(milestone: Milestone, change: Change) -> Milestone | None:
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
