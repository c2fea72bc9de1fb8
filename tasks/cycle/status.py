"""Where a cycle stands, per institution: what was sent, what came back, whether it delivered.

The one answer ``hitos status``, the console's dashboard and the demo's summary show. Delivery,
deadline and lateness come from ``tasks.storage.queries.deliveries`` (the rules of
``tasks.core.delivery``), never computed here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from tasks.core.calendar import local_today
from tasks.core.delivery import awaiting_review
from tasks.core.states import ACCEPTED, UNDELIVERED, Delivery, EmailStatus
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import session
from tasks.storage.queries import (
    cycle_emails,
    deliveries,
    extensions_of,
    files_by_institution,
    require_cycle,
)


@dataclass(frozen=True)
class InstitutionStatus:
    """One institution's row of a cycle's status."""

    institution: str
    request: str
    """The newest request email's status (``sent``, ``refused``…), or ``not sent``."""
    request_error: str
    reminders: int
    submissions: int
    last_outcome: str
    last_received: str
    delivery: Delivery
    deadline: str
    """The institution's own deadline (its extension, else the cycle's), YYYY-MM-DD."""
    days_late: int
    """Business days past the deadline: at delivery, or as of today when nothing stands."""
    review: str
    """The review of the newest accepted file (``pending``, ``approved``, ``returned``)."""
    awaiting_review: bool
    """The standing file waits for a reviewer."""
    file: int | None
    """The file the row is about: the newest accepted, else the newest received."""
    extension: dict[str, str] | None
    undelivered: list[dict[str, str]]
    """Its emails of the cycle that did not reach it (refused, failed, bounced), with why."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cycle_status(
    settings: Settings, plan: Plan, cycle_id: str, today: date | None = None
) -> list[InstitutionStatus]:
    """One row per institution asked in the cycle, in the plan's order, as of ``today`` (the
    plan's today by default)."""
    today = today or local_today(plan.timezone)
    with session(settings.database) as db:
        cycle = require_cycle(db, plan.id, cycle_id)
        delivered = deliveries(db, plan, cycle, today)
        files_of = files_by_institution(db, plan.id, cycle_id)
        extended = extensions_of(db, plan.id, cycle_id)
        emails_of: dict[str, list[tuple[str, str, str, str]]] = {}
        for email in cycle_emails(db, plan.id, cycle_id):
            row = (email.kind, email.key, email.status, email.error)
            emails_of.setdefault(str(email.institution), []).append(row)
    rows = []
    for institution in plan.reporting_institutions():
        code = institution.code
        emails = emails_of.get(code, [])
        requests = [e for e in emails if e[0] == "request"]  # …/request/N: the newest
        request = max(requests, key=lambda e: int(e[1].rsplit("/", 1)[-1]), default=None)
        files = files_of.get(code, [])
        accepted = [f for f in files if f.outcome in ACCEPTED]
        last = files[-1] if files else None
        verdict = delivered[code]
        extension = extended.get(code)
        rows.append(
            InstitutionStatus(
                institution=code,
                request=request[2] if request else "not sent",
                request_error=request[3] if request and request[2] != EmailStatus.SENT else "",
                reminders=sum(1 for e in emails if e[0] == "reminder" and e[2] == EmailStatus.SENT),
                submissions=len(files),
                last_outcome=last.outcome.value if last else "",
                last_received=last.received_at.isoformat(timespec="minutes") if last else "",
                delivery=verdict.state,
                deadline=verdict.deadline.isoformat(),
                days_late=verdict.days_late,
                review=accepted[-1].review.value if accepted else "",
                awaiting_review=awaiting_review(files),
                file=accepted[-1].id if accepted else (last.id if last else None),
                extension={"until": extension.until.isoformat(), "reason": extension.reason}
                if extension
                else None,
                undelivered=[
                    {"key": key, "kind": kind, "status": status, "error": error}
                    for kind, key, status, error in sorted(emails, key=lambda e: e[1])
                    if status in UNDELIVERED
                ],
            )
        )
    return rows
