"""The questions every view asks of the ledger, each answered in one place.

Status, the console, reminders, emails, the report, the board and the open data ask these
named queries instead of writing their own SQL, so two views of the same fact cannot disagree.
The rules the answers follow (delivery, deadlines, the standing file) live in ``tasks.core``;
this module only reads the ledger for them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tasks.storage.ledger import (
    ACCEPTED,
    Decision,
    MilestoneValue,
    Report,
    SignInEvent,
    Submission,
    latest_accepted,
    of_cycle,
    previous_cycle,
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


def previous_cycle_file(db: Session, submission: Submission) -> Submission | None:
    """The file that spoke for the institution in the plan's cycle before this file's."""
    if submission.plan_id is None or submission.cycle_id is None or not submission.institution:
        return None
    before = previous_cycle(db, submission.plan_id, submission.cycle_id)
    if before is None:
        return None
    return latest_accepted(db, submission.plan_id, before.id, submission.institution)


def recent_sign_ins(db: Session, limit: int) -> list[SignInEvent]:
    """The newest ``limit`` rows of the sign-in audit log."""
    return list(db.scalars(select(SignInEvent).order_by(SignInEvent.id.desc()).limit(limit)))
