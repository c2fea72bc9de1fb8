"""The audit trail: every human or scheduled decision once, with who and when; the demo's
institutions and director act once however many times the demo runs."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tasks.cycle.closing import close_cycle
from tasks.cycle.extensions import extend
from tasks.cycle.requests import open_cycle_record
from tasks.mail.inbox import open_maildir
from tasks.mail.local_server import local_smtp_server
from tasks.publication.approval import consolidate_draft
from tasks.simulation import director_extends, send_back
from tasks.storage.ledger import Decision, session
from tests.test_review import CYCLE, deliver


def decisions(settings, action: str) -> list[Decision]:
    with session(settings.database) as db:
        return list(db.scalars(select(Decision).where(Decision.action == action)))


def test_closing_a_cycle_is_recorded_once_with_who_closed_it(settings, plan):
    open_cycle_record(settings, plan, CYCLE, date(2023, 3, 1))

    assert close_cycle(settings, CYCLE, plan.id, "directora@gae.example", "Fin del ciclo.").changed
    assert not close_cycle(settings, CYCLE, plan.id, "otra@gae.example").changed

    [closed] = decisions(settings, "close")
    assert (closed.actor, closed.cycle_id, closed.note) == (
        "directora@gae.example",
        CYCLE,
        "Fin del ciclo.",
    )


def test_starting_a_consolidation_is_recorded_once_per_version(settings, plan, smtp):
    deliver(settings, plan, "MINGOB")
    first = consolidate_draft(settings, plan, CYCLE, "directora@gae.example")
    again = consolidate_draft(settings, plan, CYCLE, "otra@gae.example")

    assert again.report.version == first.report.version == 1
    [made] = decisions(settings, "consolidate")
    assert (made.actor, made.report_version) == ("directora@gae.example", 1)


def test_granting_the_same_extension_again_records_nothing(settings, plan):
    open_cycle_record(settings, plan, CYCLE, date(2023, 3, 1))
    until = date(2023, 3, 31)

    grant = (settings, plan, CYCLE, "MARN", until, "Cambio de enlace.", "directora@gae.example")
    assert extend(*grant).changed
    assert not extend(*grant).changed
    assert len(decisions(settings, "extend")) == 1
    director_extends(settings, plan, CYCLE)
    director_extends(settings, plan, CYCLE)
    assert len(decisions(settings, "extend")) == 2  # the demo's own grant, once


def test_a_simulated_liaison_sends_each_answer_once_however_often_the_demo_runs(settings, plan):
    inbox, outbox = settings.folder("mail", "inbox"), settings.folder("mail", "outbox")
    open_cycle_record(settings, plan, CYCLE, date(2023, 3, 1))
    on = datetime.combine(date(2023, 3, 6), time(10), ZoneInfo(plan.timezone))
    with local_smtp_server(inbox, outbox, settings.sender, settings.smtp_port):
        for _ in range(3):
            send_back(settings, plan, "MINGOB", b"PK fake workbook", 1, on)

    assert len(list(open_maildir(inbox))) == 1
