"""The director's notices about the cycle's report: a draft awaits approval, a version was
published, the published version is out of date.

Each has a key (``tasks.mail.outgoing`` sends a key once): one per draft version, one per
published version, one "out of date" per published version. The numbers they state
(delivered institutions, the headline, who did not deliver) are the report's own figures, the
one answer every view gives (``tasks.storage.queries.deliveries``). Every place they point at is
a link: the console's pages (``HITOS_CONSOLE_URL``) or the public report
(``HITOS_REPORT_BASE_URL``), never a path on the server or a command.
"""

from __future__ import annotations

from tasks.catalogues import language_of
from tasks.core.cycles import cycle_label
from tasks.mail.outgoing import Outgoing, compose, plan_subject
from tasks.plans.plan import Plan
from tasks.publication.consolidation import Figures
from tasks.publication.publishing import Publication
from tasks.publication.report import KINDS
from tasks.settings import Settings
from tasks.storage.ledger import Report

ATTACHED = ("pdf", "xlsx")
"""What the director's email carries, so the report reads without the link: page and data."""


def missing(plan: Plan, figures: Figures) -> list[str]:
    """Who did not deliver, named («MARN (Ministerio de Ambiente…)»), as the figures say."""
    named = {i.code: i.name for i in plan.institutions}
    return [f"{code} ({named[code]})" if code in named else code for code in figures.not_delivered]


def report_links(settings: Settings, publication: Publication) -> dict[str, str]:
    """Where the director opens each published file: the public address when there is one,
    else the console's copy of this version (``/ciclos/<cycle>/informes/<version>/<kind>``)."""
    if settings.report_base_url:
        return publication.links
    report = publication.report
    base = f"{settings.console}/ciclos/{report.cycle_id}/informes/{report.version}"
    return {f"latest_{kind}": f"{base}/{kind}" for kind in KINDS if kind in report.files}


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
        missing=missing(plan, publication.figures),
        console=settings.console,
    )


def report_email(settings: Settings, plan: Plan, publication: Publication) -> Outgoing:
    """The director's notice that a report version is published: figures, links, PDF and
    XLSX."""
    report, numbers = publication.report, publication.figures
    language = language_of(settings, plan)
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
        files=report_links(settings, publication),
        attached=[path.name for path in attachments],
        delivered=numbers.delivered,
        institutions=len(numbers.institutions),
        missing=missing(plan, numbers),
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
        console=settings.console,
    )
