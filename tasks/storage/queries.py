"""The questions every view asks of the ledger, each answered in one place.

Status, the console, reminders, emails, the report, the board and the open data ask these
named queries instead of writing their own SQL, so two views of the same fact cannot disagree.
The rules the answers follow (delivery, deadlines, the standing file) live in ``tasks.core``;
this module only reads the ledger for them, one query per question rather than one per
institution (a dashboard of 1,000 institutions asks them on every change).
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from tasks.core.cycles import cycle_label
from tasks.core.delivery import (
    DeliveryVerdict,
    FileFact,
    delivery_of,
    publishable_file,
    standing_file,
)
from tasks.core.mesa import OPEN
from tasks.core.refusals import UnknownCycle
from tasks.core.states import (
    ACCEPTED,
    SETTLED,
    CycleState,
    Outcome,
    ReportState,
    Review,
)
from tasks.plans.plan import Institution, Plan
from tasks.storage.ledger import (
    Agreement,
    Assessment,
    CommuniqueRow,
    Cycle,
    Decision,
    Email,
    Extension,
    LinkCheck,
    MesaSession,
    MilestoneValue,
    PlanChange,
    Report,
    SignInEvent,
    Submission,
    hold,
    of_cycle,
)

# Cycles.


def cycle_of(db: Session, plan_id: str, cycle_id: str, for_update: bool = False) -> Cycle | None:
    """The plan's cycle, or None; with ``for_update``, held until the transaction ends
    (``tasks.storage.ledger.hold``: a second decision on the cycle waits for this one, on
    PostgreSQL and on SQLite)."""
    if for_update:
        hold(db, Cycle, Cycle.plan_id == plan_id, Cycle.id == cycle_id)
    return db.get(Cycle, (plan_id, cycle_id), populate_existing=for_update)


def require_cycle(db: Session, plan_id: str, cycle_id: str, for_update: bool = False) -> Cycle:
    """The plan's cycle, or ``UnknownCycle`` with the sentence that says how to open it."""
    cycle = cycle_of(db, plan_id, cycle_id, for_update)
    if cycle is None:
        known = [c.id for c in cycles_of(db, plan_id)]
        listed = f" (its cycles: {', '.join(known)})" if known else " (no cycle is open yet)"
        raise UnknownCycle(
            f"cycle {cycle_label(plan_id, cycle_id)} does not exist{listed}: open it with "
            f"`hitos cycle open {cycle_id} --plan {plan_id}`"
        )
    return cycle


def cycles_of(db: Session, plan_id: str, *states: CycleState) -> list[Cycle]:
    """The plan's cycles, oldest first (only those in ``states`` when given)."""
    query = select(Cycle).where(Cycle.plan_id == plan_id)
    if states:
        query = query.where(Cycle.state.in_(states))
    return list(db.scalars(query.order_by(Cycle.id)))


def newest_open_cycle(db: Session, plan_id: str) -> Cycle | None:
    """The plan's newest open cycle: where a file of that plan that does not say its cycle
    belongs."""
    return db.scalars(
        select(Cycle)
        .where(Cycle.plan_id == plan_id, Cycle.state == CycleState.OPEN)
        .order_by(Cycle.id.desc())
        .limit(1)
    ).first()


def previous_cycle(db: Session, plan_id: str, cycle_id: str) -> Cycle | None:
    """The plan's cycle before this one, if any."""
    return db.scalars(
        select(Cycle)
        .where(Cycle.plan_id == plan_id, Cycle.id < cycle_id)
        .order_by(Cycle.id.desc())
        .limit(1)
    ).first()


# Files and who they speak for.


