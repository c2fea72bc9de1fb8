"""Intake: store every received file first, then identify, read and validate it.

Two steps with the ledger in between, so a crash at any point loses nothing and a re-run
repeats nothing: ``store`` writes bytes and rows before a message is marked done; ``process``
handles only submissions still ``received``. Answering the senders is ``tasks.mail.replies``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from tasks.catalogues import language_of
from tasks.checks.validation import DocsSite, Prepared, prepare, validate
from tasks.core import contract
from tasks.core.cycles import cycle_label
from tasks.core.findings import Finding, finding, has_errors
from tasks.core.states import ACCEPTED
from tasks.cycle.ledger_plans import plans_in_ledger
from tasks.mail.arrivals import Arrival, keep, sort_out
from tasks.mail.inbox import Received, sources
from tasks.mail.malformed import MALFORMED
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage import claims, filestore
from tasks.storage.ledger import (
    Cycle,
    Email,
    FindingRow,
    InboundMessage,
    MilestoneValue,
    Submission,
    insert_or_ignore,
    of_cycle,
    session,
    utcnow,
)
from tasks.storage.queries import newest_open_cycle as ledger_open_cycle
from tasks.storage.queries import standing_values
from tasks.workbooks.limits import Limits, bounded
from tasks.workbooks.reading import DAMAGED, ReadResult, UnreadableFile, read_submission
from tasks.workbooks.safe_names import printable, safe_filename
from tasks.workbooks.signing import verify
from tasks.workbooks.untouched import RequestsSent

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What intake decided about one submission, as every caller (CLI, flow, reply) needs it."""

    submission_id: int
    outcome: str
    institution: str | None
    cycle: str | None
    filename: str
    sender: str
    findings: list[Finding]
    plan: str | None = None

    def summary(self) -> dict[str, object]:
        """One line for tables: the intake artifact and the CLI."""
        return {
            "envío": self.submission_id,
            "archivo": self.filename,
            "institución": self.institution or "",
            "ciclo": cycle_label(self.plan, self.cycle) if self.plan and self.cycle else "",
            "resultado": self.outcome,
            "errores": sum(f.severity == "error" for f in self.findings),
            "advertencias": sum(f.severity == "warning" for f in self.findings),
        }

    def as_dict(self) -> dict[str, object]:
        return {
            "submission": self.submission_id,
            "outcome": self.outcome,
            "institution": self.institution,
            "plan": self.plan,
            "cycle": self.cycle,
            "filename": self.filename,
            "findings": [f.as_dict() for f in self.findings],
        }


STORE_BATCH = 20
"""Messages stored per ledger transaction and marked done together once it commits: one
transaction per message was most of storing. Twenty is also the IMAP fetch size, so memory
holds what it held before (at most 20 messages' attachments)."""


def store(
    settings: Settings,
    messages: list[Received],
    institution: str | None = None,
    cycle_id: str | None = None,
    plan_id: str | None = None,
) -> list[int]:
    """Keep the messages' files (content-addressed) and their ledger rows in one transaction;
    ids of the new submissions.

    A message already stored (same Message-ID) or a file already received (same sha256) is
    recognised and not stored again. Files are checked even when the Message-ID is known: two
    different emails can share one (some clients derive it from sender and subject).
    """
    now = utcnow()  # for what has no arrival time of its own (the drop folder, the CLI)
    arrivals = [sorted_out(settings, received) for received in messages]
    files = [
        (arrival.received, attachment, hashlib.sha256(attachment.data).hexdigest())
        for arrival in arrivals
        for attachment in arrival.workbooks
    ]
    with session(settings.database) as db:
        known_messages = set(
            db.scalars(
                select(InboundMessage.message_id).where(
                    InboundMessage.message_id.in_({m.message_id for m in messages})
                )
            )
        )
        known_files = set(
            db.scalars(
                select(Submission.sha256).where(Submission.sha256.in_({d for _, _, d in files}))
            )
        )
        # Rows another intake may be writing at this very moment are inserted or ignored, so
        # two runs reading one mailbox store each message and each file once, without an error;
        # a message is first seen by the run whose row was written.
        first_seen = []
        for arrival in arrivals:
            received = arrival.received
            if received.message_id not in known_messages:
                known_messages.add(received.message_id)
                written = db.scalar(
                    insert_or_ignore(db, InboundMessage, "message_id")
                    .values(
                        message_id=received.message_id,
                        channel=received.channel,
                        sender=printable(received.sender),
                        subject=printable(received.subject, 500),
                        received_at=received.arrived or now,
                        references=arrival.references,
                        kind=MALFORMED if received.problem else arrival.kind,
                        **kept_malformed(db, received),
                    )
                    .returning(InboundMessage.message_id)
                )
                if written is not None:
                    first_seen.append(arrival)
        new: list[int] = []
        for received, attachment, digest in files:
            if digest in known_files:
                continue
            known_files.add(digest)
            filestore.put(db, attachment.data)
            filestore.local_copy(settings, attachment.data, "files", digest[:2], digest)
            stored = db.scalar(
                insert_or_ignore(db, Submission, "sha256")
                .values(
                    sha256=digest,
                    filename=safe_filename(attachment.filename),
                    sender=printable(received.sender),
                    channel=received.channel,
                    source_ref=received.message_id,
                    institution=institution,
                    plan_id=plan_id,
                    cycle_id=cycle_id,
                    received_at=received.arrived or now,
                )
                .returning(Submission.id)
            )
            if stored is not None:
                new.append(stored)
        keep(db, first_seen, now)
        return new


