"""Evidence links checked and recorded: once after intake accepts a file, again before each
publication.

After intake (``check_new_links``, a step of ``hitos.intake`` before the replies are rendered):
the links of every accepted file not checked yet. A link that does not answer becomes an
``evidence-unreachable`` warning on the file, a finding like any other: the reply to the liaison,
the reviewer's page in the console and ``hitos findings`` already show a file's findings, each
with its milestone and column, so nobody has a second list to read or keep in step; a file
accepted without warnings becomes accepted with warnings. Warnings describe the file as intake
saw it, so only this first check adds them.

Before a publication (``recheck_links``): every link of the files it shows, checked again; each
check is recorded (the board says when each link was last verified) and the links that do not
answer now are returned to the step that publishes.
"""

from __future__ import annotations

from sqlalchemy import exists, insert, select, update

from tasks.catalogues import language_of, text
from tasks.core.calendar import local_date
from tasks.core.findings import Finding, finding
from tasks.core.states import ACCEPTED, Outcome
from tasks.cycle.ledger_plans import plans_in_ledger
from tasks.evidence.addresses import AllowList, Resolver, system_resolver
from tasks.evidence.fetching import Bounds, Fetched, fetch_all
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.ledger import (
    FindingRow,
    LinkCheck,
    LinksChecked,
    Submission,
    insert_or_ignore,
    session,
    utcnow,
)
from tasks.storage.queries import EvidenceLink, evidence_links

CONCURRENCY = 8
"""Links fetched at once. A check mostly waits on a remote server, so threads, not cores, are the
bound; eight keeps one slow site from holding a batch up without hammering a ministry's server
that many milestones link to."""

FILES_PER_BATCH = 100
"""Accepted files whose links are checked before they are marked checked, their warnings with
them, in one transaction: a crash repeats at most one batch's checks."""

COLUMN = "evidencia_url"


def bounds_of(settings: Settings) -> Bounds:
    return Bounds(settings.evidence_timeout_seconds, settings.evidence_max_mb * 1024 * 1024)


def check_links(
    settings: Settings, urls: list[str], resolver: Resolver = system_resolver
) -> dict[str, LinkCheck]:
    """Fetch each link once, ``CONCURRENCY`` at a time, and record the checks as they end (each
    page in the file store, stored once by sha256); link → its check."""
    allowed = AllowList.parse(settings.evidence_allow_hosts)
    found: dict[str, LinkCheck] = {}
    ended: list[Fetched] = []
    for fetched in fetch_all(urls, bounds_of(settings), allowed, CONCURRENCY, resolver):
        ended.append(fetched)
        if len(ended) == RECORDED_TOGETHER or sum(len(f.content or b"") for f in ended) > HELD:
            found |= record(settings, ended)
            ended = []
    return found | record(settings, ended)


RECORDED_TOGETHER = 100
"""Checks written per transaction: one each was a commit per link (1–2 ms on SQLite here, 16 to
32 s for the 16,000 links of 1,000 institutions)."""
HELD = 32 * 1024 * 1024
"""Bytes of pages held before they are written, whatever their number: a few large PDFs are
written at once."""


def record(settings: Settings, ended: list[Fetched]) -> dict[str, LinkCheck]:
    """Checks in the ledger, pages in the file store, in one transaction."""
    checks = {}
    with session(settings.database) as db:
        for fetched in ended:
            checks[fetched.url] = LinkCheck(
                url=fetched.url,
                url_key=LinkCheck.key_of(fetched.url),
                checked_at=fetched.at,
                reachable=fetched.reachable,
                status=fetched.status,
                problem=fetched.problem or "",
                sha256=filestore.put(db, fetched.content) if fetched.content is not None else "",
                media_type=fetched.media_type[:100],
            )
        db.add_all(checks.values())
    return checks


