"""Publication approval: consolidation makes a draft; only the director publishes it.

The public files (``reports/<plan>/<cycle>/latest/`` and the plan's public board) change only in
``publish``. A file that arrives, or a review that changes what the published version used, marks
that version out of date and tells the director once; the next consolidation is again a draft.
The CLI (``hitos consolidate``, ``hitos publish``) and the console call these same functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tasks.catalogues import language_of
from tasks.checks.boundaries import DecisionRefused
from tasks.mail.notifications import draft_email, outdated_email
from tasks.mail.outgoing import Outgoing, send_all
from tasks.plans.plan import Plan
from tasks.publication.board import build_board
from tasks.publication.consolidation import consolidated_table, figures, used_submissions
from tasks.publication.publishing import Publication, links, local_copies, publish, report_email
from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.ledger import (
    ACCEPTED,
    Decision,
    Report,
    Submission,
    cycle_label,
    cycle_of,
    of_cycle,
    session,
    utcnow,
)


class PublicationRefused(DecisionRefused):
    """A publication that cannot be made."""


@dataclass(frozen=True)
class PublicationState:
    """Where a cycle's report stands, for the console and ``hitos status``."""

    draft: Report | None
    """The newest version when it is still a draft."""
    published: Report | None
    """The version the public sees."""
    outdated: bool
    """The published version no longer matches the cycle's files and reviews."""


def consolidate_draft(settings: Settings, plan: Plan, cycle_id: str) -> Publication:
    """The cycle's report as a draft (or the version it already is), the director told once."""
    publication = publish(settings, plan, cycle_id)
    if publication.report.state == "draft":
        send_all(settings, [draft_email(settings, plan, publication)])
    return publication


def _latest(db: Session, plan_id: str, cycle_id: str) -> Report | None:
    return db.scalars(
        select(Report).where(of_cycle(Report, plan_id, cycle_id)).order_by(Report.version.desc())
    ).first()


def _published(db: Session, plan_id: str, cycle_id: str) -> Report | None:
    return db.scalars(
        select(Report)
        .where(of_cycle(Report, plan_id, cycle_id), Report.state == "published")
        .order_by(Report.version.desc())
    ).first()


def state_of(settings: Settings, cycle_id: str, plan_id: str = "") -> PublicationState:
    """The cycle's draft, its published version and whether that one is out of date (the
    settings' plan's cycle unless ``plan_id`` says)."""
    plan_id = plan_id or settings.plan_id
    with session(settings.database) as db:
        latest = _latest(db, plan_id, cycle_id)
        published = _published(db, plan_id, cycle_id)
        return PublicationState(
            draft=latest if latest is not None and latest.state == "draft" else None,
            published=published,
            outdated=published is not None and _is_outdated(db, published),
        )


def publish_draft(settings: Settings, plan: Plan, cycle_id: str, actor: str) -> Publication:
    """Make the cycle's draft public: copy it to ``latest/``, record who did it, tell the director.

    Refused when there is no draft, or when the draft no longer matches the approved files
    (consolidate again first): a director must publish exactly what they saw.
    """
    with session(settings.database) as db:
        cycle = cycle_of(db, plan.id, cycle_id)
        if cycle is None:
            raise PublicationRefused(
                "unknown-cycle", f"cycle {cycle_label(plan.id, cycle_id)} does not exist"
            )
        latest = _latest(db, plan.id, cycle_id)
        if latest is None or latest.state != "draft":
            version = f" (v{latest.version} is already published)" if latest else ""
            raise PublicationRefused(
                "no-draft",
                f"cycle {cycle_id} has no draft to publish{version}: run hitos consolidate "
                f"{cycle_id} first",
            )
        table = consolidated_table(db, plan, cycle)
        if used_submissions(table) != latest.submissions:
            raise PublicationRefused(
                "draft-outdated",
                f"the approved files changed since draft v{latest.version} was made: run "
                f"hitos consolidate {cycle_id} and look at the new draft",
            )
        numbers = figures(db, plan, cycle, table)
        for old in db.scalars(
            select(Report).where(of_cycle(Report, plan.id, cycle_id), Report.state == "published")
        ):
            old.state = "superseded"
        latest.state, latest.published_at, latest.published_by = "published", utcnow(), actor
        cycle.state = "consolidated"
        db.add(
            Decision(
                actor=actor,
                action="publish",
                plan_id=plan.id,
                cycle_id=cycle_id,
                report_version=latest.version,
            )
        )
        data = filestore.get_many(db, set(latest.files.values()))
    paths = local_copies(settings, plan, latest, data)  # now with latest/: the public files
    publication = Publication(latest, cycle, numbers, paths, links(settings, latest, paths))
    _rebuild_public_outputs(settings, plan)
    send_all(settings, [report_email(plan, publication, language_of(settings, plan))])
    return publication


def _rebuild_public_outputs(settings: Settings, plan: Plan) -> None:
    """Whatever else the public sees is rebuilt from the published versions: the board."""
    build_board(settings, plan)


def _standing(db: Session, plan_id: str, cycle_id: str) -> set[int]:
    """The newest accepted, not returned, file of each institution in the cycle."""
    newest: dict[str, int] = {}
    for institution, submission in db.execute(
        select(Submission.institution, Submission.id)
        .where(
            of_cycle(Submission, plan_id, cycle_id),
            Submission.outcome.in_(ACCEPTED),
            Submission.review != "returned",
        )
        .order_by(Submission.version.desc(), Submission.id.desc())
    ):
        newest.setdefault(str(institution), submission)
    return set(newest.values())


def _is_outdated(db: Session, report: Report) -> bool:
    """The cycle's standing files differ from those of the cycle the report used."""
    of_report = of_cycle(Submission, report.plan_id, report.cycle_id)
    cycle_ids = set(db.scalars(select(Submission.id).where(of_report)))
    used = {s for s in report.submissions if s in cycle_ids}
    return _standing(db, report.plan_id, report.cycle_id) != used


def notify_if_outdated(settings: Settings, plan: Plan, cycle_id: str) -> dict[str, str]:
    """Mark the published version out of date if files or reviews moved, and tell the director."""
    mails: list[Outgoing] = []
    with session(settings.database) as db:
        published = _published(db, plan.id, cycle_id)
        if published is None or published.outdated_at is not None:
            return {}
        if not _is_outdated(db, published):
            return {}
        published.outdated_at = utcnow()
        mails.append(outdated_email(settings, plan, published))
    return send_all(settings, mails)


def check_publications(settings: Settings, plan: Plan) -> dict[str, str]:
    """After intake: every cycle of the plan whose published version new files made out of
    date."""
    with session(settings.database) as db:
        cycles = list(
            db.scalars(
                select(Report.cycle_id)
                .where(Report.plan_id == plan.id, Report.state == "published")
                .distinct()
            )
        )
    sent: dict[str, str] = {}
    for cycle_id in cycles:
        sent |= notify_if_outdated(settings, plan, cycle_id)
    return sent
