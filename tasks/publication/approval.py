"""Publication approval: consolidation makes a draft; only the director publishes it.

The public files (``reports/<plan>/<cycle>/latest/`` and the plan's public board) change only in
``publish_draft``. When files, reviews, deliveries or deadlines move so that consolidating now
would make another version (``tasks.storage.queries.publication_state``), the published version
is out of date and the director is told once; the next consolidation is again a draft. The CLI
(``hitos consolidate``, ``hitos publish``) and the console call these same functions.
"""

from __future__ import annotations

from sqlalchemy import select

from tasks.core.calendar import local_today
from tasks.core.refusals import DecisionRefused
from tasks.core.states import CycleState, ReportState
from tasks.evidence.checking import recheck_links
from tasks.mail.outgoing import Outgoing, send_all
from tasks.plans.plan import Plan
from tasks.publication.board import build_board
from tasks.publication.consolidation import consolidated_table, figures, from_snapshot
from tasks.publication.notices import draft_email, outdated_email, report_email
from tasks.publication.publishing import (
    SCHEDULE,
    Publication,
    consolidate,
    links,
    local_copies,
)
from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.ledger import Decision, Report, of_cycle, session, utcnow
from tasks.storage.queries import (
    PublicationState,
    newest_report,
    publication_sources,
    publication_state,
    published_cycle_ids,
    published_report,
    require_cycle,
)


class PublicationRefused(DecisionRefused):
    """A publication that cannot be made."""


def consolidate_draft(
    settings: Settings, plan: Plan, cycle_id: str, actor: str = SCHEDULE
) -> Publication:
    """The cycle's report as the ledger stands: a new draft (the director told once), or the
    version it already is (a draft, or the published one when nothing moved since)."""
    publication = consolidate(settings, plan, cycle_id, actor)
    if publication.report.state == ReportState.DRAFT:
        send_all(settings, [draft_email(settings, plan, publication)])
    return publication


def state_of(settings: Settings, plan: Plan, cycle_id: str) -> PublicationState:
    """The cycle's draft, its published version and whether that one is out of date."""
    with session(settings.database) as db:
        cycle = require_cycle(db, plan.id, cycle_id)
        return publication_state(db, plan, cycle, local_today(plan.timezone))


def publish_draft(
    settings: Settings, plan: Plan, cycle_id: str, actor: str, version: int | None = None
) -> Publication:
    """Make the cycle's draft public: copy it to ``latest/``, record who did it, tell the director.

    Refused when there is no draft, when the draft no longer matches the ledger (consolidate
    again first), or when ``version`` (the draft the director looked at) is not the newest one:
    a director must publish exactly what they saw. The cycle is held while deciding: of two
    publications at once, one publishes and the other is refused.
    """
    with session(settings.database) as db:
        cycle = require_cycle(db, plan.id, cycle_id, for_update=True)
        latest = newest_report(db, plan.id, cycle_id)
        if latest is None or latest.state != ReportState.DRAFT:
            shown = f" (v{latest.version} is already published)" if latest else ""
            raise PublicationRefused(
                "no-draft",
                f"cycle {cycle_id} has no draft to publish{shown}: run hitos consolidate "
                f"{cycle_id} first",
            )
        if version is not None and latest.version != version:
            raise PublicationRefused(
                "draft-replaced",
                f"draft v{version} of cycle {cycle_id} was replaced by v{latest.version}: look "
                f"at v{latest.version} before publishing it",
            )
        if latest.sources != publication_sources(db, plan, cycle, cycle.deadline).key:
            raise PublicationRefused(
                "draft-outdated",
                f"files, reviews or deliveries changed since draft v{latest.version} was made: "
                f"run hitos consolidate {cycle_id} and look at the new draft",
            )
        table = consolidated_table(db, plan, cycle, latest.submissions)
        numbers = figures(plan, table, from_snapshot(latest.institutions))
        for old in db.scalars(
            select(Report).where(
                of_cycle(Report, plan.id, cycle_id), Report.state == ReportState.PUBLISHED
            )
        ):
            old.state = ReportState.SUPERSEDED
        latest.state, latest.published_at, latest.published_by = (
            ReportState.PUBLISHED,
            utcnow(),
            actor,
        )
        cycle.state = CycleState.CONSOLIDATED
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
    recheck_links(settings, latest.submissions)  # the board says when each link last answered
    build_board(settings, plan)  # whatever else the public sees, rebuilt from the published
    send_all(settings, [report_email(settings, plan, publication)])
    return publication


def notify_if_outdated(settings: Settings, plan: Plan, cycle_id: str) -> dict[str, str]:
    """Mark the published version out of date if the ledger moved, and tell the director once."""
    mails: list[Outgoing] = []
    with session(settings.database) as db:
        cycle = require_cycle(db, plan.id, cycle_id)
        published = published_report(db, plan.id, cycle_id)
        if published is None or published.outdated_at is not None:
            return {}
        if not publication_state(db, plan, cycle, local_today(plan.timezone)).outdated:
            return {}
        published.outdated_at = utcnow()
        mails.append(outdated_email(settings, plan, published))
    return send_all(settings, mails)


def check_publications(settings: Settings, plan: Plan) -> dict[str, str]:
    """After intake: every cycle of the plan whose published version new files made out of
    date."""
    with session(settings.database) as db:
        cycles = published_cycle_ids(db, plan.id)
    sent: dict[str, str] = {}
    for cycle_id in cycles:
        sent |= notify_if_outdated(settings, plan, cycle_id)
    return sent
