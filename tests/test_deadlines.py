"""Deadlines in business days, Guatemala's holidays included."""

from __future__ import annotations

from datetime import date

from tasks.cycle.deadlines import add_business_days, business_days_between


def test_deadline_skips_holy_week_and_weekends():
    # Thursday 30 March 2023 + 5 business days: Fri 31, Mon 3, Tue 4, Wed 5 April, then
    # Maundy Thursday and Good Friday (6-7 April) and the weekend are skipped: Monday 10 April.
    assert add_business_days(date(2023, 3, 30), 5, "GT") == date(2023, 4, 10)


def test_business_days_between_counts_back_and_forth():
    assert business_days_between(date(2023, 4, 5), date(2023, 4, 10), "GT") == 1
    assert business_days_between(date(2023, 4, 10), date(2023, 4, 5), "GT") == -1


def test_ten_business_days_from_first_of_march():
    assert add_business_days(date(2023, 3, 1), 10, "GT") == date(2023, 3, 15)
