"""Alerts for the operator: a flow run that failed or crashed is told by email, in English
(operators read English, whatever the institutions read).

Scheduled runs happen when nobody watches the Prefect UI; the operator hears of a failed run
through the same mailer (and the same once-only ledger key) as every other Hitos email.
"""

from __future__ import annotations

from tasks.catalogues import text
from tasks.mail.outgoing import Outgoing, compose
from tasks.plans.plan import Plan
from tasks.settings import Settings

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
