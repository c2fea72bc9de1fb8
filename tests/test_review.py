"""Review, extensions and publication approval, through the CLI commands the console shares.

Every rule runs on SQLite in the workspace and on a real PostgreSQL (a database per test), with a
real SMTP server receiving what the liaisons and the director are sent.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from hitos_cli import app
from tasks.core.states import Delivery
from tasks.cycle.reminders import reminder_email, waiting_institutions
from tasks.cycle.requests import build_request, open_cycle_record
from tasks.intake.process import process
from tasks.intake.store import store
from tasks.mail.inbox import Attachment, Received
from tasks.people.notices import review_digest
from tasks.people.review import return_submission
from tasks.publication.approval import check_publications, consolidate_draft, state_of
from tasks.settings import Settings
from tasks.simulation import filled_workbook
from tasks.storage.ledger import Decision, session
from tests.network import free_port
from tests.test_ledger_backends import postgres_url  # noqa: F401 (a fixture)

CYCLE = "2023-03"


BOTH_DATABASES = pytest.mark.parametrize("ledger", ["sqlite", "postgresql"], indirect=True)
"""For the tests whose SQL differs between the two (report versions and their sources, dates of
extensions); the rest run on SQLite only, since the decisions' logic is the same code on both and
their races are tests/test_races.py's, on both."""


@pytest.fixture(params=["sqlite"])
def ledger(request, settings, monkeypatch) -> Settings:
    """The test's workspace on SQLite or on its own PostgreSQL database; the CLI points there."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else ""
    configured = Settings(
        home=settings.home, smtp_port=settings.smtp_port, plan=settings.plan, database_url=url
    )
    monkeypatch.setenv("HITOS_HOME", str(settings.home))
    monkeypatch.setenv("HITOS_SMTP_PORT", str(settings.smtp_port))
    monkeypatch.setenv("HITOS_DATABASE_URL", url)
    return configured


def deliver(settings, plan, code, attempt=1, on=None, careless=False) -> int:
    """A filled workbook from the institution's liaison, through intake; its submission id."""
    cycle = open_cycle_record(settings, plan, CYCLE, date(2023, 3, 1))
    request = build_request(settings, plan, cycle, plan.institution(code))
    # A later attempt says more: the same bytes twice would be one file (stored by sha256).
    data = filled_workbook(request, code, careless, revised=attempt > 1)
    data_id = f"<{code}-{attempt}@test>"
    received = Received(
        message_id=data_id,
        channel="mail",
        sender=plan.institution(code).liaison.email,
        attachments=[Attachment(f"avances-{code}-{attempt}.xlsx", data)],
        arrived=on,
    )
    [submission] = store(settings, [received])
    process(settings, plan)
    return submission


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout


def status_of(code: str) -> dict:
    _, out = cli("status", CYCLE, "--json")
    return next(r for r in json.loads(out) if r["institution"] == code)


def test_a_returned_file_reaches_the_liaison_and_counts_as_not_delivered(ledger, plan, smtp):
    mineduc = deliver(ledger, plan, "MINEDUC")
    _, out = cli("review", "list", CYCLE, "--json")
    assert [(i["submission"], i["review"]) for i in json.loads(out)] == [(mineduc, "pending")]

    code, out = cli(
        "review",
        "return",
        str(mineduc),
        "--note",
        "Los avances no cuadran.",
        "--by",
        "r@gae.example",
    )

    assert code == 0, out
    [message] = smtp.to(plan.institution("MINEDUC").liaison.email)
    assert "devuelto" in str(message["Subject"])
    assert "Los avances no cuadran." in message.get_body(("plain",)).get_content()
    assert status_of("MINEDUC")["review"] == "returned"
    assert status_of("MINEDUC")["delivery"] == "not-delivered"
    assert "MINEDUC" in [i.code for i in waiting_institutions(ledger, plan, CYCLE)]
    with session(ledger.database) as db:
        [decision] = db.scalars(select(Decision)).all()
    assert (decision.actor, decision.action, decision.submission_id, decision.note) == (
        "r@gae.example",
        "return",
        mineduc,
        "Los avances no cuadran.",
    )

    again, _ = cli("review", "return", str(mineduc), "--note", "Otra vez.")
    assert again == 0
    assert len(smtp.to(plan.institution("MINEDUC").liaison.email)) == 1  # nothing twice


def test_a_return_needs_a_comment_and_only_accepted_files_are_reviewed(ledger, plan, smtp):
    rejected = deliver(ledger, plan, "MINEDUC", careless=True)

    code, out = cli("review", "approve", str(rejected))
    assert code == 1 and "only accepted files are reviewed" in out
    code, out = cli("review", "return", "999", "--note", "x")
    assert code == 1 and "there is no submission 999" in out
    accepted = deliver(ledger, plan, "MINGOB")
    code, out = cli("review", "return", str(accepted), "--note", "  ")
    assert code == 1 and "needs a comment" in out


