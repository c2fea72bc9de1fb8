"""An operator says whose a quarantined file is: the assignment applies, once, and is recorded.

A file intake could not identify, or would not take from its sender, waits as ``quarantined``.
``hitos submit FILE --institution --cycle`` (the same bytes) and ``hitos assign ID`` give it to
an institution and cycle: it is validated once, answered once, and the audit trail says who,
when, what and why.
"""

from __future__ import annotations

import getpass
import json
from datetime import date
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hitos_cli import app
from tasks.checks.boundaries import UserMistake
from tasks.cycle.requests import build_request, open_cycle_record
from tasks.intake.assign import assign, submit_file
from tasks.intake.malformed import unanswered_messages
from tasks.intake.process import process
from tasks.intake.replies import unanswered
from tasks.intake.store import store_all
from tasks.intake.strangers import stranger_notices
from tasks.mail.inbox import open_maildir
from tasks.mail.outgoing import send_all
from tasks.people.contacts import contact, set_contacts, with_current_contacts
from tasks.storage.ledger import Decision, Submission, session
from tests.test_hostile_intake import LIAISON, XLSX, filled
from tests.test_intake_corpus import COLUMNS, Context, as_csv

STRANGER = "intruso@evil.example"


@pytest.fixture
def workspace(settings, plan, monkeypatch):
    """The CLI on the test's workspace, with 2023-03 open."""
    monkeypatch.setenv("HITOS_HOME", str(settings.home))
    open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    return settings


def unidentifiable(plan) -> bytes:
    """MINGOB's rows, correct, in a CSV that names no institution: nobody can tell whose."""
    return as_csv(Context(plan, b"").rows(), columns=COLUMNS[1:])


