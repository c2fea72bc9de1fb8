"""Several plans in one ledger: the 5th plan's close-out and the 6th plan's first cycle, both
2023-08, open at once on SQLite and on PostgreSQL, neither seeing the other's data.

The 6th plan here is a test plan made from the sample (three of its commitments, the same
institutions and liaisons): a liaison of both plans answers both from one address.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from hitos_cli import app
from tasks.checks.data_docs.store import run_of
from tasks.cycle.reminders import reminder_email, waiting_institutions
from tasks.cycle.requests import build_request, open_cycle_record, request_copy, request_email
from tasks.cycle.status import cycle_status
from tasks.intake.process import process
from tasks.intake.results import cycle_outcomes
from tasks.intake.store import store, store_all
from tasks.mail.inbox import received
from tasks.mail.local_server import local_smtp_server
from tasks.mail.outgoing import send_all
from tasks.people.review import approve, pending_reviews
from tasks.plans.plan import Plan, load_plan
from tasks.publication.approval import consolidate_draft, publish_draft
from tasks.settings import Settings
from tasks.simulation import CARELESS, SILENT, corrections, filled_workbook, first_answers
from tasks.storage.ledger import Email, Submission, session
from tests.conftest import SAMPLE_PLAN
from tests.test_ledger_backends import postgres_url  # noqa: F401 (a fixture)

CYCLE = "2023-08"
SIXTH_COMMITMENTS = (1, 4, 6)
"""MINGOB, MINEDUC (the careless one) and MARN (the silent one) report in the 6th plan too."""


def sixth_plan(folder: Path) -> Path:
    """A 6th plan beside the sample, as ``--plan gt-pan6`` finds it."""
    data = yaml.safe_load(SAMPLE_PLAN.read_text(encoding="utf-8"))
    data.update(
        id="gt-pan6",
        name="Sexto Plan de Acción Nacional de Gobierno Abierto 2023-2025 (prueba)",
        short_name="6.º plan",
        start=data["start"].replace(year=2023),
        end=data["end"].replace(year=2025),
    )
    data["commitments"] = [c for c in data["commitments"] if c["number"] in SIXTH_COMMITMENTS]
    for milestone in (m for c in data["commitments"] for m in c["milestones"]):
        milestone["start"] = milestone["start"].replace(year=milestone["start"].year + 2)
        milestone["end"] = milestone["end"].replace(year=milestone["end"].year + 2)
    path = folder / "gt-pan6.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(params=["sqlite"])
def two_plans(request, settings, tmp_path) -> tuple[Settings, Plan, Settings, Plan]:
    """Settings and plan of the 5th and of the 6th plan, on one ledger (SQLite; PostgreSQL for
    the test whose keys and constraints span both plans)."""
    folder = tmp_path / "plans"
    folder.mkdir()
    fifth_file = folder / "gt-pan5.yaml"
    fifth_file.write_bytes(SAMPLE_PLAN.read_bytes())
    update: dict[str, object] = {"plan": fifth_file}
    if request.param == "postgresql":
        update["database_url"] = request.getfixturevalue("postgres_url")
    fifth = settings.model_copy(update=update)
    sixth = fifth.on_plan(sixth_plan(folder))
    return fifth, load_plan(fifth.plan), sixth, load_plan(sixth.plan)


def open_and_answer(settings, plan) -> None:
    """Open 2023-08 for the plan, send its requests; every institution but the silent one
    answers from its liaison's address."""
    cycle = open_cycle_record(settings, plan, CYCLE, date(2023, 8, 1))
    send_all(
        settings,
        [
            request_email(plan, cycle, i, build_request(settings, plan, cycle, i))
            for i in plan.reporting_institutions()
        ],
    )
    first_answers(settings, plan, CYCLE)


def test_a_liaison_asked_by_two_plans_tells_their_emails_apart_by_the_subject(two_plans):
    """Each plan's ``short_name`` stands beside the cycle; a plan without one (the sample)
    keeps the subject it always had."""
    fifth, plan5, sixth, plan6 = two_plans
    named5 = plan5.model_copy(update={"short_name": "5.º plan"})

    def subject(settings: Settings, plan: Plan) -> str:
        cycle = open_cycle_record(settings, plan, CYCLE, date(2023, 8, 1))
        mingob = plan.institution("MINGOB")
        workbook = build_request(settings, plan, cycle, mingob)
        return request_email(plan, cycle, mingob, workbook).subject

    asked = "[Gobierno Abierto] Solicitud de avances"
    assert subject(sixth, plan6) == f"{asked} · 6.º plan · agosto 2023 · MINGOB"
    assert subject(fifth, named5) == f"{asked} · 5.º plan · agosto 2023 · MINGOB"
    assert subject(fifth, plan5) == f"{asked} · agosto 2023 · MINGOB"


