"""Civil society's assessment of what institutions report: its own verdict on a milestone.

A civil-society organisation of the Mesa says whether it agrees with a milestone's self-report
in a cycle, disagrees, or cannot verify it, with a note and its own evidence. Every assessment is
kept; the newest of each organisation on a milestone and cycle is the one shown. Only
organisations' names reach public files, never who typed it.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from tasks.core.mesa import DISAGREE, VERDICTS
from tasks.mesa.members import organisation
from tasks.mesa.refused import MesaRefused
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import Assessment, cycle_label, session
from tasks.storage.queries import cycle_of, standing_assessments


def assess(
    settings: Settings,
    plan: Plan,
    cycle_id: str,
    milestone: str,
    verdict: str,
    org: str,
    note: str,
    evidence: str = "",
    by: str = "",
) -> Assessment:
    """Record an organisation's view of a milestone in a cycle; refused with one sentence when
    the organisation, milestone, verdict, note or evidence link is not one."""
    member = organisation(plan, org)
    if verdict not in VERDICTS:
        raise MesaRefused("bad-verdict", f"verdict must be one of {', '.join(VERDICTS)}")
    if milestone not in {m.code for m in plan.milestones}:
        raise MesaRefused("unknown-milestone", f"{milestone!r} is not a milestone of {plan.id}")
    if not note.strip():
        raise MesaRefused(
            "no-note", "say why (--note): an assessment without a reason helps no one"
        )
    if evidence and (urlsplit(evidence).scheme not in ("http", "https") or " " in evidence):
        raise MesaRefused("bad-evidence", f"{evidence!r} is not an http(s) link")
    with session(settings.database) as db:
        if cycle_of(db, plan.id, cycle_id) is None:
            raise MesaRefused(
                "unknown-cycle", f"cycle {cycle_label(plan.id, cycle_id)} does not exist"
            )
        row = Assessment(
            plan_id=plan.id,
            cycle_id=cycle_id,
            milestone=milestone,
            organisation=member.code,
            verdict=verdict,
            note=note.strip(),
            evidence_url=evidence.strip(),
            recorded_by=by,
        )
        db.add(row)
        db.flush()
        return row


def current(db: Session, plan_id: str, cycle_ids: Iterable[str] | None = None) -> list[Assessment]:
    """The standing assessments (``tasks.storage.queries.standing_assessments``)."""
    return standing_assessments(db, plan_id, cycle_ids)


def by_milestone(rows: Iterable[Assessment]) -> dict[str, list[Assessment]]:
    """Milestone code → its standing assessments (one cycle's rows)."""
    grouped: dict[str, list[Assessment]] = {}
    for row in rows:
        grouped.setdefault(row.milestone, []).append(row)
    return grouped


def disputed(rows: Iterable[Assessment]) -> set[str]:
    """Milestones some organisation disagrees with."""
    return {row.milestone for row in rows if row.verdict == DISAGREE}