def cli(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, [*args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def submissions(settings) -> list[Submission]:
    with session(settings.database) as db:
        return list(db.scalars(select(Submission).order_by(Submission.id)))


def decisions(settings) -> list[Decision]:
    with session(settings.database) as db:
        return list(db.scalars(select(Decision).order_by(Decision.id)))


def test_a_quarantined_file_submitted_again_with_institution_and_cycle_is_taken_for_them(
    workspace, plan, tmp_path
):
    path = tmp_path / "avances.csv"
    path.write_bytes(unidentifiable(plan))
    first, held = cli("submit", str(path))
    again, taken = cli("submit", str(path), "--institution", "mingob", "--cycle", "2023-03")

    assert (first, held["outcome"]) == (2, "quarantined")
    assert again == 0
    assert (taken["outcome"], taken["institution"], taken["cycle"]) == (
        "accepted",
        "MINGOB",
        "2023-03",
    )
    [sub] = submissions(workspace)
    assert (sub.outcome, sub.institution, sub.version) == ("accepted", "MINGOB", 1)
    assert taken["findings"] == []  # the quarantine's finding went with it


def test_an_operators_assignment_is_in_the_audit_trail_with_who_when_and_why(
    workspace, plan, tmp_path
):
    path = tmp_path / "avances.csv"
    path.write_bytes(unidentifiable(plan))
    cli("submit", str(path))
    cli(
        "submit",
        str(path),
        "--institution",
        "MINGOB",
        "--cycle",
        "2023-03",
        "--by",
        "operadora@gae.example",
        "--why",
        "el enlace lo confirmó por teléfono",
    )
    # The same command again decides nothing new and processes nothing again.
    processed = submissions(workspace)[0].processed_at
    cli("submit", str(path), "--institution", "MINGOB", "--cycle", "2023-03")

    [decision] = decisions(workspace)
    [sub] = submissions(workspace)
    assert (decision.actor, decision.action, decision.note) == (
        "operadora@gae.example",
        "assign",
        "el enlace lo confirmó por teléfono",
    )
    assert (decision.plan_id, decision.cycle_id, decision.institution) == (
        plan.id,
        "2023-03",
        "MINGOB",
    )
    assert decision.submission_id == sub.id and decision.at is not None
    assert sub.processed_at == processed


def test_a_new_file_submitted_for_an_institution_is_recorded_as_the_operators_decision(
    workspace, plan, tmp_path
):
    path = tmp_path / "avances.csv"
    path.write_bytes(unidentifiable(plan))
    code, _ = cli("submit", str(path), "--institution", "MINGOB", "--cycle", "2023-03")

    assert code == 0
    [decision] = decisions(workspace)
    assert (decision.action, decision.institution) == ("assign", "MINGOB")
    assert decision.actor == getpass.getuser()  # without --by: the operator's login


def deliver(settings, sender: str, message_id: str, filename: str, data: bytes) -> None:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = settings.sender
    message["Subject"] = "Avances"
    message["Message-ID"] = message_id
    message.set_content("Adjunto el reporte.")
    message.add_attachment(data, maintype=XLSX[0], subtype=XLSX[1], filename=filename)
    open_maildir(settings.folder("mail", "inbox")).add(message)


def intake_once(settings, plan) -> dict[str, str]:
    store_all(settings)
    process(settings, plan)
    return send_all(
        settings,
        unanswered(settings, plan)
        + stranger_notices(settings, plan)
        + unanswered_messages(settings, plan),
    )


@pytest.fixture
def mingob_workbook(workspace, plan) -> bytes:
    cycle = open_cycle_record(workspace, plan, "2023-03", date(2023, 3, 1))
    return filled(
        build_request(workspace, plan, cycle, plan.institution("MINGOB")).read_bytes(), 40
    )


def test_a_strangers_file_released_by_an_operator_is_answered_once_and_to_the_liaison(
    workspace, plan, smtp, mingob_workbook
):
    deliver(workspace, STRANGER, "<extrano@evil.example>", "avances.xlsx", mingob_workbook)
    intake_once(workspace, plan)
    [held] = submissions(workspace)
    code, released = cli(
        "assign", str(held.id), "--institution", "MINGOB", "--cycle", "2023-03", "--why", "suyo"
    )
    intake_once(workspace, plan)
    intake_once(workspace, plan)

    # Reviewers still see where it came from.
    assert held.outcome == "quarantined"
    assert (code, released["outcome"]) == (0, "accepted_with_warnings")
    assert [f["rule"] for f in released["findings"]] == ["sender-not-a-contact"]
    [decision] = decisions(workspace)
    assert (decision.action, decision.submission_id, decision.note) == ("assign", held.id, "suyo")
    assert smtp.to(STRANGER) == []
    to_liaison = smtp.to(LIAISON)
    assert [m["Subject"] for m in to_liaison] == [
        "[Gobierno Abierto] Archivo recibido desde otra dirección · marzo 2023 · MINGOB",
        "[Gobierno Abierto] Archivo aceptado con advertencias · marzo 2023 · MINGOB",
    ]
    reply = to_liaison[1].get_body(("plain",)).get_content()
    assert STRANGER in reply and "registró para MINGOB" in reply
    assert to_liaison[1]["In-Reply-To"] is None  # the liaison did not write that message


def test_a_known_senders_unidentified_file_once_assigned_is_answered_once_more(
    workspace, plan, smtp
):
    """MINGOB's former liaison (known, but no longer naming MINGOB by writing) sends a CSV that
    names nobody: told it was not identified, then, once assigned, its result; nothing more."""
    set_contacts(workspace, plan, "MINGOB", liaison=contact("Nueva", "nueva@mingob.example"))
    today = with_current_contacts(workspace, plan)
    deliver(workspace, LIAISON, "<sin-nombre@mingob.example>", "avances.csv", unidentifiable(plan))
    intake_once(workspace, today)
    [held] = submissions(workspace)
    assign(workspace, today, held.id, "MINGOB", "2023-03", "operadora")
    intake_once(workspace, today)
    intake_once(workspace, today)

    subjects = [m["Subject"] for m in smtp.to(LIAISON)]
    assert subjects == [
        "[Gobierno Abierto] No pudimos identificar su archivo · marzo 2023",
        "[Gobierno Abierto] Archivo aceptado con advertencias · marzo 2023 · MINGOB",
    ]
    assert all(m["In-Reply-To"] == "<sin-nombre@mingob.example>" for m in smtp.to(LIAISON))
    assert smtp.to("nueva@mingob.example") == []


def test_a_file_assigned_late_takes_its_place_in_arrival_order(
    workspace, plan, smtp, mingob_workbook
):
    """The unidentified file came first: once assigned it is version 1, and the liaison's own,
    later file becomes version 2 and still speaks for MINGOB."""
    submit_file(workspace, plan, "avances.csv", unidentifiable(plan))
    deliver(workspace, LIAISON, "<segundo@mingob.example>", "avances.xlsx", mingob_workbook)
    intake_once(workspace, plan)
    first, second = submissions(workspace)
    assert (first.outcome, second.version) == ("quarantined", 1)

    assign(workspace, plan, first.id, "MINGOB", "2023-03", "operadora")

    assert [(s.id, s.version) for s in submissions(workspace)] == [(first.id, 1), (second.id, 2)]


def test_a_file_already_taken_for_an_institution_is_not_given_to_another(
    workspace, plan, smtp, mingob_workbook
):
    deliver(workspace, LIAISON, "<bueno@mingob.example>", "avances.xlsx", mingob_workbook)
    intake_once(workspace, plan)
    [sub] = submissions(workspace)

    with pytest.raises(UserMistake, match="was taken in as MINGOB"):
        assign(workspace, plan, sub.id, "MINEDUC", "2023-03", "operadora")
    with pytest.raises(UserMistake, match="does not exist"):
        assign(workspace, plan, sub.id + 99, "MINEDUC", "2023-03", "operadora")
    assert decisions(workspace) == []
