"""Contacts that change between cycles: history in the ledger, a bounced request sent again.

End to end on a real SMTP server (aiosmtpd): the request bounces (Postfix DSN delivered to the
inbox), the operator corrects the liaison with ``hitos contacts set`` and runs ``hitos resend``;
the new address gets the request, reminders follow it there, nobody else gets anything twice.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from typer.testing import CliRunner

from hitos_cli import app
from tasks.cycle.reminders import reminder_email
from tasks.cycle.requests import open_cycle_record
from tasks.cycle.resend import resend_request
from tasks.mail.outgoing import send_all
from tasks.people.contacts import set_contacts, today_in, with_current_contacts
from tasks.plans.plan import Contact
from tasks.storage.ledger import Email, session
from tests import mail_samples as samples
from tests.test_automatic_mail import (
    MARN,
    as_received,
    deliver,
    intake_once,
    open_and_send,
    status_of,
)
from tests.test_ledger_backends import postgres_url  # noqa: F401  (a fixture)

NEW = "nueva.enlace@marn.example"


@pytest.fixture
def cli(settings, monkeypatch):
    """``hitos`` on the test's workspace and SMTP server."""
    monkeypatch.setenv("HITOS_HOME", str(settings.home))
    monkeypatch.setenv("HITOS_SMTP_PORT", str(settings.smtp_port))

    def run(*args: str):
        return CliRunner().invoke(app, list(args))

    return run


def test_bounced_request_is_resent_to_the_corrected_liaison_and_reminders_follow(
    settings, plan, smtp, cli
):
    open_and_send(settings, plan)
    deliver(settings, samples.postfix_bounce(as_received(smtp, MARN), MARN))
    intake_once(settings, plan)
    assert status_of(settings, plan, "MARN")["request"] == "bounced"
    before = len(smtp.messages)

    changed = cli("contacts", "set", "MARN", "--liaison", NEW, "--name", "Ana Pérez", "--why", "x")
    resent = cli("resend", "2023-03", "MARN")
    again = cli("resend", "2023-03", "MARN")

    assert changed.exit_code == 0, changed.output
    assert resent.exit_code == 0, resent.output
    assert "gt-pan5/2023-03/MARN/request/2" in resent.output and "sent" in resent.output
    assert again.exit_code == 2
    assert "only a refused or bounced request" in " ".join(again.output.split())
    # The handover's welcome (tests/test_portal.py), then the one request, to the new address.
    assert [r for r, _ in smtp.messages[before:]] == [[NEW], [NEW]]
    assert "Bienvenida" in str(smtp.messages[before][1]["Subject"])
    request = smtp.messages[before + 1][1]
    assert request["Subject"] == "[Gobierno Abierto] Solicitud de avances · marzo 2023 · MARN"
    assert request.get_body(("plain",)).get_content().startswith("Estimado/a Ana Pérez:")
    assert [p.get_filename() for p in request.walk() if p.get_filename()] == [
        "gt-pan5-2023-03-MARN.xlsx"
    ]
    row = status_of(settings, plan, "MARN")
    assert (row["request"], row["request_error"]) == ("sent", "")
    with session(settings.database) as db:
        first = db.get(Email, "gt-pan5/2023-03/MARN/request/1")
        assert first is not None and first.status == "bounced"

    current = with_current_contacts(settings, plan)
    cycle = open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    reminder = reminder_email(settings, current, cycle, current.institution("MARN"), cycle.deadline)
    assert reminder is not None and reminder.to == [NEW]
    send_all(settings, [reminder])
    assert len(smtp.to(NEW)) == 3 and len(smtp.to(MARN)) == 1  # welcome, request, reminder
    assert current.institutions_writing_from(NEW) == ["MARN"]
    assert current.institutions_writing_from(MARN) == []


def test_history_starts_with_the_plan_and_keeps_every_change(settings, plan, cli):
    cli("contacts", "set", "MARN", "--liaison", NEW, "--name", "Ana Pérez", "--by", "director")
    cli("contacts", "set", "MARN", "--head", "ministra@marn.example", "--head-name", "Ministra")

    history = json.loads(cli("contacts", "MARN", "--json").stdout)
    in_force = json.loads(cli("contacts", "--json").stdout)

    assert [(h["role"], h["email"], h["changed_by"], h["current"]) for h in history] == [
        ("liaison", MARN, "plan file", False),
        ("head", "despacho@marn.example", "plan file", False),
        ("liaison", NEW, "director", True),
        ("head", "ministra@marn.example", history[3]["changed_by"], True),
    ]
    assert history[2]["valid_from"] == today_in(plan).isoformat()
    marn = {h["role"]: h["email"] for h in in_force if h["institution"] == "MARN"}
    assert marn == {"liaison": NEW, "head": "ministra@marn.example"}
    mingob = {h["role"]: h["email"] for h in in_force if h["institution"] == "MINGOB"}
    assert mingob == {"liaison": "enlace@mingob.example", "head": "despacho@mingob.example"}


