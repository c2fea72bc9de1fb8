"""Reminders: when they fall, who gets them, what they say, and when they stop."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from tasks.cycle.reminders import reminder_email, reminder_points, waiting_institutions
from tasks.cycle.requests import build_request, open_cycle_record
from tasks.intake.process import process
from tasks.intake.store import store
from tasks.mail.inbox import Attachment, Received
from tasks.mail.outgoing import send_all
from tasks.simulation import filled_workbook


@pytest.fixture
def cycle(settings, plan):
    """The March 2023 cycle, opened on Wednesday 1 March: the deadline is Wednesday 15 March."""
    cycle = open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    for institution in plan.reporting_institutions():
        build_request(settings, plan, cycle, institution)
    return cycle


def hand_in(settings, plan, cycle, institution: str, careless: bool = False) -> None:
    """The institution's liaison returns its workbook; intake stores and validates it."""
    request = (
        settings.folder("requests", plan.id, cycle.id) / f"gt-pan5-{cycle.id}-{institution}.xlsx"
    )
    data = filled_workbook(request, institution, careless)
    sender = plan.institution(institution).liaison.email
    name = f"avances-{institution}-{'mal' if careless else 'bien'}.xlsx"
    store(
        settings,
        [
            Received(
                message_id=f"<{hashlib.sha256(data).hexdigest()[:16]}@inst.example>",
                channel="maildir",
                sender=sender,
                attachments=[Attachment(name, data)],
            )
        ],
    )
    process(settings, plan)


def test_deadline_and_points_fall_on_business_days(settings, plan, cycle):
    assert cycle.deadline == date(2023, 3, 15)

    points = reminder_points(settings, plan, cycle, date(2023, 3, 30))

    assert points == [
        date(2023, 3, 8),  # 5 business days before
        date(2023, 3, 13),  # 2 before (Monday, over the weekend)
        date(2023, 3, 15),  # the day
        date(2023, 3, 20),  # 3 after
        date(2023, 3, 23),  # 6 after
        date(2023, 3, 28),  # then every 3 business days
    ]


def test_late_reminders_skip_holy_week(settings, plan):
    cycle = open_cycle_record(settings, plan, "2023-03", date(2023, 3, 15))
    assert cycle.deadline == date(2023, 3, 29)

    points = reminder_points(settings, plan, cycle, date(2023, 4, 30))

    assert date(2023, 4, 6) not in points and date(2023, 4, 7) not in points
    assert points[3:6] == [date(2023, 4, 3), date(2023, 4, 10), date(2023, 4, 13)]


def test_no_reminder_before_the_first_point(settings, plan, cycle):
    mingob = plan.institution("MINGOB")

    assert reminder_email(settings, plan, cycle, mingob, date(2023, 3, 7)) is None
    assert reminder_email(settings, plan, cycle, mingob, date(2023, 3, 8)) is not None


def test_reminder_before_the_deadline_goes_to_the_liaison_only(settings, plan, cycle):
    mail = reminder_email(settings, plan, cycle, plan.institution("MINGOB"), date(2023, 3, 13))

    assert mail is not None
    assert mail.key == "gt-pan5/2023-03/MINGOB/reminder/2"
    assert mail.to == [plan.institution("MINGOB").liaison.email] and mail.cc == []
    assert mail.subject == "[Gobierno Abierto] Recordatorio · marzo 2023 · MINGOB"
    assert "Aún no hemos recibido" in mail.text
    assert "miércoles 15 de marzo de 2023" in mail.text


def test_after_the_deadline_the_head_and_the_director_are_copied(settings, plan, cycle):
    mingob = plan.institution("MINGOB")

    mail = reminder_email(settings, plan, cycle, mingob, date(2023, 3, 20))

    assert mail is not None
    assert mail.cc == [mingob.head.email, plan.coordinator.director.email]
    assert mail.subject.startswith("[Gobierno Abierto] Plazo vencido")


def test_reminder_after_a_rejection_says_when_and_why(settings, plan, cycle):
    hand_in(settings, plan, cycle, "MINEDUC", careless=True)

    mail = reminder_email(settings, plan, cycle, plan.institution("MINEDUC"), date(2023, 3, 13))

    assert mail is not None
    assert "Aún no hemos recibido" not in mail.text
    assert "avances-MINEDUC-mal.xlsx" in mail.text
    assert "rechazado" in mail.text.lower()
    assert "debe ser 100" in mail.text


def test_reminders_stop_once_a_valid_file_is_accepted(settings, plan, cycle, smtp):
    hand_in(settings, plan, cycle, "MINEDUC", careless=True)
    hand_in(settings, plan, cycle, "MINGOB")
    waiting = {i.code for i in waiting_institutions(settings, plan, cycle.id)}
    assert "MINEDUC" in waiting and "MINGOB" not in waiting

    hand_in(settings, plan, cycle, "MINEDUC")

    waiting = {i.code for i in waiting_institutions(settings, plan, cycle.id)}
    assert waiting == {i.code for i in plan.reporting_institutions()} - {"MINEDUC", "MINGOB"}


def test_each_reminder_is_sent_once_however_often_remind_runs(settings, plan, cycle, smtp):
    def remind(day: date) -> dict[str, str]:
        mails = [
            reminder_email(settings, plan, cycle, i, day)
            for i in waiting_institutions(settings, plan, cycle.id)
        ]
        return send_all(settings, [m for m in mails if m is not None])

    first = remind(date(2023, 3, 8))
    same_day = remind(date(2023, 3, 8))
    next_day = remind(date(2023, 3, 9))
    second_point = remind(date(2023, 3, 13))

    waiting = len(plan.reporting_institutions())
    assert list(first.values()) == ["sent"] * waiting
    assert list(same_day.values()) == ["skipped"] * waiting
    assert list(next_day.values()) == ["skipped"] * waiting
    assert list(second_point.values()) == ["sent"] * waiting
    assert len(smtp.to(plan.institution("SESAN").liaison.email)) == 2
