"""An operator says whose a file is: a quarantined file (a stranger's, or one intake could not
identify) given to an institution and cycle, or a new file submitted for one.

The assignment is applied to the stored file, whatever the file store already knew: it is set
back to ``received`` under the operator's plan, institution and cycle, processed once, and
answered once (``tasks.intake.replies``). The audit trail records who, when, what and why.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, select, update

from tasks.checks.boundaries import UserMistake, institution_code, known_cycle
from tasks.core.states import Outcome
from tasks.intake.lookups import ASSIGN
from tasks.intake.process import process
from tasks.intake.results import IntakeResult, as_outcome
from tasks.intake.store import store
from tasks.mail.inbox import Attachment, Received
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import (
    Decision,
    FindingRow,
    MilestoneValue,
    Submission,
    cycle_label,
    session,
)


def assign(
    settings: Settings,
    plan: Plan,
    submission_id: int,
    institution: str,
    cycle: str,
    actor: str,
    why: str = "",
) -> IntakeResult:
    """Give a stored file to the plan's institution and cycle, then process it; its result.

    Only a quarantined file, or one without an institution or cycle, is assigned; a file already
    given to this institution and cycle is left as it is (a second run of the same command
    changes nothing), and one given to another is refused with one sentence.
    """
    code = institution_code(plan, institution)
    cycle_id = known_cycle(settings, cycle)
    with session(settings.database) as db:
        sub = db.get(Submission, submission_id)
        if sub is None:
            raise UserMistake(f"submission {submission_id} does not exist")
        if not assignable(sub):
            if (sub.plan_id, sub.cycle_id, sub.institution) != (plan.id, cycle_id, code):
                given = f"{sub.institution} in {cycle_label(str(sub.plan_id), str(sub.cycle_id))}"
                raise UserMistake(
                    f"submission {submission_id} ({sub.filename}) was taken in as {given} "
                    f"({sub.outcome}): only a quarantined or unidentified file is assigned"
                )
        # Compare-and-set on what was read: of two operators assigning at once, one does; a
        # validator that held the file no longer does, and leaves it to this one.
        elif db.scalar(
            update(Submission)
            .where(
                Submission.id == sub.id,
                Submission.outcome == sub.outcome,
                Submission.claim == sub.claim,
                Submission.processed_at == sub.processed_at,
            )
            .values(
                plan_id=plan.id,
                cycle_id=cycle_id,
                institution=code,
                outcome=Outcome.RECEIVED,
                version=0,
                claim="",
                claimed_at=None,
                processed_at=None,
            )
            .returning(Submission.id)
            .execution_options(synchronize_session=False)
        ):
            db.execute(delete(FindingRow).where(FindingRow.submission_id == sub.id))
            db.execute(delete(MilestoneValue).where(MilestoneValue.submission_id == sub.id))
            db.add(decision(plan, sub.id, code, cycle_id, actor, why))
    process(settings, plan, [submission_id], with_docs=True)
    return result(settings, submission_id)


def assignable(sub: Submission) -> bool:
    """A file intake could not tie to an institution and cycle, or would not take from its
    sender: an operator may say whose it is."""
    return sub.outcome == Outcome.QUARANTINED or not (sub.institution and sub.cycle_id)


def decision(
    plan: Plan, submission_id: int, institution: str, cycle_id: str, actor: str, why: str
) -> Decision:
    """The audit trail's row for an operator's assignment."""
    return Decision(
        actor=actor,
        action=ASSIGN,
        plan_id=plan.id,
        cycle_id=cycle_id,
        institution=institution,
        submission_id=submission_id,
        note=why.strip(),
    )


def submit_file(
    settings: Settings,
    plan: Plan,
    filename: str,
    data: bytes,
    institution: str = "",
    cycle: str = "",
    actor: str = "",
    why: str = "",
) -> IntakeResult:
    """What ``hitos submit`` does: intake of one file an operator holds.

    With an institution and a cycle, the operator says whose the file is: a new file is stored
    as theirs, a stored file that was quarantined or unidentified is assigned to them (the file
    store knowing its bytes no longer hides the assignment), and either is recorded in the audit
    trail. Without them, a new file goes through intake like any other, and a known file's
    stored result is shown.
    """
    code = institution_code(plan, institution) if institution else ""
    cycle_id = known_cycle(settings, cycle) if cycle else ""
    digest = hashlib.sha256(data).hexdigest()
    with session(settings.database) as db:
        known = db.scalar(select(Submission.id).where(Submission.sha256 == digest))
    if known is not None and code and cycle_id:
        return assign(settings, plan, known, code, cycle_id, actor, why)
    if known is None:
        received = Received(
            message_id="cli:" + digest,
            channel="cli",
            sender="",
            attachments=[Attachment(filename, data)],
        )
        given = bool(code and cycle_id)
        stored = store(
            settings,
            [received],
            institution=code or None,
            cycle_id=cycle_id or None,
            plan_id=plan.id if given else None,
        )
        if given and stored:
            with session(settings.database) as db:
                db.add(decision(plan, stored[0], code, cycle_id, actor, why))
    process(settings, plan, with_docs=True)
    with session(settings.database) as db:
        sub = db.scalars(select(Submission).where(Submission.sha256 == digest)).one()
        return as_outcome(sub)


def result(settings: Settings, submission_id: int) -> IntakeResult:
    """The stored result of one submission."""
    with session(settings.database) as db:
        sub = db.get(Submission, submission_id)
        assert sub is not None
        return as_outcome(sub)