def sorted_out(settings: Settings, received: Received) -> Arrival:
    """``sort_out``, or, should sorting fail on an odd message, its files as they came: one
    message never stops the batch from being stored."""
    try:
        return sort_out(settings, received)
    except Exception:
        logger.exception("sorting out message %s failed; taking its files", received.message_id)
        return Arrival(received, "files", list(received.attachments))


def kept_malformed(db: Session, received: Received) -> dict[str, str]:
    """A malformed message's reason and raw bytes (in the file store), for its row."""
    if not received.problem:
        return {}
    logger.warning("message %s from %s: %s", received.message_id, received.sender, received.problem)
    return {
        "problem": received.problem,
        "raw_sha256": filestore.put(db, received.raw) if received.raw else "",
    }


@dataclass
class Lookups:
    """What intake asks the ledger about every file, read once per batch, not once per file.

    At 1,000 files, a session per file for the open cycle, the cycle's deadline and last
    cycle's progress cost more than reading the files. Every answer is per plan: two plans may
    both have 2023-08 open.
    """

    plans: dict[str, Plan]
    open_cycles: dict[str, str]
    deadlines: dict[tuple[str, str], date]
    threads: dict[str, tuple[str, str, str]]
    database: str
    _previous: dict[tuple[str, str], dict[str, dict[str, MilestoneValue]]] = field(
        default_factory=dict
    )

    @classmethod
    def read(cls, settings: Settings, plans: dict[str, Plan], subs: list[Submission]) -> Lookups:
        with session(settings.database) as db:
            deadlines = {(c.plan_id, c.id): c.deadline for c in db.scalars(select(Cycle))}
            open_cycles = {
                plan_id: cycle.id
                for plan_id in plans
                if (cycle := ledger_open_cycle(db, plan_id)) is not None
            }
            return cls(plans, open_cycles, deadlines, threads_of(db, subs), settings.database)

    def previous_cycle(self, plan_id: str, cycle_id: str) -> str:
        """The plan's cycle before this one, or ``""``."""
        return max((c for p, c in self.deadlines if p == plan_id and c < cycle_id), default="")

    def previous_values(
        self, plan_id: str, cycle_id: str, institution: str
    ) -> dict[str, dict[str, object]]:
        """Milestone → the institution's values in its standing file of the plan's previous
        cycle."""
        before = self.previous_cycle(plan_id, cycle_id)
        if not before:
            return {}
        if (plan_id, before) not in self._previous:
            with session(self.database) as db:
                self._previous[plan_id, before] = standing_values(db, plan_id, before)
        reported = self._previous[plan_id, before].get(institution, {})
        return {
            code: {key: getattr(value, key) for key in contract.VALUE_COLUMNS}
            for code, value in reported.items()
        }


def threads_of(db: Session, subs: list[Submission]) -> dict[str, tuple[str, str, str]]:
    """Message-ID of a received message → (plan, cycle, institution) of the Hitos email it
    answers, newest in its thread first: a liaison of two plans who replies to one plan's
    request is answering that plan."""
    references = {
        m.message_id: m.references.split()
        for m in db.scalars(
            select(InboundMessage).where(
                InboundMessage.message_id.in_({s.source_ref for s in subs})
            )
        )
    }
    ours = {
        e.message_id: (e.plan_id, e.cycle_id, e.institution)
        for e in db.scalars(
            select(Email).where(
                Email.message_id.in_({r for refs in references.values() for r in refs}),
                Email.plan_id.is_not(None),
                Email.cycle_id.is_not(None),
            )
        )
    }
    threads = {}
    for message_id, refs in references.items():
        answered = [ours[r] for r in reversed(refs) if r in ours]
        if answered:
            plan_id, cycle_id, institution = answered[0]
            threads[message_id] = (str(plan_id), str(cycle_id), institution or "")
    return threads