@BOTH_DATABASES
def test_only_approved_files_feed_a_draft_and_the_public_files_change_on_publication(
    ledger, plan, smtp
):
    mingob, sesan = deliver(ledger, plan, "MINGOB"), deliver(ledger, plan, "SESAN")
    assert cli("review", "approve", str(mingob), "--note", "Coherente.")[0] == 0
    latest = ledger.home / "reports" / "gt-pan5" / CYCLE / "latest"

    draft = consolidate_draft(ledger, plan, CYCLE).report

    assert (draft.state, draft.submissions) == ("draft", [mingob])  # SESAN awaits review
    assert not latest.exists()
    director = plan.coordinator.director.email
    assert ["Borrador" in str(m["Subject"]) for m in smtp.to(director)] == [True]

    cli("review", "approve", str(sesan))
    code, out = cli("publish", CYCLE)
    assert code == 1 and "changed since draft v1" in out
    assert not latest.exists()

    draft = consolidate_draft(ledger, plan, CYCLE).report
    code, out = cli("publish", CYCLE, "--by", "directora@gae.example")

    assert code == 0, out
    assert sorted(p.name for p in latest.iterdir()) == sorted(
        f"gt-pan5-{CYCLE}.{kind}" for kind in ("html", "pdf", "csv", "xlsx")
    )
    state = state_of(ledger, plan, CYCLE)
    assert state.published is not None
    assert (state.published.version, state.draft, state.outdated) == (draft.version, None, False)
    assert any("Informe consolidado" in str(m["Subject"]) for m in smtp.to(director))
    code, out = cli("publish", CYCLE)
    assert code == 1 and "no draft to publish" in out


def test_a_new_file_marks_the_publication_out_of_date_and_tells_the_director_once(
    ledger, plan, smtp
):
    mingob = deliver(ledger, plan, "MINGOB")
    cli("review", "approve", str(mingob))
    consolidate_draft(ledger, plan, CYCLE)
    cli("publish", CYCLE)
    page = (
        ledger.home / "reports" / "gt-pan5" / CYCLE / "latest" / f"gt-pan5-{CYCLE}.html"
    ).read_bytes()

    sesan = deliver(ledger, plan, "SESAN")
    check_publications(ledger, plan)
    check_publications(ledger, plan)

    director = plan.coordinator.director.email
    outdated = [m for m in smtp.to(director) if "desactualizado" in str(m["Subject"])]
    assert len(outdated) == 1
    assert state_of(ledger, plan, CYCLE).outdated  # SESAN delivered since: v1 says it did not
    second = consolidate_draft(ledger, plan, CYCLE).report
    assert (second.version, second.state, second.submissions) == (2, "draft", [mingob])
    assert state_of(ledger, plan, CYCLE).draft is not None
    cli("review", "approve", str(sesan))
    third = consolidate_draft(ledger, plan, CYCLE).report
    assert (third.version, third.submissions) == (3, sorted([mingob, sesan]))
    assert (
        ledger.home / "reports" / "gt-pan5" / CYCLE / "latest" / f"gt-pan5-{CYCLE}.html"
    ).read_bytes() == page


def test_returning_a_published_file_marks_the_publication_out_of_date(ledger, plan, smtp):
    mingob = deliver(ledger, plan, "MINGOB")
    cli("review", "approve", str(mingob))
    consolidate_draft(ledger, plan, CYCLE)
    cli("publish", CYCLE)

    code, out = cli("review", "return", str(mingob), "--note", "Sin evidencia real.")
    assert code == 1 and "is approved now" in out  # a decision is changed only on purpose
    cli("review", "return", str(mingob), "--note", "Sin evidencia real.", "--reconsider")

    assert state_of(ledger, plan, CYCLE).outdated
    subjects = [str(m["Subject"]) for m in smtp.to(plan.coordinator.director.email)]
    assert sum("desactualizado" in s for s in subjects) == 1


@BOTH_DATABASES
def test_an_extension_moves_reminders_on_time_and_shows_in_status_and_report(ledger, plan, smtp):
    cycle = open_cycle_record(ledger, plan, CYCLE, date(2023, 3, 1))
    until = date(2023, 3, 31)
    code, out = cli(
        "extend", CYCLE, "MARN", "--until", until.isoformat(), "--reason", "Cambio de enlace."
    )
    assert code == 0, out

    assert status_of("MARN")["extension"] == {"until": "2023-03-31", "reason": "Cambio de enlace."}
    after_deadline = date(2023, 3, 28)
    assert cycle.deadline < after_deadline < until
    marn = reminder_email(ledger, plan, cycle, plan.institution("MARN"), after_deadline)
    mingob = reminder_email(ledger, plan, cycle, plan.institution("MINGOB"), after_deadline)
    assert mingob is not None and mingob.cc  # late: head and director copied
    assert marn is None or not marn.cc
    assert marn is None or "con prórroga" in marn.text

    late_but_extended = datetime(2023, 3, 29, 16, tzinfo=UTC).replace(tzinfo=None)
    marn_file = deliver(ledger, plan, "MARN", on=late_but_extended)
    cli("review", "approve", str(marn_file))
    publication = consolidate_draft(ledger, plan, CYCLE)
    row = next(i for i in publication.figures.institutions if i.codigo == "MARN")
    assert (row.estado_entrega, row.prorroga) == (Delivery.ON_TIME, "2023-03-31")
    assert status_of("MARN")["days_late"] == 0
    page = publication.paths["html"].read_text(encoding="utf-8")
    assert "31/03/2023" in page  # as a reader in Spanish writes it