def test_a_change_from_a_later_date_is_not_yet_in_force(settings, plan):
    tomorrow = today_in(plan) + timedelta(days=1)
    set_contacts(settings, plan, "MARN", liaison=Contact(name="A", email=NEW), valid_from=tomorrow)

    assert with_current_contacts(settings, plan).institution("MARN").liaison.email == MARN
    later = with_current_contacts(settings, plan, on=tomorrow)
    assert later.institution("MARN").liaison.email == NEW
    assert plan.institution("MARN").liaison.email == MARN, "the loaded plan is not changed"


def test_refused_request_is_resent_after_the_address_is_corrected(settings, plan, smtp, cli):
    smtp.refused.add(MARN)
    open_and_send(settings, plan)
    assert status_of(settings, plan, "MARN")["request"] == "refused"

    cli("contacts", "set", "MARN", "--liaison", NEW)
    resent = cli("resend", "2023-03", "MARN")

    assert resent.exit_code == 0, resent.output
    welcome, request = smtp.to(NEW)  # the handover's welcome (tests/test_portal.py), then it
    assert "Bienvenida" in str(welcome["Subject"]) and "Solicitud" in str(request["Subject"])
    assert status_of(settings, plan, "MARN")["request"] == "sent"


def test_resend_to_the_address_that_bounced_needs_to_be_asked_for(settings, plan, smtp, cli):
    smtp.refused.add(MARN)
    open_and_send(settings, plan)
    smtp.refused.clear()

    refused = cli("resend", "2023-03", "MARN")
    forced = cli("resend", "2023-03", "MARN", "--same-address")

    assert refused.exit_code == 2
    assert "liaison is still enlace@marn.example" in " ".join(refused.output.split())
    assert forced.exit_code == 0, forced.output
    assert len(smtp.to(MARN)) == 1


def test_status_prints_why_a_request_did_not_arrive(settings, plan, smtp, cli):
    open_and_send(settings, plan)
    deliver(settings, samples.postfix_bounce(as_received(smtp, MARN), MARN))
    intake_once(settings, plan)

    shown = " ".join(cli("status", "2023-03", "--today", "2023-03-03").output.split())
    as_json = json.loads(cli("status", "2023-03", "--json", "--today", "2023-03-03").stdout)

    assert (
        "MARN: request gt-pan5/2023-03/MARN/request/1 bounced: enlace@marn.example: 550 5.1.1"
        in shown
    )
    marn = next(r for r in as_json if r["institution"] == "MARN")
    assert marn["request"] == "bounced" and "User unknown" in marn["request_error"]


def test_resend_of_a_delivered_request_sends_nothing(settings, plan, smtp, cli):
    open_and_send(settings, plan)
    before = len(smtp.messages)

    result = cli("resend", "2023-03", "MINGOB")

    assert result.exit_code == 2
    assert "is sent: only a refused or bounced request" in " ".join(result.output.split())
    assert len(smtp.messages) == before


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("contacts", "set", "XYZ", "--liaison", NEW), "institution 'XYZ' is not one of plan"),
        (
            ("contacts", "set", "MARN", "--liaison", "no-es-correo"),
            "error: 'no-es-correo' is not an",
        ),
        (("contacts", "set", "MARN", "--liaison", NEW, "--from", "mañana"), "--from 'mañana' is"),
        (("contacts", "set", "MARN"), "usage: hitos contacts set CODE"),
        (("resend", "2023-03", "MARN"), "cycle gt-pan5/2023-03 does not exist"),
    ],
)
def test_operator_mistakes_get_one_sentence_and_exit_2(cli, args, says):
    result = cli(*args)
    assert result.exit_code == 2
    assert says in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_contacts_set_from_a_date(settings, plan, cli):
    result = cli("contacts", "set", "MARN", "--liaison", NEW, "--from", "2030-01-01")
    assert result.exit_code == 0
    assert with_current_contacts(settings, plan).institution("MARN").liaison.email == MARN
    assert with_current_contacts(settings, plan, date(2030, 1, 1)).institution(
        "MARN"
    ).liaison.email == (NEW)


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request, settings):
    """The test's settings on SQLite, then on a PostgreSQL database of its own."""
    if request.param == "sqlite":
        return settings
    return settings.model_copy(update={"database_url": request.getfixturevalue("postgres_url")})


def test_bounce_contacts_and_resend_on_both_ledgers(ledger, plan, smtp):
    """The same round trip on SQLite and on a real PostgreSQL (a database of its own)."""
    assert ledger.database.startswith("postgresql" if ledger.database_url else "sqlite")
    open_and_send(ledger, plan)
    deliver(ledger, samples.postfix_bounce(as_received(smtp, MARN), MARN))
    intake_once(ledger, plan)
    set_contacts(ledger, plan, "MARN", liaison=Contact(name="Ana", email=NEW), changed_by="t")

    key, status = resend_request(ledger, with_current_contacts(ledger, plan), "2023-03", "MARN")

    assert (key, status) == ("gt-pan5/2023-03/MARN/request/2", "sent")
    assert len(smtp.to(NEW)) == 1
    assert status_of(ledger, plan, "MARN")["request"] == "sent"
    with session(ledger.database) as db:
        first = db.get(Email, "gt-pan5/2023-03/MARN/request/1")
        assert first is not None and first.status == "bounced"
