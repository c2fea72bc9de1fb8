"""Write what intake concluded: outcomes, findings, versions and accepted values, in batches."""

from __future__ import annotations

import logging

from sqlalchemy import and_, func, insert, or_, select, tuple_, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import ColumnElement

from tasks.core import contract
from tasks.core.states import ACCEPTED, Outcome
from tasks.intake.results import IntakeResult
from tasks.intake.verdict import Verdict, damaged
from tasks.settings import Settings
from tasks.storage.ledger import FindingRow, MilestoneValue, Submission, session, utcnow

logger = logging.getLogger(__name__)

VALUE_COLUMNS = {contract.CODE: "milestone", **{key: key for key in contract.VALUE_COLUMNS}}
"""Columns of an accepted file → fields of its ``MilestoneValue`` rows."""

RECORD_BATCH = 100
"""Outcomes written per transaction. A crash loses at most one batch's decisions, which the
re-run makes again (nothing was answered yet); one transaction per file was most of intake."""


def record_all(
    settings: Settings, verdicts: list[Verdict], claim: str, language: str
) -> list[IntakeResult]:
    """``record`` every verdict, ``RECORD_BATCH`` to a transaction."""
    results: list[IntakeResult] = []
    for start in range(0, len(verdicts), RECORD_BATCH):
        results += record_isolated(
            settings, verdicts[start : start + RECORD_BATCH], claim, language
        )
    return results


def record_isolated(
    settings: Settings, verdicts: list[Verdict], claim: str, language: str
) -> list[IntakeResult]:
    """``record`` a batch; should the ledger refuse it, each verdict alone, and one it still
    refuses as unreadable (its findings dropped, the reason logged): never the whole batch."""
    try:
        return record(settings, verdicts, claim)
    except Exception:
        logger.exception("recording %d outcomes together failed; one by one", len(verdicts))
    results: list[IntakeResult] = []
    for v in verdicts:
        try:
            results += record(settings, [v], claim)
        except Exception:
            logger.exception("recording submission %s failed", v.submission.id)
            v.outcome, v.read = Outcome.UNREADABLE, None
            v.findings = [damaged(language, v.submission)]
            results += record(settings, [v], claim)
    return results


def record(settings: Settings, verdicts: list[Verdict], claim: str) -> list[IntakeResult]:
    """Write outcomes, findings, versions and accepted values of a batch in one transaction.

    Plain bulk statements, not ORM objects per row: 20,000 values and findings at 1,000 files.
    Only files this run still holds are written (locked first): one that another run took over
    after ``claim_timeout_minutes`` is that run's to record.
    """
    if not verdicts:
        return []
    now = utcnow()
    with session(settings.database) as db:
        held = set(
            db.scalars(
                select(Submission.id)
                .where(
                    Submission.id.in_([v.submission.id for v in verdicts]),
                    Submission.claim == claim,
                    Submission.outcome == Outcome.RECEIVED,
                )
                .with_for_update()
            )
        )
        verdicts = [v for v in verdicts if v.submission.id in held]
        if not verdicts:
            return []
        db.execute(
            update(Submission),
            [
                {
                    "id": v.submission.id,
                    "institution": v.institution,
                    "plan_id": v.plan_id,
                    "cycle_id": v.cycle_id,
                    "outcome": v.outcome,
                    "processed_at": now,
                }
                for v in verdicts
            ],
        )
        number(db, verdicts)
        findings = [
            {
                "submission_id": v.submission.id,
                "milestone": f.milestone,
                "column": f.column,
                "row": f.row,
                "rule": f.rule,
                "severity": f.severity,
                "message": f.message,
            }
            for v in verdicts
            for f in v.findings
        ]
        if findings:
            db.execute(insert(FindingRow), findings)
        values = [
            {
                "submission_id": v.submission.id,
                **dict(zip(VALUE_COLUMNS.values(), row, strict=True)),
            }
            for v in verdicts
            if v.outcome in ACCEPTED and v.read is not None
            for row in zip(*(v.read.rows[column].tolist() for column in VALUE_COLUMNS), strict=True)
        ]
        if values:
            db.execute(insert(MilestoneValue), values)
    return [
        IntakeResult(
            v.submission.id,
            v.outcome,
            v.institution,
            v.cycle_id,
            v.submission.filename,
            v.submission.sender,
            v.findings,
            v.plan_id,
        )
        for v in verdicts
    ]


def number(db: Session, verdicts: list[Verdict]) -> None:
    """Each file's version: its place in arrival order (by id) among its institution's files of
    the cycle, itself included.

    A file that joins its institution's files after a newer one was numbered (an operator's
    assignment, a quarantined file sent again) numbers the files after it again, so versions
    stay one sequence in arrival order: the newest file is always the highest version.
    """
    batch = {v.submission.id: (v.plan_id, v.cycle_id, v.institution) for v in verdicts}
    batch = {i: group for i, group in batch.items() if group[1] and group[2]}
    if not batch:
        return
    group_of = tuple_(Submission.plan_id, Submission.cycle_id, Submission.institution)
    first: dict[tuple[str | None, str | None, str | None], int] = {}
    for submission_id, group in batch.items():
        first[group] = min(first.get(group, submission_id), submission_id)
    newest = db.execute(
        select(
            Submission.plan_id, Submission.cycle_id, Submission.institution, func.max(Submission.id)
        )
        .where(group_of.in_(list(first)), Submission.version > 0, Submission.id.not_in(list(batch)))
        .group_by(Submission.plan_id, Submission.cycle_id, Submission.institution)
    )
    late = [(p, c, i) for p, c, i, last in newest if last > first[p, c, i]]
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
    renumbered: list[ColumnElement[bool]] = [Submission.id.in_(list(batch))]
    if late:
        renumbered.append(and_(group_of.in_(late), Submission.version > 0))
    db.execute(
        update(Submission)
        .where(or_(*renumbered))
        .values(version=count)
        .execution_options(synchronize_session=False)
    )