def test_an_extension_needs_a_reason_and_a_date_after_the_deadline(ledger, plan):
    open_cycle_record(ledger, plan, CYCLE, date(2023, 3, 1))
    code, out = cli("extend", CYCLE, "MARN", "--until", "2023-03-01", "--reason", "x")
    assert code == 1 and "must be after" in out
    code, out = cli("extend", CYCLE, "MARN", "--until", "2023-04-30", "--reason", " ")
    assert code == 1 and "needs a reason" in out
    code, out = cli("extend", CYCLE, "MARN", "--until", "30/04/2023", "--reason", "x")
    assert code == 2 and "YYYY-MM-DD" in out
    code, out = cli("extend", CYCLE, "NOPE", "--until", "2023-04-30", "--reason", "x")
    assert code == 2 and "is not one of plan gt-pan5's" in out


def test_reviewers_get_one_digest_a_day_listing_what_awaits_review(ledger, plan, smtp):
    from tasks.mail.outgoing import send_all
    from tasks.people.accounts import add_user

    add_user(ledger, "revisora@gae.example", "reviewer", "una clave larga")
    add_user(ledger, "directora@gae.example", "director", "otra clave larga")
    day = date(2023, 3, 20)
    assert review_digest(ledger, plan, day) is None  # nothing awaits review
    mingob, sesan = deliver(ledger, plan, "MINGOB"), deliver(ledger, plan, "SESAN")
    cli("review", "approve", str(mingob))

    for _ in range(2):
        digest = review_digest(ledger, plan, day)
        assert digest is not None
        send_all(ledger, [digest])

    [received] = smtp.to("revisora@gae.example")
    assert smtp.to("directora@gae.example") == []
    text = received.get_body(("plain",)).get_content()
    assert f"Envío {sesan} · SESAN" in text and f"Envío {mingob} ·" not in text


def test_the_director_learns_when_every_institution_has_delivered(ledger, plan, smtp):
    from tasks.cycle.notices import delivery_notices
    from tasks.mail.outgoing import send_all

    codes = [i.code for i in plan.reporting_institutions()]
    for code in codes[:-1]:
        deliver(ledger, plan, code)
    assert delivery_notices(ledger, plan) == []
    deliver(ledger, plan, codes[-1])

    send_all(ledger, delivery_notices(ledger, plan))
    send_all(ledger, delivery_notices(ledger, plan))

    subjects = [str(m["Subject"]) for m in smtp.to(plan.coordinator.director.email)]
    assert sum("Todas las instituciones entregaron" in s for s in subjects) == 1


def test_a_return_whose_reply_failed_is_owed_until_it_is_sent(ledger, plan, smtp):
    from tasks.mail.outgoing import send_all
    from tasks.people.review import unsent_returns

    mineduc = deliver(ledger, plan, "MINEDUC")
    down = Settings(
        home=ledger.home, smtp_port=free_port(), plan=ledger.plan, database_url=ledger.database_url
    )  # no server listens there: the reply fails
    return_submission(down, plan, mineduc, "r@gae.example", "Faltan las actas.")
    assert smtp.to(plan.institution("MINEDUC").liaison.email) == []

    owed = unsent_returns(ledger, plan)
    send_all(ledger, owed)

    assert [m.key for m in owed] == [f"gt-pan5/{CYCLE}/MINEDUC/returned/{mineduc}"]
    [message] = smtp.to(plan.institution("MINEDUC").liaison.email)
    assert "Faltan las actas." in message.get_body(("plain",)).get_content()
    assert unsent_returns(ledger, plan) == []


def test_a_reminder_after_a_return_repeats_the_reviewers_comment(ledger, plan, smtp):
    cycle = open_cycle_record(ledger, plan, CYCLE, date(2023, 3, 1))
    mineduc = deliver(ledger, plan, "MINEDUC")
    cli("review", "return", str(mineduc), "--note", "Falta el acta de la sesión.")

    late = reminder_email(ledger, plan, cycle, plan.institution("MINEDUC"), date(2023, 3, 20))

    assert late is not None
    assert "fue devuelto por la revisión" in late.text
    assert "Falta el acta de la sesión." in late.text