def submissions_by_plan(settings) -> dict[str | None, set[str]]:
    with session(settings.database) as db:
        found: dict[str | None, set[str]] = {}
        for sub in db.scalars(select(Submission)):
            found.setdefault(sub.plan_id, set()).add(str(sub.institution))
        return found


@pytest.mark.parametrize("two_plans", ["sqlite", "postgresql"], indirect=True)
def test_two_plans_run_2023_08_in_one_ledger_without_seeing_each_other(two_plans):
    fifth, plan5, sixth, plan6 = two_plans
    inbox, outbox = fifth.folder("mail", "inbox"), fifth.folder("mail", "outbox")
    with local_smtp_server(inbox, outbox, fifth.sender, fifth.smtp_port):
        open_and_answer(fifth, plan5)
        open_and_answer(sixth, plan6)
        store_all(fifth)
        outcomes = process(fifth, plan5, with_docs=True)  # one intake, one mailbox, both plans
        plans = {plan5.id: plan5, plan6.id: plan6}
        for outcome in outcomes:  # each plan's files in its own plan's Data Docs site
            run = run_of(fifth, plans[str(outcome.plan)], outcome.submission_id)
            assert run is not None and run.plan_id == outcome.plan, outcome
            other = plan6 if outcome.plan == plan5.id else plan5
            assert run_of(fifth, other, outcome.submission_id) is None
        corrections(fifth, plan5, CYCLE)  # only the 5th plan's careless liaison corrects
        store_all(fifth)
        outcomes += process(fifth, plan5)

        answering6 = {i.code for i in plan6.reporting_institutions()} - {SILENT}
        answering5 = {i.code for i in plan5.reporting_institutions()} - {SILENT}
        assert submissions_by_plan(fifth) == {"gt-pan5": answering5, "gt-pan6": answering6}
        assert {o.plan for o in outcomes} == {"gt-pan5", "gt-pan6"}

        status6 = {r.institution: r.as_dict() for r in cycle_status(sixth, plan6, CYCLE)}
        assert set(status6) == {i.code for i in plan6.reporting_institutions()}
        assert status6[CARELESS]["last_outcome"] == "rejected"  # not the 5th plan's correction
        assert status6[CARELESS]["submissions"] == 1
        assert status6[SILENT]["submissions"] == 0
        status5 = {r.institution: r.as_dict() for r in cycle_status(fifth, plan5, CYCLE)}
        assert status5[CARELESS]["submissions"] == 2
        assert str(status5[CARELESS]["last_outcome"]).startswith("accepted")

        findings6 = cycle_outcomes(sixth, plan6.id, CYCLE)
        assert {o.institution for o in findings6} == answering6
        assert {o.plan for o in findings6} == {"gt-pan6"}

        waiting6 = [i.code for i in waiting_institutions(sixth, plan6, CYCLE)]
        waiting5 = [i.code for i in waiting_institutions(fifth, plan5, CYCLE)]
        assert sorted(waiting6) == sorted([CARELESS, SILENT])
        assert waiting5 == [SILENT]
        cycle6 = open_cycle_record(sixth, plan6, CYCLE, date(2023, 8, 1))
        day = cycle6.deadline
        reminders = [reminder_email(sixth, plan6, cycle6, plan6.institution(SILENT), day)]
        assert send_all(sixth, [m for m in reminders if m]) == {
            f"gt-pan6/{CYCLE}/{SILENT}/reminder/3": "sent"
        }

        for settings, plan in ((fifth, plan5), (sixth, plan6)):
            for item in pending_reviews(settings):
                approve(settings, plan, item.submission_id, "revisora@gae.example")
            consolidate_draft(settings, plan, CYCLE)
            publication = publish_draft(settings, plan, CYCLE, "directora@gae.example")
            latest = publication.paths["latest_csv"]
            assert latest.parent == settings.home / "reports" / plan.id / CYCLE / "latest"
            with latest.open(encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
            assert sorted(r["codigo_hito"] for r in rows) == sorted(m.code for m in plan.milestones)
            assert publication.report.version == 1


def test_a_file_without_its_meta_goes_to_the_plan_whose_request_it_answers(two_plans):
    """A liaison of both plans answers the 6th plan's request with a workbook whose hidden
    sheet was lost: the thread names the plan. The same file answering nothing is not guessed."""
    fifth, plan5, sixth, plan6 = two_plans
    inbox, outbox = fifth.folder("mail", "inbox"), fifth.folder("mail", "outbox")
    code = "MINGOB"
    with local_smtp_server(inbox, outbox, fifth.sender, fifth.smtp_port):
        for settings, plan in ((fifth, plan5), (sixth, plan6)):
            cycle = open_cycle_record(settings, plan, CYCLE, date(2023, 8, 1))
            institution = plan.institution(code)
            mail = request_email(
                plan, cycle, institution, build_request(settings, plan, cycle, institution)
            )
            send_all(settings, [mail])
    with session(fifth.database) as db:
        asked = db.scalars(
            select(Email.message_id).where(Email.plan_id == "gt-pan6", Email.kind == "request")
        ).one()
    request = request_copy(sixth, plan6, CYCLE, code)
    answer, again = (
        without_meta(filled_workbook(request, code, False, revised=revised))
        for revised in (False, True)
    )
    liaison = plan6.institution(code).liaison.email
    assert liaison == plan5.institution(code).liaison.email  # one liaison for both plans

    def message(message_id: str, data: bytes, in_reply_to: str = "") -> EmailMessage:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = liaison, fifth.sender, "Avances"
        mail["Message-ID"] = message_id
        if in_reply_to:
            mail["In-Reply-To"] = mail["References"] = in_reply_to
        mail.set_content("Adjunto el avance.")
        mail.add_attachment(
            data, maintype="application", subtype="octet-stream", filename="avance.xlsx"
        )
        return mail

    store(fifth, [received(message("<answer@mingob.example>", answer, asked), "mail")])
    store(fifth, [received(message("<loose@mingob.example>", again), "mail")])
    answered, loose = sorted(process(fifth, plan5), key=lambda o: o.submission_id)

    assert (answered.plan, answered.cycle, answered.institution) == ("gt-pan6", CYCLE, code)
    assert answered.outcome.startswith("accepted")
    assert loose.outcome == "quarantined"
    assert "not-identified" in {f.rule for f in loose.findings}


def without_meta(workbook: bytes) -> bytes:
    """The workbook with its hidden sheets gone, as some spreadsheet programs save it."""
    book = load_workbook(io.BytesIO(workbook))
    for sheet in [s for s in book.worksheets if s.sheet_state != "visible"]:
        book.remove(sheet)
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


def test_every_command_works_on_the_plan_it_is_given(two_plans, monkeypatch):
    """``--plan gt-pan6`` finds the plan beside HITOS_PLAN; without it, HITOS_PLAN's plan."""
    fifth, _, sixth, plan6 = two_plans
    monkeypatch.setenv("HITOS_HOME", str(fifth.home))
    monkeypatch.setenv("HITOS_PLAN", str(fifth.plan))
    monkeypatch.setenv("HITOS_DATABASE_URL", fifth.database_url)
    open_cycle_record(sixth, plan6, CYCLE, date(2023, 8, 1))
    runner = CliRunner()

    sixth_status = runner.invoke(app, ["status", CYCLE, "--plan", "gt-pan6", "--json"])
    fifth_status = runner.invoke(app, ["status", CYCLE, "--json"])
    checked = runner.invoke(app, ["plan", "check", "--plan", "gt-pan6"])
    unknown = runner.invoke(app, ["status", CYCLE, "--plan", "gt-pan7"])

    assert sixth_status.exit_code == 0, sixth_status.output
    rows = json.loads(sixth_status.stdout)
    assert [r["institution"] for r in rows] == [i.code for i in plan6.reporting_institutions()]
    assert fifth_status.exit_code == 2
    assert "cycle gt-pan5/2023-08 does not exist" in said(fifth_status)
    assert "--plan gt-pan5" in said(fifth_status)
    assert checked.exit_code == 0 and "gt-pan6.yaml: no problems" in said(checked)
    assert unknown.exit_code == 2
    assert "plan 'gt-pan7' is not in" in said(unknown) and "gt-pan5, gt-pan6" in said(unknown)


def said(result) -> str:
    """A command's output as one line of single spaces."""
    return " ".join(result.output.split())