@dataclass
class Decision:
    """One submission's outcome before it is written: what ``record`` stores."""

    submission: Submission
    outcome: str
    institution: str | None
    cycle_id: str | None
    findings: list[Finding]
    read: ReadResult | None
    plan_id: str | None = None


Identified = tuple[str | None, str | None, str | None, list[Finding]]
"""Plan, institution and cycle of a file (None where not known), and the notes on how."""


def identify(
    settings: Settings, default: Plan, read: ReadResult, sub: Submission, lookups: Lookups
) -> Identified:
    """Plan, institution and cycle of a file: its signed ``_meta``, else the thread it answers,
    else its content, sender or name in the one plan with an open cycle they point to.

    A liaison of two plans whose file says nothing and answers no request is not guessed at:
    the file is quarantined rather than given to the wrong plan.
    """
    notes: list[Finding] = []
    meta = read.meta
    language = language_of(settings, default)
    if meta.get("signature"):
        if verify(meta, settings.signing_key.get_secret_value()) and meta.get("plan") in (
            lookups.plans
        ):
            return meta.get("plan"), meta.get("institution"), meta.get("cycle"), notes
        notes.append(finding("signature-invalid", "warning", language=language))
    if (answered := lookups.threads.get(sub.source_ref)) is not None:
        plan_id, cycle_id, institution = answered
        plan = lookups.plans.get(plan_id)
        found = plan and institution_in(plan, read, sub)
        return plan_id, found or institution or None, cycle_id, notes
    candidates = [
        (plan_id, found, cycle_id)
        for plan_id, cycle_id in lookups.open_cycles.items()
        if (found := institution_in(lookups.plans[plan_id], read, sub))
    ]
    if len(candidates) == 1:
        plan_id, found, cycle_id = candidates[0]
        return plan_id, found, cycle_id, notes
    if not candidates and default.id in lookups.open_cycles:
        return default.id, None, lookups.open_cycles[default.id], notes
    return None, None, None, notes


def institution_in(plan: Plan, read: ReadResult, sub: Submission) -> str | None:
    """The plan's institution a file names in its rows, else its sender's, else its name's."""
    codes = {i.code for i in plan.reporting_institutions()}
    named = {str(v).strip().upper() for v in read.rows.get("institucion", [])} & codes
    if len(named) == 1:
        return named.pop()
    by_sender = plan.institutions_writing_from(sub.sender)
    if len(by_sender) == 1:
        return by_sender[0]
    in_name = [c for c in codes if c.lower() in sub.filename.lower()]
    if len(in_name) == 1:
        return in_name[0]
    return None


VALUE_COLUMNS = {contract.CODE: "milestone", **{key: key for key in contract.VALUE_COLUMNS}}
"""Columns of an accepted file → fields of its ``MilestoneValue`` rows."""

RECORD_BATCH = 100
"""Outcomes written per transaction. A crash loses at most one batch's decisions, which the
re-run makes again (nothing was answered yet); one transaction per file was most of intake."""


def process(
    settings: Settings,
    plan: Plan,
    submission_ids: list[int] | None = None,
    with_docs: bool = False,
) -> list[Outcome]:
    """Read, identify and validate every submission still ``received`` that this run could
    claim, in one validation batch per plan; with ``with_docs``, the run also writes each
    cycle's Data Docs (``tasks.checks.data_docs``).

    ``plan`` is the settings' plan; a file may belong to any plan with a cycle in the ledger
    (``tasks.cycle.ledger_plans``): one mailbox serves them all.
    """
    with claims.hold(settings.database) as claim:
        claimed = claim_received(settings, claim, submission_ids)
        return validate_claimed(settings, plan, claim, claimed, with_docs)


