"""What the liaison is told when a decision about their institution changes: an extension of its
deadline, an approval of its file after review (a return is ``tasks.people.review``'s email).
Each is emailed once, with the personal link, and shown on the page.

Owed notices are read from the ledger every time, each under its own key, so a rerun or a crash
sends nothing twice and loses nothing: an extension's key names its date (a later one is news
again), an approval's names the file. Only decisions of the last ``NEWS_DAYS`` are owed: an
older one nobody was told of is no longer news, and a ledger from before these notices existed
does not mail its liaisons every decision it ever recorded on the day it is upgraded.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tasks.catalogues import language_of
from tasks.core.cycles import cycle_label
from tasks.core.states import REPORTED, Review
from tasks.mail.outgoing import Outgoing, compose, plan_subject, send_all
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage import queries
from tasks.storage.ledger import Cycle, Decision, Submission, session, utcnow
from tasks.storage.links import personal_url

NEWS_DAYS = 14
"""How long a decision stays news: longer than any pause between two intake runs (the catch-up),
shorter than a cycle."""


def extension_key(cycle: Cycle, code: str, until: str) -> str:
    return f"{cycle_label(cycle.plan_id, cycle.id)}/{code}/extension/{until}"


def approval_key(sub: Submission) -> str:
    return f"{sub.plan_id}/{sub.cycle_id}/{sub.institution}/approved/{sub.id}"


def liaison_news(settings: Settings, plan: Plan) -> list[Outgoing]:
    """Every extension and approval notice still owed in the plan's reported cycles (``plan``
    with the contacts in force: the liaison today is told)."""
    since = utcnow() - timedelta(days=NEWS_DAYS)
    with session(settings.database) as db:
        settled = queries.settled_email_keys(db)
        cycles = {c.id: c for c in queries.cycles_of(db, plan.id, *REPORTED)}
        extended = [
            (cycles[cycle_id], code, extension)
            for cycle_id in cycles
            for code, extension in queries.extensions_of(db, plan.id, cycle_id).items()
            if extension.granted_at >= since
            and extension_key(cycles[cycle_id], code, extension.until.isoformat()) not in settled
        ]
        recently = (
            select(Decision.submission_id)
            .where(Decision.plan_id == plan.id, Decision.action == "approve")
            .where(Decision.at >= since)
        )
        approved = [
            sub
            for sub in db.scalars(
                select(Submission)
                .where(
                    Submission.plan_id == plan.id,
                    Submission.review == Review.APPROVED,
                    Submission.cycle_id.in_(list(cycles)),
                    Submission.id.in_(recently),
                )
                .order_by(Submission.id)
            )
            if approval_key(sub) not in settled
        ]
    known = {i.code for i in plan.reporting_institutions()}
    return [
        extension_email(settings, plan, cycle, code, e.until, e.reason)
        for cycle, code, e in extended
        if code in known
    ] + [
        approval_email(settings, plan, cycles[str(sub.cycle_id)], sub)
        for sub in approved
        if sub.institution in known
    ]


def extension_email(
    settings: Settings, plan: Plan, cycle: Cycle, code: str, until: object, reason: str
) -> Outgoing:
    """The liaison's notice of their institution's new deadline and why."""
    key = extension_key(cycle, code, str(until))
    return notice(settings, plan, cycle, code, "extension", key, until=until, reason=reason)


def approval_email(settings: Settings, plan: Plan, cycle: Cycle, sub: Submission) -> Outgoing:
    """The liaison's notice that the review approved their file."""
    code, key = str(sub.institution), approval_key(sub)
    return notice(
        settings, plan, cycle, code, "approved", key, filename=sub.filename, version=sub.version
    )


def notice(
    settings: Settings, plan: Plan, cycle: Cycle, code: str, kind: str, key: str, **news: Any
) -> Outgoing:
    """A notice to an institution's liaison (``templates/email/<kind>``): the subject of its
    kind, the plan, cycle and institution, their personal link, and the ``news`` it tells."""
    institution = plan.institution(code)
    language = language_of(settings, plan)
    return compose(
        kind,
        key=key,
        kind=kind,
        to=[institution.liaison.email],
        subject=plan_subject(plan, language, kind, cycle_id=cycle.id, institution=code),
        language=language,
        cycle_id=cycle.id,
        institution_code=code,
        plan=plan,
        institution=institution,
        cycle=cycle,
        link=personal_url(settings, plan.id, cycle.id, code, institution.liaison.email),
        **news,
    )


def tell_liaisons(settings: Settings, plan: Plan) -> dict[str, str]:
    """Send every notice still owed (after a decision, and at each intake as a catch-up)."""
    return send_all(settings, liaison_news(settings, plan))
