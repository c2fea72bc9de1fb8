"""Business days and deadlines: the plan's calendar, weekends and public holidays skipped.

The rules, decided once (README, "Delivery, deadlines and the standing file"):

- A cycle's deadline is ``deadline_business_days`` business days after the day its requests go
  out (the day it is opened; a scheduled opening is the first business day of March or August).
- An institution's deadline is its extension's date when the director granted one, else the
  cycle's. A deadline day counts whole, until midnight in the plan's time zone.
- Lateness is counted in business days: a file that arrives on a day that is not a business day
  counts as received on the next business day (a Saturday file for a Friday deadline is one
  business day late).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays


@cache
def public_holidays(country: str, year: int) -> frozenset[date]:
    """The country's public holidays in a year (Holy Week included for Guatemala)."""
    return frozenset(holidays.country_holidays(country, years=year).keys())


def is_business_day(day: date, country: str) -> bool:
    return day.weekday() < 5 and day not in public_holidays(country, day.year)


def add_business_days(start: date, days: int, country: str) -> date:
    """The date ``days`` business days after (or before, if negative) ``start``."""
    step = 1 if days >= 0 else -1
    day, left = start, abs(days)
    while left:
        day += timedelta(days=step)
        if is_business_day(day, country):
            left -= 1
    return day


@cache
def business_days_between(start: date, end: date, country: str) -> int:
    """Business days from ``start`` to ``end`` (negative when ``end`` is earlier).

    Kept per pair of days: a dashboard of 1,000 institutions asks for the same few pairs."""
    if end < start:
        return -business_days_between(end, start, country)
    return sum(
        1
        for offset in range(1, (end - start).days + 1)
        if is_business_day(start + timedelta(days=offset), country)
    )


def next_business_day(day: date, country: str) -> date:
    """The day itself when it is a business day, else the next one."""
    return day if is_business_day(day, country) else add_business_days(day, 1, country)


def local_date(moment: datetime, timezone: str) -> date:
    """The calendar date, in the plan's time zone, of a naive UTC time from the ledger."""
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).date()


def local_today(timezone: str) -> date:
    """Today in the plan's time zone (a cycle in Guatemala does not change day at UTC midnight)."""
    return datetime.now(ZoneInfo(timezone)).date()


def cycle_deadline(opened_on: date, business_days: int, country: str) -> date:
    """A cycle's deadline: ``business_days`` business days after the day its requests go out."""
    return add_business_days(opened_on, business_days, country)


def business_days_late(deadline: date, day: date, country: str) -> int:
    """Business days ``day`` is past ``deadline`` (0 on or before it); a day that is not a
    business day counts as the next business day."""
    if day <= deadline:
        return 0
    return business_days_between(deadline, next_business_day(day, country), country)


def first_business_day(year: int, month: int, country: str) -> date:
    """The month's first business day: where a cycle opens (1 March 2026 is a Sunday: the 2nd)."""
    return next_business_day(date(year, month, 1), country)