def cycle_files(
    db: Session, plan_id: str, cycle_ids: Iterable[str], institution: str | None = None
) -> dict[tuple[str, str], list[FileFact]]:
    """(cycle, institution) → its files, oldest first: what the rules of ``tasks.core.delivery``
    read, in one query of five columns (no ORM objects: 1,000 institutions)."""
    query = select(
        Submission.cycle_id,
        Submission.institution,
        Submission.id,
        Submission.version,
        Submission.outcome,
        Submission.review,
        Submission.received_at,
    ).where(
        Submission.plan_id == plan_id,
        Submission.cycle_id.in_(list(cycle_ids)),
        Submission.institution.is_not(None),
    )
    if institution is not None:
        query = query.where(Submission.institution == institution)
    files: dict[tuple[str, str], list[FileFact]] = {}
    for cycle_id, code, *fact in db.execute(query.order_by(Submission.version, Submission.id)):
        id_, version, outcome, review, received_at = fact
        files.setdefault((str(cycle_id), str(code)), []).append(
            FileFact(id_, version, Outcome(outcome), Review(review), received_at)
        )
    return files


def files_by_institution(
    db: Session, plan_id: str, cycle_id: str, institution: str | None = None
) -> dict[str, list[FileFact]]:
    """Institution → its files in one cycle, oldest first."""
    return {
        code: files
        for (_, code), files in cycle_files(db, plan_id, [cycle_id], institution).items()
    }


def standing_files(db: Session, plan_id: str, cycle_id: str) -> dict[str, FileFact]:
    """Institution → the file that speaks for it in the cycle (institutions without one are
    left out)."""
    found = {
        code: standing_file(files)
        for code, files in files_by_institution(db, plan_id, cycle_id).items()
    }
    return {code: file for code, file in found.items() if file is not None}


def publishable_files(
    db: Session, plan_id: str, cycle_ids: Iterable[str]
) -> dict[tuple[str, str], FileFact]:
    """(cycle, institution) → the approved file a publication shows for it."""
    found = {
        key: publishable_file(files) for key, files in cycle_files(db, plan_id, cycle_ids).items()
    }
    return {key: file for key, file in found.items() if file is not None}


def portal_uploads(db: Session, link_id: int, since: datetime | None = None) -> int:
    """Files stored through one personal link (``tasks.portal.upload``), since a moment or
    ever: what bounds a link like the mailbox bounds mail."""
    query = select(func.count(Submission.id)).where(
        Submission.source_ref.like(f"portal:{link_id}:%")
    )
    if since is not None:
        query = query.where(Submission.received_at >= since)
    return int(db.scalar(query) or 0)


def institution_files(
    db: Session, plan_id: str, cycle_id: str, institution: str
) -> list[Submission]:
    """The institution's files in the cycle, newest first, their findings loaded: what its
    liaison's page lists."""
    return list(
        db.scalars(
            select(Submission)
            .options(selectinload(Submission.findings))
            .where(of_cycle(Submission, plan_id, cycle_id), Submission.institution == institution)
            .order_by(Submission.id.desc())
        )
    )


def milestone_progress(db: Session, submission_ids: Iterable[int]) -> dict[int, dict[str, float]]:
    """Submission → milestone → the progress it reported."""
    progress: dict[int, dict[str, float]] = {}
    ids = list(submission_ids)
    if not ids:
        return progress
    for submission, milestone, avance in db.execute(
        select(MilestoneValue.submission_id, MilestoneValue.milestone, MilestoneValue.avance_pct)
        .where(MilestoneValue.submission_id.in_(ids))
        .order_by(MilestoneValue.id)
    ):
        progress.setdefault(submission, {})[milestone] = avance
    return progress


def standing_values(
    db: Session, plan_id: str, cycle_id: str
) -> dict[str, dict[str, MilestoneValue]]:
    """Institution → milestone → everything its standing file of the cycle reported for it
    (one query for the whole cycle)."""
    standing = {file.id: code for code, file in standing_files(db, plan_id, cycle_id).items()}
    found: dict[str, dict[str, MilestoneValue]] = {}
    for value in db.scalars(
        select(MilestoneValue)
        .where(MilestoneValue.submission_id.in_(list(standing)))
        .order_by(MilestoneValue.id)
    ):
        found.setdefault(standing[value.submission_id], {})[value.milestone] = value
    return found


def standing_in_earlier_cycle(
    db: Session, plan_id: str, cycle_id: str, institution: str
) -> int | None:
    """The institution's standing file in the newest earlier cycle that has one: what its next
    request is pre-filled with."""
    return standing_in_earlier_cycles(db, plan_id, cycle_id, [institution]).get(institution)


