"""hitos.intake: store what arrived, validate it, answer each sender, tell the director what
changed (every institution delivered; a published report out of date)."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_table_artifact

from flows import ALERTS, settings_on, step
from tasks.cycle.ledger_plans import plans_in_ledger
from tasks.cycle.notices import delivery_notices
from tasks.evidence.checking import check_new_links
from tasks.intake.malformed import unanswered_messages
from tasks.intake.process import process
from tasks.intake.replies import missing_workbook_replies, unanswered
from tasks.intake.results import IntakeResult
from tasks.intake.store import store_all
from tasks.intake.strangers import stranger_notices
from tasks.mail.automatic import bounce_notices
from tasks.mail.outgoing import send_all
from tasks.operations.alerts import alert_refusals
from tasks.people.contacts import current_plan
from tasks.people.review import unsent_returns
from tasks.portal.notices import liaison_news
from tasks.publication.approval import check_publications

store_received = step(store_all, "store-received")
find_plans = step(plans_in_ledger, "find-plans")
validate_pending = step(process, "validate-pending")
render_replies = step(unanswered, "render-replies")
render_stranger_notices = step(stranger_notices, "render-stranger-notices")
render_bounce_notices = step(bounce_notices, "render-bounce-notices")
render_missing_workbook = step(missing_workbook_replies, "render-missing-workbook")
render_malformed = step(unanswered_messages, "render-malformed-replies")
send_emails = step(send_all, "send-emails", retries=2)
render_notices = step(delivery_notices, "render-notices")
render_returns = step(unsent_returns, "render-unsent-returns")
render_liaison_news = step(liaison_news, "render-liaison-news")
check_published = step(check_publications, "check-publications")
alert_refused = step(alert_refusals, "alert-refused")


@flow(name="hitos.intake", log_prints=True, **ALERTS)
def intake(plan: str = "") -> list[IntakeResult]:
    """Read the inbox and the drop folder, validate what came, reply with the outcome.

    One mailbox serves every plan of the ledger: each file goes to the plan its workbook or
    thread names; ``plan`` (empty: ``HITOS_PLAN``'s) answers mail that names none.
    """
    settings = settings_on(plan)
    the_plan = current_plan(settings)  # the contacts in force today
    store_received(settings)
    outcomes = validate_pending(settings, the_plan, with_docs=True)  # each file's Data Docs kept
    step(check_new_links, "check-evidence-links")(settings, the_plan)  # warnings reach the replies
    every_plan = find_plans(settings, the_plan).values()
    send_emails(
        settings,
        render_missing_workbook(settings, the_plan)
        + render_malformed(settings, the_plan)
        + [
            mail
            for each in every_plan
            for mail in render_replies(settings, each)
            + render_stranger_notices(settings, each)
            + render_returns(settings, each)
            + render_liaison_news(settings, each)
            + render_bounce_notices(settings, each)
            + render_notices(settings, each)
        ],
    )
    for each in every_plan:
        check_published(settings, each)
        alert_refused(settings, each)
    create_table_artifact(
        key="hitos-intake",
        table=[outcome.summary() for outcome in outcomes] or [{"resultado": "sin archivos nuevos"}],
        description="Submissions validated in this intake run",
    )
    return outcomes


if __name__ == "__main__":
    intake()
