"""The reviewers' daily digest: one email a day listing the files that await their decision."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tasks.catalogues import language_of, text
from tasks.mail.outgoing import Outgoing, compose
from tasks.people.review import pending_reviews
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import ConsoleUser, session


def reviewers(settings: Settings) -> list[str]:
    """The console accounts that review files."""
    with session(settings.database) as db:
        return list(
            db.scalars(
                select(ConsoleUser.email)
                .where(ConsoleUser.role == "reviewer")
                .order_by(ConsoleUser.email)
            )
        )


def review_digest(settings: Settings, plan: Plan, day: date) -> Outgoing | None:
    """One email a day to every reviewer listing the files awaiting review; None if none."""
    pending = pending_reviews(settings, plan.id)
    to = reviewers(settings)
    language = language_of(settings, plan)
    if not pending or not to:
        return None
    return compose(
        "review_digest",
        key=f"{plan.id}/-/-/review-digest/{day.isoformat()}",
        kind="digest",
        to=to,
        subject=text(language, "subject.review_digest", count=len(pending), day=day),
        language=language,
        plan=plan,
        pending=pending,
        day=day,
        console=settings.console,
    )
