"""The liaison's notice of a file that arrived for their institution from another address.

A stranger's file is quarantined and the stranger gets nothing (``tasks.intake.senders``); the
institution's liaison is told once per address that wrote, listing that address's files still
held, and what to do: send the file themselves if it is theirs (intake then takes it), have the
address registered as a contact if it should be one, or nothing if they do not recognise it.
Nothing of the stranger's is attached.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from tasks.catalogues import language_of, text
from tasks.core.states import Outcome
from tasks.intake.replies import liaison_of
from tasks.intake.senders import HELD
from tasks.mail.outgoing import Outgoing, compose
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import Cycle, FindingRow, Submission, session
from tasks.storage.queries import settled_email_keys

KIND = "stranger-notice"


def notice_key(plan_id: str, cycle_id: str, institution: str, sender: str) -> str:
    """One notice per institution, cycle and address that wrote, whatever it sends after."""
    digest = hashlib.sha256(sender.lower().encode()).hexdigest()[:16]
    return f"{plan_id}/{cycle_id}/{institution}/stranger/{digest}"


def stranger_notices(settings: Settings, plan: Plan) -> list[Outgoing]:
    """One email to each institution's liaison per address whose files for them are held and
    who was not yet told of (crash-safe: built from the ledger, each key sent once)."""
    with session(settings.database) as db:
        told = settled_email_keys(db, KIND)
        held = db.scalars(
            select(Submission)
            .where(
                Submission.plan_id == plan.id,
                Submission.outcome == Outcome.QUARANTINED,
                Submission.institution.is_not(None),
                Submission.cycle_id.is_not(None),
                Submission.id.in_(select(FindingRow.submission_id).where(FindingRow.rule == HELD)),
            )
            .order_by(Submission.id)
        ).all()
        groups: dict[str, list[Submission]] = {}
        for sub in held:
            key = notice_key(plan.id, str(sub.cycle_id), str(sub.institution), sub.sender)
            if key not in told:
                groups.setdefault(key, []).append(sub)
        cycles = {c.id: c for c in db.scalars(select(Cycle).where(Cycle.plan_id == plan.id))}
        language = language_of(settings, plan)
        mails = []
        for key, subs in groups.items():
            first = subs[0]
            code, cycle = str(first.institution), cycles.get(str(first.cycle_id))
            to = liaison_of(plan, code)
            if not to or cycle is None:
                continue
            mails.append(
                compose(
                    "stranger_notice",
                    key=key,
                    kind=KIND,
                    to=[to],
                    subject=text(
                        language,
                        "intake_mail.stranger_subject",
                        plan_name=plan.short_name,
                        cycle_id=cycle.id,
                        institution=code,
                    ),
                    language=language,
                    cycle_id=cycle.id,
                    institution_code=code,
                    plan=plan,
                    institution=plan.institution(code),
                    cycle=cycle,
                    sender=first.sender,
                    files=[(s.filename, s.received_at) for s in subs],
                    reply_to=settings.sender,
                )
            )
    return mails
