"""Replies to senders: what each processed file's sender is owed, built from the ledger.

A reply is owed until the mail ledger says it was sent (or refused for good), so a crash between
recording an outcome and answering it, or a failed send, leaves the reply owed, never lost and
never sent twice (``tasks.mail.outgoing`` claims each key before sending).
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select

from tasks.catalogues import language_of, text
from tasks.cycle.intake import Outcome, as_outcome
from tasks.mail.arrivals import evidence_of, thread
from tasks.mail.outgoing import Outgoing, compose, plan_subject
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.ledger import Email, Submission, of_plan, session
from tasks.storage.queries import cycle_of
from tasks.workbooks.marking import mark_findings, marked_name

logger = logging.getLogger(__name__)


def reply_key(submission: Submission) -> str:
    plan, cycle = submission.plan_id or "-", submission.cycle_id or "-"
    return f"{plan}/{cycle}/{submission.institution or '-'}/reply/{submission.id}"


def unanswered(settings: Settings, plan: Plan) -> list[Outgoing]:
    """Replies owed for the plan's files: every processed emailed file whose reply was never
    sent (crash-safe); files of no known plan are answered as the settings' plan's.

    A reply that failed or was left half-sent is owed too; the mail ledger's claim decides
    whether it may go now.
    """
    with session(settings.database) as db:
        answered = set(
            db.scalars(
                select(Email.key).where(
                    Email.kind == "reply", Email.status.in_(("sent", "refused"))
                )
            )
        )
        subs = db.scalars(
            select(Submission)
            .where(
                Submission.outcome != "received",
                Submission.channel.in_(("mail", "imap")),
                of_plan(Submission, plan.id, settings.plan_id),
            )
            .order_by(Submission.id)
        ).all()
        owed = [as_outcome(s) for s in subs if reply_key(s) not in answered]
    return [mail for o in owed if (mail := reply_isolated(settings, plan, o))]


def reply_isolated(settings: Settings, plan: Plan, outcome: Outcome) -> Outgoing | None:
    """``reply_email``; should marking the sender's workbook fail, the reply goes without it, so
    one file never holds back the replies to the others."""
    try:
        return reply_email(settings, plan, outcome)
    except Exception:
        logger.exception("marking submission %s failed; replying without it", outcome.submission_id)
        return reply_email(settings, plan, outcome, mark=False)


def reply_email(
    settings: Settings, plan: Plan, outcome: Outcome, mark: bool = True
) -> Outgoing | None:
    """The answer to the sender: accepted (with warnings), or what to fix, with the marked file."""
    if not outcome.sender:
        return None
    with session(settings.database) as db:
        sub = db.get(Submission, outcome.submission_id)
        assert sub is not None
        cycle = cycle_of(db, plan.id, outcome.cycle) if outcome.cycle else None
        data, version = filestore.get(db, sub.sha256), sub.version
        evidence = [e.filename for e in evidence_of(db, [sub.id]).get(sub.id, [])]
        threading = thread(db, sub.source_ref)
    language = language_of(settings, plan)
    attachments: list[Path] = []
    if outcome.outcome == "rejected" and mark:
        marked = mark_findings(data, outcome.filename, outcome.findings, language)
        if marked is not None:
            # Rebuilt from the stored file whenever the reply is rendered: a local copy only.
            name = marked_name(outcome.submission_id, outcome.filename, language)
            folder = outcome.cycle or "sin-ciclo"
            attachments.append(
                filestore.local_copy(settings, marked, "replies", plan.id, folder, name)
            )
    name = (
        f"{outcome.institution} ({plan.institution(outcome.institution).name})"
        if outcome.institution
        else ""
    )
    label = text(language, f"outcome.{outcome.outcome}")
    return compose(
        "reply",
        key=reply_key(sub),
        kind="reply",
        to=[outcome.sender],
        subject=plan_subject(
            plan,
            language,
            "reply",
            label=label,
            cycle_id=outcome.cycle or "",
            institution=outcome.institution or "",
        ),
        language=language,
        attachments=attachments,
        cycle_id=outcome.cycle,
        institution_code=outcome.institution,
        auto_submitted="auto-replied",
        in_reply_to=threading[0],
        references=threading[1],
        plan=plan,
        outcome=outcome.outcome,
        filename=outcome.filename,
        institution_name=name,
        period=outcome.cycle or "",
        version=version,
        findings=outcome.findings,
        marked=bool(attachments),
        deadline=cycle.deadline if cycle else None,
        evidence=evidence,
    )