def standing_in_earlier_cycles(
    db: Session, plan_id: str, cycle_id: str, institutions: Iterable[str]
) -> dict[str, int]:
    """Institution → its standing file in the newest earlier cycle that has one, for many
    institutions in two queries (a cycle's opening asks for all of them)."""
    codes = list(institutions)
    earlier = [c.id for c in reversed(cycles_of(db, plan_id)) if c.id < cycle_id]
    if not earlier or not codes:
        return {}
    files = cycle_files(db, plan_id, earlier, codes[0] if len(codes) == 1 else None)
    found: dict[str, int] = {}
    for institution in codes:
        for previous in earlier:
            standing = standing_file(files.get((previous, institution), []))
            if standing is not None:
                found[institution] = standing.id
                break
    return found


# Deadlines and deliveries.


def extensions_of(db: Session, plan_id: str, cycle_id: str) -> dict[str, Extension]:
    """Institution → the extension the director granted it in the cycle."""
    return {
        e.institution: e
        for e in db.scalars(select(Extension).where(of_cycle(Extension, plan_id, cycle_id)))
    }


def deadline_of(db: Session, cycle: Cycle, institution: str) -> date:
    """The deadline that applies to one institution: its extension, else the cycle's."""
    extension = db.scalars(
        select(Extension.until).where(
            of_cycle(Extension, cycle.plan_id, cycle.id), Extension.institution == institution
        )
    ).first()
    return extension or cycle.deadline


def deliveries(db: Session, plan: Plan, cycle: Cycle, today: date) -> dict[str, DeliveryVerdict]:
    """Institution → its delivery in the cycle, for every institution the plan asks, in the
    plan's order; ``today`` is the day lateness is counted to where nothing was delivered.

    Two queries for the whole cycle (files, extensions): the one answer status, the console,
    reminders, the emails, the report and the board give.
    """
    files = files_by_institution(db, plan.id, cycle.id)
    extended = extensions_of(db, plan.id, cycle.id)
    return {
        institution.code: delivery_of(
            files.get(institution.code, []),
            extended[institution.code].until if institution.code in extended else cycle.deadline,
            plan.timezone,
            plan.country,
            today,
        )
        for institution in plan.reporting_institutions()
    }


def waiting_institutions(db: Session, plan: Plan, cycle: Cycle) -> list[Institution]:
    """The institutions asked in the cycle that have no standing file: who reminders go to."""
    standing = standing_files(db, plan.id, cycle.id)
    return [i for i in plan.reporting_institutions() if i.code not in standing]


# Emails.


def cycle_emails(db: Session, plan_id: str, cycle_id: str) -> list[Email]:
    """Every email of the cycle, by key."""
    return list(db.scalars(select(Email).where(of_cycle(Email, plan_id, cycle_id))))


def settled_email_keys(db: Session, kind: str | None = None) -> set[str]:
    """Keys of the emails the step that owes them must not send again (``SETTLED``)."""
    query = select(Email.key).where(Email.status.in_(SETTLED))
    if kind is not None:
        query = query.where(Email.kind == kind)
    return set(db.scalars(query))


def claimed_since(db: Session, since: datetime, kinds: tuple[str, ...]) -> list[Email]:
    """Emails of these kinds claimed since ``since``, sent or not (failed, refused, still
    claimed): a command counts what it sent and says, exiting non-zero, what did not go out."""
    return list(
        db.scalars(
            select(Email)
            .where(Email.kind.in_(kinds), Email.claimed_at >= since)
            .order_by(Email.key)
        )
    )


# Publication.