def validate_claimed(
    settings: Settings,
    plan: Plan,
    claim: str,
    claimed: list[int],
    with_docs: bool = False,
) -> list[Outcome]:
    """Read, identify, validate and record the files this run claimed."""
    with session(settings.database) as db:
        query = select(Submission).where(Submission.id.in_(claimed))
        pending = list(db.scalars(query.order_by(Submission.id)))
        files = filestore.get_many(db, {sub.sha256 for sub in pending})
    lookups = Lookups.read(settings, plans_in_ledger(settings, plan), pending)
    decisions = [
        first_look_isolated(settings, plan, sub, files[sub.sha256], lookups) for sub in pending
    ]
    language = language_of(settings, plan)
    requests = RequestsSent(settings)
    for d in decisions:
        if d.read is not None and d.plan_id and d.institution and d.cycle_id:
            sub = d.submission
            if same := requests.unchanged(
                d.read, sub.sha256, d.plan_id, d.cycle_id, d.institution, language
            ):
                d.findings.append(same)
    results: dict[str, list[Finding] | None] = {}
    for plan_id, of_plan in lookups.plans.items():
        batch = [
            prepared_rows(settings, of_plan, d, lookups)
            for d in decisions
            if d.outcome == "validate" and d.plan_id == plan_id and d.read is not None
        ]
        if batch:
            in_language = language_of(settings, of_plan)
            sites = docs_sites(settings, in_language, plan_id) if with_docs else None
            results |= validate_isolated(batch, of_plan, in_language, sites)
    limit = Limits.of(settings).findings
    for d in decisions:
        if (key := str(d.submission.id)) in results and results[key] is None:
            d.outcome, d.read = "unreadable", None
            d.findings = [damaged(language, d.submission)]
            continue
        d.findings = bounded(d.findings + (results.get(key) or []), limit, language)
        if d.outcome == "validate":
            d.outcome = (
                "rejected"
                if has_errors(d.findings)
                else ("accepted_with_warnings" if d.findings else "accepted")
            )
    outcomes: list[Outcome] = []
    for start in range(0, len(decisions), RECORD_BATCH):
        batch_decisions = decisions[start : start + RECORD_BATCH]
        outcomes += record_isolated(settings, batch_decisions, claim, language)
    return outcomes


def record_isolated(
    settings: Settings, decisions: list[Decision], claim: str, language: str
) -> list[Outcome]:
    """``record`` a batch; should the ledger refuse it, each decision alone, and one it still
    refuses as unreadable (its findings dropped, the reason logged): never the whole batch."""
    try:
        return record(settings, decisions, claim)
    except Exception:
        logger.exception("recording %d outcomes together failed; one by one", len(decisions))
    outcomes: list[Outcome] = []
    for d in decisions:
        try:
            outcomes += record(settings, [d], claim)
        except Exception:
            logger.exception("recording submission %s failed", d.submission.id)
            d.outcome, d.read, d.findings = "unreadable", None, [damaged(language, d.submission)]
            outcomes += record(settings, [d], claim)
    return outcomes


def damaged(language: str, sub: Submission) -> Finding:
    """The finding of a file the reader or the suite failed on in a way nobody foresaw."""
    reason = UnreadableFile(DAMAGED).reason_in(language)
    return finding("file-unreadable", filename=sub.filename, reason=reason, language=language)


def first_look_isolated(
    settings: Settings, plan: Plan, sub: Submission, data: bytes, lookups: Lookups
) -> Decision:
    """``first_look``, with any failure nobody foresaw kept to this one file: it is recorded as
    unreadable (and logged for the operator) while the rest of the batch goes on."""
    try:
        return first_look(settings, plan, sub, data, lookups)
    except Exception:
        logger.exception("reading submission %s (%s) failed", sub.id, sub.filename)
        problem = damaged(language_of(settings, plan), sub)
        return Decision(
            sub, "unreadable", sub.institution, sub.cycle_id, [problem], None, sub.plan_id
        )


def docs_sites(settings: Settings, language: str, plan_id: str) -> Callable[[str], DocsSite]:
    """Each of the plan's cycles' Data Docs site (imported here: it loads Great Expectations'
    renderers)."""
    from tasks.checks import data_docs

    return partial(data_docs.site, settings, language=language, plan_id=plan_id)


