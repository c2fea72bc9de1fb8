"""The director's notices about the cycle's report: a draft awaits approval, a version was
published, the published version is out of date.

Each has a key (``tasks.mail.outgoing`` sends a key once): one per draft version, one per
published version, one "out of date" per published version. The numbers they state
(delivered institutions, the headline) are the report's own figures, the one answer every view
gives (``tasks.storage.queries.deliveries``).
"""

from __future__ import annotations

from tasks.catalogues import language_of
from tasks.core.cycles import cycle_label
from tasks.mail.outgoing import Outgoing, compose, plan_subject
from tasks.plans.plan import Plan
from tasks.publication.publishing import Publication
from tasks.settings import Settings
from tasks.storage.ledger import Report

ATTACHED = ("pdf", "xlsx")
"""What the director's email carries, so the report reads without the link: page and data."""


def draft_email(settings: Settings, plan: Plan, publication: Publication) -> Outgoing:
    """The director's notice that a draft awaits approval (nothing is public yet)."""
    report = publication.report
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
        delivered=publication.figures.delivered,
        institutions=len(publication.figures.institutions),
        page=str(publication.paths.get("html", "")),
        console=settings.console_url,
    )


def report_email(plan: Plan, publication: Publication, language: str = "es") -> Outgoing:
    """The director's notice that a report version is published: figures, links, PDF and
    XLSX."""
    report, numbers = publication.report, publication.figures
    attachments = [publication.paths[kind] for kind in ATTACHED if kind in publication.paths]
    return compose(
        "report",
        key=f"{cycle_label(report.plan_id, report.cycle_id)}/-/report/{report.version}",
        kind="report",
        to=[plan.coordinator.director.email],
        subject=plan_subject(
            plan, language, "report", cycle_id=report.cycle_id, version=report.version
        ),
        language=language,
        attachments=attachments,
        cycle_id=report.cycle_id,
        plan=plan,
        cycle=publication.cycle,
        version=report.version,
        figures=numbers,
        files=publication.links,
        attached=[path.name for path in attachments],
        delivered=numbers.delivered,
        institutions=len(numbers.institutions),
    )


def outdated_email(settings: Settings, plan: Plan, report: Report) -> Outgoing:
    """The director's notice that the published version no longer matches files, reviews and
    deliveries."""
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