@dataclass(frozen=True)
class Sources:
    """What a cycle's report is made of: every version is one set of these."""

    files: dict[tuple[str, str], FileFact]
    """(cycle, institution) → its publishable file, this cycle and earlier ones (an earlier
    cycle's values stand for a milestone with none this cycle)."""
    deliveries: dict[str, DeliveryVerdict]

    @property
    def key(self) -> str:
        """sha256 of the files and each institution's delivery and deadline: a version per
        key, however many consolidations, and a published version out of date once it moves."""
        described = {
            "files": sorted(f.id for f in self.files.values()),
            "deliveries": {
                code: [verdict.state.value, verdict.deadline.isoformat()]
                for code, verdict in sorted(self.deliveries.items())
            },
        }
        return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def publication_sources(db: Session, plan: Plan, cycle: Cycle, today: date) -> Sources:
    """What consolidating the cycle now would use."""
    up_to = [c.id for c in cycles_of(db, plan.id) if c.id <= cycle.id]
    return Sources(publishable_files(db, plan.id, up_to), deliveries(db, plan, cycle, today))


@dataclass(frozen=True)
class PublicationState:
    """Where a cycle's report stands, for the console, ``hitos status`` and the notices."""

    draft: Report | None
    """The newest version when it is still a draft."""
    published: Report | None
    """The version the public sees."""
    outdated: bool
    """The published version is not what consolidating now would make: files, reviews or
    deliveries moved since."""


def newest_report(db: Session, plan_id: str, cycle_id: str) -> Report | None:
    return db.scalars(
        select(Report).where(of_cycle(Report, plan_id, cycle_id)).order_by(Report.version.desc())
    ).first()


def published_report(db: Session, plan_id: str, cycle_id: str) -> Report | None:
    """The version the public sees, if any."""
    return db.scalars(
        select(Report)
        .where(of_cycle(Report, plan_id, cycle_id), Report.state == ReportState.PUBLISHED)
        .order_by(Report.version.desc())
    ).first()


def publication_state(db: Session, plan: Plan, cycle: Cycle, today: date) -> PublicationState:
    """The cycle's draft, its published version and whether that one is out of date."""
    newest = newest_report(db, plan.id, cycle.id)
    published = published_report(db, plan.id, cycle.id)
    outdated = (
        published is not None
        and published.sources != publication_sources(db, plan, cycle, today).key
    )
    draft = newest if newest is not None and newest.state == ReportState.DRAFT else None
    return PublicationState(draft=draft, published=published, outdated=outdated)


def published_cycle_ids(db: Session, plan_id: str) -> list[str]:
    """The plan's cycles that have a published version."""
    return list(
        db.scalars(
            select(Report.cycle_id)
            .where(Report.plan_id == plan_id, Report.state == ReportState.PUBLISHED)
            .distinct()
            .order_by(Report.cycle_id)
        )
    )


# What the console's pages read.


def cycle_decisions(db: Session, plan_id: str, cycle_id: str) -> list[Decision]:
    """Every human decision of the plan's cycle, newest first: the audit trail's page."""
    return list(
        db.scalars(
            select(Decision)
            .where(of_cycle(Decision, plan_id, cycle_id))
            .order_by(Decision.id.desc())
        )
    )


def submission_decisions(db: Session, submission_id: int) -> list[Decision]:
    """The reviews of one file, newest first."""
    return list(
        db.scalars(
            select(Decision)
            .where(Decision.submission_id == submission_id)
            .order_by(Decision.id.desc())
        )
    )


def reported_values(db: Session, submission_id: int | None) -> dict[str, MilestoneValue]:
    """Milestone code → what an accepted file reported for it, in the file's order (empty for
    a file the rules did not accept, or for no file)."""
    if submission_id is None:
        return {}
    return {
        value.milestone: value
        for value in db.scalars(
            select(MilestoneValue)
            .where(MilestoneValue.submission_id == submission_id)
            .order_by(MilestoneValue.id)
        )
    }


def same_message_files(db: Session, submission: Submission) -> list[Submission]:
    """The other files that came in the same email as this one."""
    if not submission.source_ref:
        return []
    return list(
        db.scalars(
            select(Submission)
            .where(
                Submission.source_ref == submission.source_ref,
                Submission.id != submission.id,
            )
            .order_by(Submission.id)
        )
    )


def report_version(db: Session, plan_id: str, cycle_id: str, version: int) -> Report | None:
    """One version of the plan's cycle's report."""
    return db.scalars(
        select(Report).where(of_cycle(Report, plan_id, cycle_id), Report.version == version)
    ).first()