def validate_isolated(
    batch: list[Prepared],
    plan: Plan,
    language: str,
    sites: Callable[[str], DocsSite] | None = None,
) -> dict[str, list[Finding] | None]:
    """Findings per submission from one suite run; should that run fail, each file alone, so one
    file that breaks the suite (``None``) does not leave the others unvalidated. ``sites`` gives
    each cycle's Data Docs site, which every run made writes."""
    try:
        return dict(validate(batch, plan, language, sites).findings)
    except Exception:
        logger.exception("validating %d submissions together failed; one by one", len(batch))
    results: dict[str, list[Finding] | None] = {}
    for prepared in batch:
        try:
            results.update(validate([prepared], plan, language, sites).findings)
        except Exception:
            logger.exception("validating submission %s failed", prepared.key)
            results[prepared.key] = None
    return results


def claim_received(settings: Settings, claim: str, submission_ids: list[int] | None) -> list[int]:
    """Take the ``received`` files nobody is validating, or whose validator died
    (``tasks.storage.claims``) or never finished within ``claim_timeout_minutes``; ids of those this
    run now holds.

    One UPDATE: on PostgreSQL a second run's UPDATE waits for the first's row locks and then no
    longer matches, so two validators never take the same file.
    """
    now = utcnow()
    stale = now - timedelta(minutes=settings.claim_timeout_minutes)
    with session(settings.database) as db:
        held = db.scalars(
            select(Submission.claim)
            .where(Submission.outcome == "received", Submission.claim != "")
            .distinct()
        )
        ended = claims.dead(db, held)
    query = (
        update(Submission)
        .where(
            Submission.outcome == "received",
            or_(
                Submission.claimed_at.is_(None),
                Submission.claimed_at < stale,
                Submission.claim.in_(ended),
            ),
        )
        .values(claim=claim, claimed_at=now)
        .returning(Submission.id)
        .execution_options(synchronize_session=False)
    )
    if submission_ids is not None:
        query = query.where(Submission.id.in_(submission_ids))
    with session(settings.database) as db:
        return sorted(db.scalars(query))


def first_look(
    settings: Settings, plan: Plan, sub: Submission, data: bytes, lookups: Lookups
) -> Decision:
    """Read and identify one stored file (``data``: its bytes from the file store): ``validate``
    when it can go on to the suite."""
    language = language_of(settings, plan)
    try:
        read = read_submission(
            data, sub.filename, settings.max_file_mb * 1024 * 1024, Limits.of(settings)
        )
    except UnreadableFile as exc:
        problem = finding(
            exc.rule,
            filename=sub.filename,
            reason=exc.reason_in(language),
            language=language,
            **exc.details,
        )
        return unreadable(plan, sub, problem, lookups)
    plan_id: str | None = sub.plan_id or plan.id
    institution: str | None = sub.institution
    cycle_id: str | None = sub.cycle_id
    notes: list[Finding] = []
    if not (institution and cycle_id):
        plan_id, institution, cycle_id, notes = identify(settings, plan, read, sub, lookups)
    if plan_id not in lookups.plans or institution is None or cycle_id is None:
        notes.append(finding("not-identified", filename=sub.filename, language=language))
        return Decision(sub, "quarantined", institution, cycle_id, notes, read, plan_id)
    plan = lookups.plans[plan_id]
    writes_for = plan.institutions_writing_from(sub.sender)
    if sub.sender and sub.channel != "cli" and institution not in writes_for:
        notes.append(
            finding(
                "sender-not-a-contact",
                "warning",
                sender=sub.sender,
                institution=institution,
                language=language,
            )
        )
    if read.findings:
        return Decision(
            sub, "rejected", institution, cycle_id, notes + read.findings, read, plan_id
        )
    return Decision(sub, "validate", institution, cycle_id, notes, read, plan_id)


def unreadable(plan: Plan, sub: Submission, problem: Finding, lookups: Lookups) -> Decision:
    """An unreadable file, given to the request its thread answers, else to the settings'
    plan's open cycle and the sender's institution (the reply still reaches the sender)."""
    answered = lookups.threads.get(sub.source_ref)
    if answered is not None:
        plan_id, cycle_id, institution = answered
        return Decision(sub, "unreadable", institution or None, cycle_id, [problem], None, plan_id)
    senders = plan.institutions_writing_from(sub.sender)
    sender = senders[0] if len(senders) == 1 else None
    cycle = lookups.open_cycles.get(plan.id)
    return Decision(sub, "unreadable", sender, cycle, [problem], None, plan.id)


