"""An email that did not go out is never silent: status shows it and why, the operator is told of
a refusal once, ``retry`` sends it again exactly as it was, and a crashed run's email waits only
as long as the in-doubt setting says. On SQLite and PostgreSQL, against a real SMTP server."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import update

from tasks.core.states import EmailStatus
from tasks.cycle.status import cycle_status
from tasks.mail.outgoing import claim, retry, send_all
from tasks.operations.alerts import alert_refusals
from tasks.storage.ledger import Email, session, utcnow
from tests.test_ledger_backends import ledger, postgres_url  # noqa: F401 (fixtures)
from tests.test_mail import requests_for

SESAN = "gt-pan5/2023-03/SESAN/request/1"


def undelivered(settings, plan, code: str) -> list[dict[str, str]]:
    rows = cycle_status(settings, plan, "2023-03", date(2023, 3, 2))
    return next(r.undelivered for r in rows if r.institution == code)


def test_a_refused_email_shows_in_status_and_the_operator_is_told_once(ledger, plan, smtp):
    smtp.refused.add(plan.institution("SESAN").liaison.email)
    send_all(ledger, requests_for(ledger, plan))

    [email] = undelivered(ledger, plan, "SESAN")
    assert (email["key"], email["status"]) == (SESAN, "refused") and "550" in email["error"]
    assert undelivered(ledger, plan, "MINGOB") == []

    alert_refusals(ledger, plan)
    alert_refusals(ledger, plan)  # the next run: nothing new to tell
    operator = plan.coordinator.director.email
    [alert] = [m for m in smtp.to(operator) if "refused" in str(m["Subject"])]
    assert SESAN in alert.get_body(("plain",)).get_content()


def test_retry_sends_a_refused_email_again_exactly_as_it_was(ledger, plan, smtp):
    liaison = plan.institution("SESAN").liaison.email
    smtp.refused.add(liaison)
    send_all(ledger, requests_for(ledger, plan))
    assert send_all(ledger, requests_for(ledger, plan))[SESAN] == "skipped"  # never by itself
    assert smtp.to(liaison) == []

    smtp.refused.clear()  # the operator fixed the mailbox with the provider
    assert retry(ledger, [SESAN]) == {SESAN: "sent"}
    assert retry(ledger, [SESAN]) == {SESAN: "skipped"}  # once

    [received] = smtp.to(liaison)
    with session(ledger.database) as db:
        email = db.get(Email, SESAN)
        assert email is not None and received["Message-ID"] == email.message_id
    assert received.get_body(("plain",)) is not None
    assert any(part.get_filename() for part in received.iter_attachments())  # the workbook
    assert undelivered(ledger, plan, "SESAN") == []


def test_a_temporary_failure_is_sent_by_the_next_run(ledger, plan, smtp):
    smtp.temporary_failures = 100  # every attempt of this run answers 451
    first = send_all(ledger, requests_for(ledger, plan)[:1])
    [key] = first
    assert first[key] == EmailStatus.FAILED
    assert undelivered(ledger, plan, key.split("/")[2])[0]["status"] == "failed"

    smtp.temporary_failures = 0
    assert send_all(ledger, requests_for(ledger, plan)[:1]) == {key: "sent"}


@pytest.mark.parametrize("minutes, again", [(0, True), (15, False)])
def test_an_email_a_crashed_run_left_in_doubt_waits_the_setting_not_a_fixed_time(
    ledger, plan, smtp, minutes, again
):
    mail = requests_for(ledger, plan)[0]
    assert claim(ledger, mail)  # the run that claimed it died before recording
    with session(ledger.database) as db:
        claimed = utcnow() - timedelta(minutes=1)
        db.execute(update(Email).where(Email.key == mail.key).values(claimed_at=claimed))

    impatient = ledger.model_copy(update={"claim_timeout_minutes": minutes})
    assert claim(impatient, mail) is again
