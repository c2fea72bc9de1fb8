"""Alerts for the operator, by email, in English (operators read English, whatever the
institutions read): a flow run that failed or crashed, and emails the mail server refused.

Scheduled runs happen when nobody watches the Prefect UI; the operator hears of a failed run
through the same mailer (and the same once-only ledger key) as every other Hitos email.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import or_, select, update

from tasks.catalogues import text
from tasks.core.states import EmailStatus
from tasks.mail.outgoing import Outgoing, compose, send_all
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import Email, session, utcnow

OPERATORS = "en"


def operator(settings: Settings, plan: Plan) -> str:
    """Who hears of failed runs: the setting, else the plan's director."""
    return settings.operator_email or plan.coordinator.director.email


def run_failed_email(
    settings: Settings,
    plan: Plan,
    *,
    flow: str,
    run_id: str,
    run_name: str,
    state: str,
    message: str,
    parameters: dict[str, object],
    url: str,
) -> Outgoing:
    """The operator's notice of one failed or crashed flow run, once per run."""
    return compose(
        "run_failed",
        key=f"-/-/run-failed/{run_id}",
        kind="alert",
        to=[operator(settings, plan)],
        subject=text(OPERATORS, "subject.run_failed", flow=flow, state=state, run_name=run_name),
        language=OPERATORS,
        flow=flow,
        run_id=run_id,
        run_name=run_name,
        state=state,
        message=message,
        parameters=parameters,
        url=url,
        plan=plan,
    )


def refused_emails_email(settings: Settings, plan: Plan, emails: list[Email]) -> Outgoing:
    """The operator's notice of emails the mail server refused for good, once per batch."""
    digest = hashlib.sha256("\n".join(sorted(e.key for e in emails)).encode()).hexdigest()[:16]
    return compose(
        "emails_refused",
        key=f"{plan.id}/-/-/emails-refused/{digest}",
        kind="alert",
        to=[operator(settings, plan)],
        subject=text(OPERATORS, "subject.emails_refused", count=len(emails)),
        language=OPERATORS,
        emails=emails,
        plan=plan,
    )


def alert_refusals(settings: Settings, plan: Plan) -> dict[str, str]:
    """Tell the operator of every email of the plan refused since the last alert (a refused
    email is never sent again by the step that owed it, so somebody must know); the refused
    emails are marked told once the alert went out."""
    with session(settings.database) as db:
        refused = list(
            db.scalars(
                select(Email)
                .where(
                    Email.status == EmailStatus.REFUSED,
                    Email.alerted_at.is_(None),
                    Email.kind != "alert",
                    or_(Email.plan_id == plan.id, Email.plan_id.is_(None)),
                )
                .order_by(Email.key)
            )
        )
    if not refused:
        return {}
    alert = refused_emails_email(settings, plan, refused)
    sent = send_all(settings, [alert])
    if sent.get(alert.key) in (EmailStatus.SENT, "skipped"):
        with session(settings.database) as db:
            db.execute(
                update(Email)
                .where(Email.key.in_([e.key for e in refused]))
                .values(alerted_at=utcnow())
            )
    return sent