def previous_file(db: Session, submission: Submission) -> Submission | None:
    """The institution's accepted file before this one in the same cycle, whatever its review:
    what a reviewer compares a new file with (a returned file still says what was reported)."""
    if submission.plan_id is None or submission.cycle_id is None:
        return None
    return db.scalars(
        select(Submission)
        .where(
            of_cycle(Submission, submission.plan_id, submission.cycle_id),
            Submission.institution == submission.institution,
            Submission.outcome.in_(ACCEPTED),
            Submission.version < submission.version,
        )
        .order_by(Submission.version.desc(), Submission.id.desc())
        .limit(1)
    ).first()


def standing_before(db: Session, submission: Submission) -> Submission | None:
    """The file that stood for the institution in the newest earlier cycle that has one."""
    if submission.plan_id is None or submission.cycle_id is None or not submission.institution:
        return None
    found = standing_in_earlier_cycle(
        db, submission.plan_id, submission.cycle_id, submission.institution
    )
    return db.get(Submission, found) if found is not None else None


def recent_sign_ins(db: Session, limit: int) -> list[SignInEvent]:
    """The newest ``limit`` rows of the sign-in audit log."""
    return list(db.scalars(select(SignInEvent).order_by(SignInEvent.id.desc()).limit(limit)))


# Evidence links (tasks.evidence): where each link of a file stands, for `hitos evidence`, the
# check before a publication and the board's «verificado el <fecha>».


@dataclass(frozen=True)
class LinkState:
    """Where one evidence link stands: its newest check, and its newest archived copy (which
    may be older, when the link stopped answering since)."""

    url: str
    checked_at: datetime
    reachable: bool
    status: int | None
    problem: str
    """``tasks.evidence.problems.Problem`` of the newest check, or empty."""
    archived_at: datetime | None
    """When the newest archived copy was fetched (None: never archived)."""
    sha256: str
    """That copy's file-store key, or empty."""
    media_type: str
    """That copy's media type (``text/html``, ``application/pdf``)."""

    @property
    def file_name(self) -> str:
        """The copy's file name wherever it is written (the workspace's ``archive/``, the
        board): ``<sha256>.html``, ``<sha256>.pdf``…, a name a browser opens by its type; empty
        when there is no copy."""
        if not self.sha256:
            return ""
        extension = mimetypes.guess_extension(self.media_type) if self.media_type else None
        return self.sha256 + (extension or ".bin")


@dataclass(frozen=True)
class EvidenceLink:
    """One milestone's evidence link in one accepted file, and where it stands."""

    submission_id: int
    institution: str
    milestone: str
    url: str
    state: LinkState | None
    """None: never checked."""


LINKS_PER_QUERY = 1000
"""Links asked about per statement: a cycle of 1,000 institutions names some 20,000 links, more
than SQLite lets one statement bind."""


def link_states(db: Session, urls: Iterable[str]) -> dict[str, LinkState]:
    """Link → its newest check and newest archived copy (links never checked are left out)."""
    keys = {LinkCheck.key_of(url): url for url in urls}
    newest: dict[str, LinkCheck] = {}
    archived: dict[str, LinkCheck] = {}
    chunks = list(keys)
    for start in range(0, len(chunks), LINKS_PER_QUERY):
        part = chunks[start : start + LINKS_PER_QUERY]
        for found, latest in (
            (newest, select(func.max(LinkCheck.id)).where(LinkCheck.url_key.in_(part))),
            (
                archived,
                select(func.max(LinkCheck.id)).where(
                    LinkCheck.url_key.in_(part), LinkCheck.sha256 != ""
                ),
            ),
        ):
            ids = latest.group_by(LinkCheck.url_key).scalar_subquery()
            for check in db.scalars(select(LinkCheck).where(LinkCheck.id.in_(ids))):
                found[check.url_key] = check
    states = {}
    for key, check in newest.items():
        copy = archived.get(key)
        states[keys[key]] = LinkState(
            url=keys[key],
            checked_at=check.checked_at,
            reachable=check.reachable,
            status=check.status,
            problem=check.problem,
            archived_at=copy.checked_at if copy else None,
            sha256=copy.sha256 if copy else "",
            media_type=copy.media_type if copy else "",
        )
    return states