def check_new_links(
    settings: Settings, plan: Plan, resolver: Resolver = system_resolver
) -> list[LinkCheck]:
    """Check the links of every accepted file not checked yet, of every plan in the ledger
    (``plan``: the settings' plan); each unreachable link a warning on its file. The checks
    made."""
    plans = plans_in_ledger(settings, plan)
    with session(settings.database) as db:
        pending = list(
            db.scalars(
                select(Submission.id)
                .where(
                    Submission.outcome.in_(ACCEPTED),
                    ~exists().where(LinksChecked.submission_id == Submission.id),
                )
                .order_by(Submission.id)
            )
        )
    done: dict[str, LinkCheck] = {}
    for start in range(0, len(pending), FILES_PER_BATCH):
        batch = pending[start : start + FILES_PER_BATCH]
        with session(settings.database) as db:
            links = evidence_links(db, batch)
        unchecked = [link.url for link in links if link.url not in done]
        done |= check_links(settings, unchecked, resolver)
        warn(settings, plans, plan, batch, links, done)
    return list(done.values())


def warn(
    settings: Settings,
    plans: dict[str, Plan],
    default: Plan,
    batch: list[int],
    links: list[EvidenceLink],
    checks: dict[str, LinkCheck],
) -> None:
    """Mark the batch's files checked and add their warnings, each file once however many runs
    check it at the same time (the run whose mark is written adds them)."""
    with session(settings.database) as db:
        marked = set(
            db.scalars(
                insert_or_ignore(db, LinksChecked, "submission_id")
                .values([{"submission_id": id_, "checked_at": utcnow()} for id_ in batch])
                .returning(LinksChecked.submission_id)
            )
        )
        plan_of = {
            id_: plans.get(plan_id or "", default)
            for id_, plan_id in db.execute(
                select(Submission.id, Submission.plan_id).where(Submission.id.in_(marked))
            )
        }
        warnings = [
            (
                link.submission_id,
                unreachable(
                    settings, plan_of[link.submission_id], link.milestone, checks[link.url]
                ),
            )
            for link in links
            if link.submission_id in marked and not checks[link.url].reachable
        ]
        if not warnings:
            return
        db.execute(
            insert(FindingRow),
            [
                {
                    "submission_id": submission_id,
                    "milestone": f.milestone,
                    "column": f.column,
                    "row": f.row,
                    "rule": f.rule,
                    "severity": f.severity,
                    "message": f.message,
                }
                for submission_id, f in warnings
            ],
        )
        db.execute(
            update(Submission)
            .where(
                Submission.id.in_({submission_id for submission_id, _ in warnings}),
                Submission.outcome == Outcome.ACCEPTED,
            )
            .values(outcome=Outcome.ACCEPTED_WITH_WARNINGS)
            .execution_options(synchronize_session=False)
        )


def unreachable(settings: Settings, plan: Plan, milestone: str, check: LinkCheck) -> Finding:
    """The warning of a link that did not answer, in the plan's language, dated in its zone."""
    language = language_of(settings, plan)
    reason = text(
        language,
        f"evidence.problems.{check.problem}",
        status=check.status,
        seconds=f"{settings.evidence_timeout_seconds:g}",
    )
    return finding(
        "evidence-unreachable",
        "warning",
        milestone=milestone,
        column=COLUMN,
        language=language,
        value=check.url,
        checked=local_date(check.checked_at, plan.timezone),
        reason=reason,
    )


def recheck_links(
    settings: Settings, submission_ids: list[int], resolver: Resolver = system_resolver
) -> list[EvidenceLink]:
    """Before a publication: check again every link of the files it shows (a version's
    ``Report.submissions``); the links that do not answer now."""
    with session(settings.database) as db:
        links = evidence_links(db, submission_ids)
    check_links(settings, [link.url for link in links], resolver)
    with session(settings.database) as db:
        return [
            link
            for link in evidence_links(db, submission_ids)
            if link.state is not None and not link.state.reachable
        ]
