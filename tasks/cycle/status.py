"""Where a cycle stands, per institution: what was sent, what came back, how late."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Row, select

from tasks.cycle.deadlines import business_days_between, local_date
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import (
    ACCEPTED,
    Email,
    Extension,
    Submission,
    cycle_label,
    cycle_of,
    of_cycle,
    session,
)


def cycle_status(
    settings: Settings, plan: Plan, cycle_id: str, today: date | None = None
) -> list[dict[str, object]]:
    """One row per institution asked in the cycle, as of ``today``.

    ``days_late`` counts business days past the deadline (the institution's extension, if any)
    until the first accepted file not returned by review, or until ``today`` when there is none
    yet (or when looking back at an earlier day). ``review``: the state of the newest accepted
    file (``pending``, ``approved``, ``returned``; empty without one).
    """
    today = today or date.today()
    rows = []
    with session(settings.database) as db:
        cycle = cycle_of(db, plan.id, cycle_id)
        if cycle is None:
            raise ValueError(
                f"cycle {cycle_label(plan.id, cycle_id)} does not exist: open it with "
                f"`hitos cycle open {cycle_id} --plan {plan.id}`"
            )
        extended = {
            e.institution: e
            for e in db.scalars(select(Extension).where(of_cycle(Extension, plan.id, cycle_id)))
        }
        # One query for the emails and one for the files of the whole cycle: two per
        # institution made the console's dashboard take seconds at 1,000 institutions. Only the
        # columns used, as rows: ORM objects cost most of the rest.
        emails_of: dict[str, list[Row[Any]]] = {}
        for email in db.execute(
            select(Email.institution, Email.kind, Email.key, Email.status, Email.error).where(
                of_cycle(Email, plan.id, cycle_id)
            )
        ):
            emails_of.setdefault(str(email.institution), []).append(email)
        subs_of: dict[str, list[Row[Any]]] = {}
        for sub in db.execute(
            select(
                Submission.institution,
                Submission.outcome,
                Submission.review,
                Submission.received_at,
            )
            .where(of_cycle(Submission, plan.id, cycle_id))
            .order_by(Submission.version, Submission.id)
        ):
            subs_of.setdefault(str(sub.institution), []).append(sub)
        for institution in plan.reporting_institutions():
            emails = emails_of.get(institution.code, [])
            requests = [e for e in emails if e.kind == "request"]  # …/request/N: the newest
            request = max(requests, key=lambda e: int(e.key.rsplit("/", 1)[-1]), default=None)
            subs = subs_of.get(institution.code, [])
            last = subs[-1] if subs else None
            reviewed = [s for s in subs if s.outcome in ACCEPTED]
            accepted = [s for s in reviewed if s.review != "returned"]
            accepted_on = local_date(accepted[0].received_at, plan.timezone) if accepted else today
            as_of = min(accepted_on, today)
            extension = extended.get(institution.code)
            deadline = extension.until if extension else cycle.deadline
            late = max(0, business_days_between(deadline, as_of, plan.country))
            rows.append(
                {
                    "institution": institution.code,
                    "request": request.status if request else "not sent",
                    "request_error": request.error if request and request.status != "sent" else "",
                    "reminders": sum(
                        1 for e in emails if e.kind == "reminder" and e.status == "sent"
                    ),
                    "submissions": len(subs),
                    "last_outcome": last.outcome if last else "",
                    "last_received": last.received_at.isoformat(timespec="minutes") if last else "",
                    "accepted": bool(accepted),
                    "days_late": late,
                    "review": reviewed[-1].review if reviewed else "",
                    "extension": {"until": extension.until.isoformat(), "reason": extension.reason}
                    if extension
                    else None,
                }
            )
    return rows
