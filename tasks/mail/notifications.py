"""Notices to the directorate: the reviewers' daily digest and the director's three alerts.

Each notice has a key (``tasks.mail.outgoing`` sends a key once): the digest one per day, "every
institution delivered" once per cycle, "a draft awaits approval" once per version, "the
publication is out of date" once per published version.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tasks.catalogues import language_of, text
from tasks.mail.outgoing import Outgoing, compose, plan_subject
from tasks.plans.plan import Plan
from tasks.publication.consolidation import MISSING
from tasks.publication.publishing import Publication
from tasks.settings import Settings
from tasks.storage.ledger import ConsoleUser, Report, cycle_label, cycles_of, session


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
    from tasks.people.review import pending_reviews

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
        subject=text(language, "subject.review_digest", count=len(pending), day=day.isoformat()),
        language=language,
        plan=plan,
        pending=pending,
        day=day,
        console=settings.console_url,
    )


def all_delivered_email(settings: Settings, plan: Plan, cycle_id: str) -> Outgoing | None:
    """The director's notice that every institution asked has a standing file; None before."""
    from tasks.cycle.reminders import waiting_institutions

    if waiting_institutions(settings, plan, cycle_id):
        return None
    language = language_of(settings, plan)
    return compose(
        "all_delivered",
        key=f"{cycle_label(plan.id, cycle_id)}/-/all-delivered",
        kind="notice",
        to=[plan.coordinator.director.email],
        subject=plan_subject(plan, language, "all_delivered", cycle_id=cycle_id),
        language=language,
        cycle_id=cycle_id,
        plan=plan,
        period=cycle_id,
        institutions=len(plan.reporting_institutions()),
        console=settings.console_url,
    )


def delivery_notices(settings: Settings, plan: Plan) -> list[Outgoing]:
    """After intake: "every institution delivered" for each open cycle of the plan where that is
    now true."""
    with session(settings.database) as db:
        cycles = [c.id for c in cycles_of(db, plan.id, "open")]
    return [m for c in cycles if (m := all_delivered_email(settings, plan, c)) is not None]


def draft_email(settings: Settings, plan: Plan, publication: Publication) -> Outgoing:
    """The director's notice that a draft awaits approval (nothing is public yet)."""
    report = publication.report
    delivered = sum(1 for row in publication.figures.institutions if row.estado_entrega != MISSING)
    language = language_of(settings, plan)
    return compose(
        "draft",
        key=f"{cycle_label(report.plan_id, report.cycle_id)}/-/draft/{report.version}",
        kind="notice",
        to=[plan.coordinator.director.email],
        subject=plan_subject(
            plan, language, "draft", cycle_id=report.cycle_id, version=report.version
        ),
        language=language,
        cycle_id=report.cycle_id,
        plan=plan,
        cycle=publication.cycle,
        version=report.version,
        figures=publication.figures,
        delivered=delivered,
        institutions=len(publication.figures.institutions),
        page=str(publication.paths.get("html", "")),
        console=settings.console_url,
    )


def outdated_email(settings: Settings, plan: Plan, report: Report) -> Outgoing:
    """The director's notice that the published version no longer matches files and reviews."""
    language = language_of(settings, plan)
    return compose(
        "outdated",
        key=f"{cycle_label(report.plan_id, report.cycle_id)}/-/outdated/{report.version}",
        kind="notice",
        to=[plan.coordinator.director.email],
        subject=plan_subject(
            plan, language, "outdated", cycle_id=report.cycle_id, version=report.version
        ),
        language=language,
        cycle_id=report.cycle_id,
        plan=plan,
        period=report.cycle_id,
        version=report.version,
        console=settings.console_url,
    )
