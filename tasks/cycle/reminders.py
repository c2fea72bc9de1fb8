"""Reminders: who still owes a valid file, and which reminder is due for them today."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tasks.catalogues import language_of
from tasks.core.calendar import add_business_days, business_days_between
from tasks.core.findings import Finding
from tasks.core.states import Outcome, Review
from tasks.cycle.closing import closing_day
from tasks.cycle.requests import build_request, liaison_link
from tasks.mail.outgoing import Outgoing, compose, plan_subject
from tasks.plans.plan import Institution, Plan
from tasks.settings import Settings
from tasks.storage import queries
from tasks.storage.ledger import Cycle, Decision, Submission, of_cycle, session

REPEAT_AFTER_DEADLINE = 3


def reminder_points(
    settings: Settings, plan: Plan, cycle: Cycle, today: date, deadline: date | None = None
) -> list[date]:
    """Reminder dates up to today: the configured offsets, then every 3 business days late,
    all before the cycle's closing day (``tasks.cycle.closing``).

    ``deadline``: the institution's own (an extension), else the cycle's.
    """
    deadline = deadline or cycle.deadline
    closes = closing_day(settings, plan, cycle)
    offsets = sorted(set(settings.reminder_days), reverse=True)
    points = [add_business_days(deadline, -offset, plan.country) for offset in offsets]
    last = points[-1] if points else deadline
    while last <= today and last < closes:
        last = add_business_days(last, REPEAT_AFTER_DEADLINE, plan.country)
        if last <= today:
            points.append(last)
    return [p for p in points if p <= today and p < closes]


def waiting_institutions(settings: Settings, plan: Plan, cycle_id: str) -> list[Institution]:
    """Institutions asked this cycle that have no standing file (``tasks.core.delivery``)."""
    with session(settings.database) as db:
        return queries.waiting_institutions(db, plan, queries.require_cycle(db, plan.id, cycle_id))


def last_rejection(
    settings: Settings, plan_id: str, cycle_id: str, institution: str
) -> tuple[Submission | None, list[Finding]]:
    """The institution's latest rejected file in the cycle and its errors, for the reminder."""
    with session(settings.database) as db:
        rejected = db.scalars(
            select(Submission)
            .where(
                of_cycle(Submission, plan_id, cycle_id),
                Submission.institution == institution,
                Submission.outcome == Outcome.REJECTED,
            )
            .order_by(Submission.version.desc())
        ).first()
        if rejected is None:
            return None, []
        findings = [f.as_finding() for f in rejected.findings if f.severity == "error"]
        return rejected, findings


def last_return(
    settings: Settings, plan_id: str, cycle_id: str, institution: str
) -> tuple[Submission | None, str]:
    """The institution's latest file a reviewer returned in the cycle, and the comment."""
    with session(settings.database) as db:
        returned = db.scalars(
            select(Submission)
            .where(
                of_cycle(Submission, plan_id, cycle_id),
                Submission.institution == institution,
                Submission.review == Review.RETURNED,
            )
            .order_by(Submission.version.desc())
        ).first()
        if returned is None:
            return None, ""
        note = db.scalars(
            select(Decision.note)
            .where(Decision.submission_id == returned.id, Decision.action == "return")
            .order_by(Decision.id.desc())
        ).first()
        return returned, note or ""


def reminder_email(
    settings: Settings, plan: Plan, cycle: Cycle, institution: Institution, today: date
) -> Outgoing | None:
    """The reminder due today for one institution, or None before the first reminder point."""
    with session(settings.database) as db:
        deadline = queries.deadline_of(db, cycle, institution.code)
        agreements = queries.agreements_of(db, plan.id, institution.code, only_open=True)
    points = reminder_points(settings, plan, cycle, today, deadline)
    if not points:
        return None
    sequence = len(points)
    days_left = business_days_between(today, deadline, plan.country)
    late = today > deadline
    rejected, findings = last_rejection(settings, plan.id, cycle.id, institution.code)
    returned, note = last_return(settings, plan.id, cycle.id, institution.code)
    if returned is not None and rejected is not None:  # the newer of the two is what to fix
        if rejected.version > returned.version:
            returned, note = None, ""
        else:
            rejected, findings = None, []
    language = language_of(settings, plan)
    return compose(
        "reminder",
        key=f"{cycle.label}/{institution.code}/reminder/{sequence}",
        kind="reminder",
        to=[institution.liaison.email],
        cc=[institution.head.email, plan.coordinator.director.email] if late else [],
        subject=plan_subject(
            plan,
            language,
            "late" if late else "reminder",
            cycle_id=cycle.id,
            institution=institution.code,
        ),
        language=language,
        attachments=[build_request(settings, plan, cycle, institution)],
        cycle_id=cycle.id,
        institution_code=institution.code,
        plan=plan,
        cycle=cycle,
        institution=institution,
        days_left=days_left,
        deadline=deadline,
        last_rejected=rejected,
        last_returned=returned,
        return_note=note,
        findings=findings,
        agreements=agreements,  # the Mesa's, still open: listed until they are met
        link=liaison_link(settings, plan, cycle, institution),
    )