def evidence_links(db: Session, submission_ids: Iterable[int]) -> list[EvidenceLink]:
    """Every evidence link the files report (by institution, file, then the file's order), each
    with where it stands.

    The board asks it with a published version's ``Report.submissions`` and shows, beside each
    milestone the version takes from file F, the link of ``(F, milestone)``: «verificado el» its
    ``state.archived_at`` linking the copy ``state.sha256``.
    """
    ids = list(submission_ids)
    rows = db.execute(
        select(
            MilestoneValue.submission_id,
            Submission.institution,
            MilestoneValue.milestone,
            MilestoneValue.evidencia_url,
        )
        .join(Submission, Submission.id == MilestoneValue.submission_id)
        .where(MilestoneValue.submission_id.in_(ids), MilestoneValue.evidencia_url != "")
        .order_by(Submission.institution, MilestoneValue.submission_id, MilestoneValue.id)
    ).all()
    states = link_states(db, {url for *_, url in rows})
    return [
        EvidenceLink(submission, str(institution or ""), milestone, url, states.get(url))
        for submission, institution, milestone, url in rows
    ]


# The Mesa Técnica's questions (tasks/mesa/): what the rooms below it (requests, reminders, the
# plan in force, the board) ask of its records without deciding anything.


def plan_changes(db: Session, plan_id: str, on: date | None = None) -> list[PlanChange]:
    """The plan's changes the Mesa approved, in version order (those in force ``on`` when
    given)."""
    query = select(PlanChange).where(PlanChange.plan_id == plan_id)
    if on is not None:
        query = query.where(PlanChange.valid_from <= on)
    return list(db.scalars(query.order_by(PlanChange.version)))


def agreements_of(
    db: Session, plan_id: str, owner: str = "", only_open: bool = False, before: str = ""
) -> list[Agreement]:
    """The plan's agreements, oldest first: one owner's, only the open ones, or only those of
    sessions before cycle ``before`` (what a session's agenda carries)."""
    query = select(Agreement).where(Agreement.plan_id == plan_id)
    if owner:
        query = query.where(Agreement.owner == owner)
    if only_open:
        query = query.where(Agreement.state == OPEN)
    if before:
        query = query.where(Agreement.cycle_id < before)
    return list(db.scalars(query.order_by(Agreement.cycle_id, Agreement.number)))


def standing_assessments(
    db: Session, plan_id: str, cycle_ids: Iterable[str] | None = None
) -> list[Assessment]:
    """Each organisation's newest assessment of each milestone and cycle, in cycle, milestone
    and organisation order."""
    query = select(Assessment).where(Assessment.plan_id == plan_id)
    if cycle_ids is not None:
        query = query.where(Assessment.cycle_id.in_(list(cycle_ids)))
    newest: dict[tuple[str, str, str], Assessment] = {}
    for row in db.scalars(query.order_by(Assessment.id)):
        newest[(row.cycle_id, row.milestone, row.organisation)] = row

    def order(key: tuple[str, str, str]) -> tuple[str, int, int, str]:
        cycle, code, organisation = key
        number, n = code.split(".")
        return cycle, int(number), int(n), organisation

    return [newest[key] for key in sorted(newest, key=order)]


def held_sessions(db: Session, plan_id: str) -> list[MesaSession]:
    """The plan's sessions of the Mesa that were not cancelled, oldest first."""
    return list(
        db.scalars(
            select(MesaSession)
            .where(MesaSession.plan_id == plan_id, MesaSession.state == "scheduled")
            .order_by(MesaSession.cycle_id)
        )
    )


def approved_communiques(db: Session, plan_id: str) -> list[CommuniqueRow]:
    """The communiqués the director approved, oldest first, with the page each was approved as."""
    return list(
        db.scalars(
            select(CommuniqueRow)
            .where(CommuniqueRow.plan_id == plan_id, CommuniqueRow.state == "approved")
            .order_by(CommuniqueRow.cycle_id)
        )
    )
