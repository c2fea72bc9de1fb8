"""Read, identify and validate the stored files still ``received``, in batches, each failure
kept to its own file; then ``tasks.intake.record`` writes what was concluded.

Two steps with the ledger in between, so a crash at any point loses nothing and a re-run
repeats nothing: ``tasks.intake.store`` writes bytes and rows before a message is marked done;
``process`` handles only submissions still ``received`` that it could claim.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial

from sqlalchemy import or_, select, update

from tasks.catalogues import language_of
from tasks.checks.validation import DocsSite, Prepared, prepare, validate
from tasks.core.findings import Finding, finding, has_errors
from tasks.core.states import Outcome
from tasks.cycle.ledger_plans import plans_in_ledger
from tasks.intake.arrivals import MAIL_CHANNELS
from tasks.intake.identify import identify
from tasks.intake.lookups import Lookups
from tasks.intake.record import record_all
from tasks.intake.results import IntakeResult
from tasks.intake.senders import HELD
from tasks.intake.verdict import Verdict, damaged
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage import claims, filestore
from tasks.storage.ledger import Submission, session, utcnow
from tasks.workbooks.limits import Limits, bounded
from tasks.workbooks.reading import UnreadableFile, read_submission
from tasks.workbooks.untouched import RequestsSent

logger = logging.getLogger(__name__)


def process(
    settings: Settings,
    plan: Plan,
    submission_ids: list[int] | None = None,
    with_docs: bool = False,
) -> list[IntakeResult]:
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
) -> list[IntakeResult]:
    """Read, identify, validate and record the files this run claimed."""
    with session(settings.database) as db:
        query = select(Submission).where(Submission.id.in_(claimed))
        pending = list(db.scalars(query.order_by(Submission.id)))
        files = filestore.get_many(db, {sub.sha256 for sub in pending})
    lookups = Lookups.read(settings, plans_in_ledger(settings, plan), pending)
    verdicts = [
        first_look_isolated(settings, plan, sub, files[sub.sha256], lookups) for sub in pending
    ]
    language = language_of(settings, plan)
    requests = RequestsSent(settings)
    for v in verdicts:
        if v.read is not None and v.plan_id and v.institution and v.cycle_id:
            sub = v.submission
            if same := requests.unchanged(
                v.read, sub.sha256, v.plan_id, v.cycle_id, v.institution, language
            ):
                v.findings.append(same)
    results: dict[str, list[Finding] | None] = {}
    for plan_id, of_plan in lookups.plans.items():
        batch = [
            prepared_rows(settings, of_plan, v, lookups)
            for v in verdicts
            if v.outcome == "validate" and v.plan_id == plan_id and v.read is not None
        ]
        if batch:
            in_language = language_of(settings, of_plan)
            sites = docs_sites(settings, in_language, plan_id) if with_docs else None
            results |= validate_isolated(batch, of_plan, in_language, sites)
    limit = Limits.of(settings).findings
    for v in verdicts:
        if (key := str(v.submission.id)) in results and results[key] is None:
            v.outcome, v.read = Outcome.UNREADABLE, None
            v.findings = [damaged(language, v.submission)]
            continue
        v.findings = bounded(v.findings + (results.get(key) or []), limit, language)
        if v.outcome == "validate":
            v.outcome = (
                Outcome.REJECTED
                if has_errors(v.findings)
                else (Outcome.ACCEPTED_WITH_WARNINGS if v.findings else Outcome.ACCEPTED)
            )
    return record_all(settings, verdicts, claim, language)


def first_look_isolated(
    settings: Settings, plan: Plan, sub: Submission, data: bytes, lookups: Lookups
) -> Verdict:
    """``first_look``, with any failure nobody foresaw kept to this one file: it is recorded as
    unreadable (and logged for the operator) while the rest of the batch goes on."""
    try:
        return first_look(settings, plan, sub, data, lookups)
    except Exception:
        logger.exception("reading submission %s (%s) failed", sub.id, sub.filename)
        problem = damaged(language_of(settings, plan), sub)
        return Verdict(
            sub, Outcome.UNREADABLE, sub.institution, sub.cycle_id, [problem], None, sub.plan_id
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
            .where(Submission.outcome == Outcome.RECEIVED, Submission.claim != "")
            .distinct()
        )
        ended = claims.dead(db, held)
    query = (
        update(Submission)
        .where(
            Submission.outcome == Outcome.RECEIVED,
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
) -> Verdict:
    """Read and identify one stored file (``data``: its bytes from the file store): ``validate``
    when it can go on to the suite.

    A file emailed by an address that may not send for its institution
    (``tasks.intake.senders``) is quarantined, unless an operator already said whose it is.
    """
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
        return Verdict(sub, Outcome.QUARANTINED, institution, cycle_id, notes, read, plan_id)
    plan = lookups.plans[plan_id]
    if sub.channel in MAIL_CHANNELS and institution not in plan.institutions_writing_from(
        sub.sender
    ):
        if sub.id not in lookups.assigned and not lookups.senders.may_send(
            sub.sender, sub.source_ref, institution
        ):
            held = finding(HELD, sender=sub.sender, institution=institution, language=language)
            notes.append(held)
            return Verdict(sub, Outcome.QUARANTINED, institution, cycle_id, notes, read, plan_id)
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
        notes += read.findings
        return Verdict(sub, Outcome.REJECTED, institution, cycle_id, notes, read, plan_id)
    return Verdict(sub, "validate", institution, cycle_id, notes, read, plan_id)


def unreadable(plan: Plan, sub: Submission, problem: Finding, lookups: Lookups) -> Verdict:
    """An unreadable file, given to the request its thread answers, else to the settings'
    plan's open cycle and the sender's institution (the reply still reaches the sender)."""
    answered = lookups.threads.get(sub.source_ref)
    if answered is not None:
        plan_id, cycle_id, code = answered
        return Verdict(sub, Outcome.UNREADABLE, code or None, cycle_id, [problem], None, plan_id)
    senders = plan.institutions_writing_from(sub.sender)
    sender = senders[0] if len(senders) == 1 else None
    cycle = lookups.open_cycles.get(plan.id)
    return Verdict(sub, Outcome.UNREADABLE, sender, cycle, [problem], None, plan.id)


def prepared_rows(settings: Settings, plan: Plan, v: Verdict, lookups: Lookups) -> Prepared:
    """The file's rows with last cycle's accepted values beside them, ready for the suite."""
    assert v.read is not None and v.institution and v.cycle_id
    return prepare(
        v.read.rows,
        str(v.submission.id),
        plan,
        v.institution,
        lookups.deadlines.get((plan.id, v.cycle_id), date.today()),
        lookups.previous_values(plan.id, v.cycle_id, v.institution),
        lookups.previous_cycle(plan.id, v.cycle_id),
        language_of(settings, plan),
        v.cycle_id,
    )
