"""Business-day arithmetic for deadlines and reminders, skipping weekends and public holidays."""

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


def local_date(moment: datetime, timezone: str) -> date:
    """The calendar date, in the plan's time zone, of a naive UTC time from the ledger."""
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).date()


def cycle_opening(cycle_id: str) -> date:
    """The first day of a cycle's month: ``2023-03`` opens on 1 March 2023."""
    year, month = cycle_id.split("-")
    return date(int(year), int(month), 1)


def first_business_day(year: int, month: int, country: str) -> date:
    """The month's first business day: where a cycle opens (1 March 2026 is a Sunday: the 2nd)."""
    day = date(year, month, 1)
    return day if is_business_day(day, country) else add_business_days(day, 1, country)
