"""Deadlines in business days from the day requests go out, Guatemala's holidays included."""

from __future__ import annotations

from datetime import date

from tasks.core.calendar import (
    add_business_days,
    business_days_between,
    business_days_late,
    cycle_deadline,
    first_business_day,
)
from tasks.cycle.requests import planned_cycle


def test_deadline_skips_holy_week_and_weekends():
    # Thursday 30 March 2023 + 5 business days: Fri 31, Mon 3, Tue 4, Wed 5 April, then
    # Maundy Thursday and Good Friday (6-7 April) and the weekend are skipped: Monday 10 April.
    assert add_business_days(date(2023, 3, 30), 5, "GT") == date(2023, 4, 10)


def test_business_days_between_counts_back_and_forth():
    assert business_days_between(date(2023, 4, 5), date(2023, 4, 10), "GT") == 1
    assert business_days_between(date(2023, 4, 10), date(2023, 4, 5), "GT") == -1


def test_ten_business_days_from_first_of_march():
    assert add_business_days(date(2023, 3, 1), 10, "GT") == date(2023, 3, 15)


def test_a_cycle_is_due_ten_business_days_after_its_requests_go_out():
    # 2026-03 opens on Monday 2 March (the 1st is a Sunday): ten business days from the day the
    # requests go out end on Monday 16 March, not on Friday 13 (nine days, counted from the 1st).
    opened = first_business_day(2026, 3, "GT")
    assert opened == date(2026, 3, 2)
    assert cycle_deadline(opened, 10, "GT") == date(2026, 3, 16)


def test_a_cycle_opened_by_hand_late_in_the_month_gets_its_whole_time(settings, plan):
    cycle = planned_cycle(settings, plan, "2026-03", opened_on=date(2026, 3, 25))
    assert cycle.opened_on == date(2026, 3, 25)
    assert cycle.deadline == date(2026, 4, 10)  # Holy Week (2–3 April) and weekends skipped
    assert business_days_between(cycle.opened_on, cycle.deadline, "GT") == 10


def test_a_day_that_is_not_a_business_day_counts_as_the_next_one():
    friday = date(2023, 3, 24)
    assert business_days_late(friday, friday, "GT") == 0
    assert business_days_late(friday, date(2023, 3, 25), "GT") == 1  # Saturday: as Monday
    assert business_days_late(friday, date(2023, 3, 27), "GT") == 1  # Monday
    assert business_days_late(friday, date(2023, 3, 28), "GT") == 2
    # An extension to a Saturday: Sunday's file counts as Monday's, one business day late.
    assert business_days_late(date(2023, 3, 25), date(2023, 3, 26), "GT") == 1