def prepared_rows(settings: Settings, plan: Plan, d: Decision, lookups: Lookups) -> Prepared:
    """The file's rows with last cycle's accepted values beside them, ready for the suite."""
    assert d.read is not None and d.institution and d.cycle_id
    return prepare(
        d.read.rows,
        str(d.submission.id),
        plan,
        d.institution,
        lookups.deadlines.get((plan.id, d.cycle_id), date.today()),
        lookups.previous_values(plan.id, d.cycle_id, d.institution),
        lookups.previous_cycle(plan.id, d.cycle_id),
        language_of(settings, plan),
        d.cycle_id,
    )


def record(settings: Settings, decisions: list[Decision], claim: str) -> list[Outcome]:
    """Write outcomes, findings, versions and accepted values of a batch in one transaction.

    Plain bulk statements, not ORM objects per row: 20,000 values and findings at 1,000 files.
    A file's version counts the files of its institution and cycle up to it, itself included.
    Only files this run still holds are written (locked first): one that another run took over
    after ``claim_timeout_minutes`` is that run's to record.
    """
    if not decisions:
        return []
    now = utcnow()
    with session(settings.database) as db:
        held = set(
            db.scalars(
                select(Submission.id)
                .where(
                    Submission.id.in_([d.submission.id for d in decisions]),
                    Submission.claim == claim,
                    Submission.outcome == "received",
                )
                .with_for_update()
            )
        )
        decisions = [d for d in decisions if d.submission.id in held]
        if not decisions:
            return []
        db.execute(
            update(Submission),
            [
                {
                    "id": d.submission.id,
                    "institution": d.institution,
                    "plan_id": d.plan_id,
                    "cycle_id": d.cycle_id,
                    "outcome": d.outcome,
                    "processed_at": now,
                }
                for d in decisions
            ],
        )
        numbered = [d.submission.id for d in decisions if d.institution and d.cycle_id]
        if numbered:
            earlier = aliased(Submission)
            count = (
                select(func.count(earlier.id))
                .where(
                    earlier.plan_id == Submission.plan_id,
                    earlier.cycle_id == Submission.cycle_id,
                    earlier.institution == Submission.institution,
                    earlier.id <= Submission.id,
                )
                .scalar_subquery()
            )
            db.execute(
                update(Submission)
                .where(Submission.id.in_(numbered))
                .values(version=count)
                .execution_options(synchronize_session=False)
            )
        findings = [
            {
                "submission_id": d.submission.id,
                "milestone": f.milestone,
                "column": f.column,
                "row": f.row,
                "rule": f.rule,
                "severity": f.severity,
                "message": f.message,
            }
            for d in decisions
            for f in d.findings
        ]
        if findings:
            db.execute(insert(FindingRow), findings)
        values = [
            {
                "submission_id": d.submission.id,
                **dict(zip(VALUE_COLUMNS.values(), row, strict=True)),
            }
            for d in decisions
            if d.outcome in ACCEPTED and d.read is not None
            for row in zip(*(d.read.rows[column].tolist() for column in VALUE_COLUMNS), strict=True)
        ]
        if values:
            db.execute(insert(MilestoneValue), values)
    return [
        Outcome(
            d.submission.id,
            d.outcome,
            d.institution,
            d.cycle_id,
            d.submission.filename,
            d.submission.sender,
            d.findings,
            d.plan_id,
        )
        for d in decisions
    ]


def store_all(settings: Settings) -> list[int]:
    """Store every new message's files; a message is marked done only once they are stored."""
    stored: list[int] = []
    for batch in sources(settings, STORE_BATCH):
        stored += store(settings, batch)
        for received in batch:
            received.done()
    return stored


def as_outcome(sub: Submission) -> Outcome:
    return Outcome(
        sub.id,
        sub.outcome,
        sub.institution,
        sub.cycle_id,
        sub.filename,
        sub.sender,
        [f.as_finding() for f in sub.findings],
        sub.plan_id,
    )


def outcome_of(settings: Settings, sha256: str) -> Outcome:
    """The outcome of the file with this content (the first time it was received)."""
    with session(settings.database) as db:
        sub = db.scalars(select(Submission).where(Submission.sha256 == sha256)).first()
        assert sub is not None, "file was not stored"
        return as_outcome(sub)


def cycle_outcomes(
    settings: Settings, plan_id: str, cycle_id: str, institution: str | None = None
) -> list[Outcome]:
    """Every submission of a plan's cycle with its findings, for reviewers."""
    with session(settings.database) as db:
        query = select(Submission).where(of_cycle(Submission, plan_id, cycle_id))
        if institution:
            query = query.where(Submission.institution == institution)
        return [as_outcome(s) for s in db.scalars(query.order_by(Submission.id))]
