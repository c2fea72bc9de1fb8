"""The standing-file and delivery rules (``tasks.core.delivery``), on plain facts: one
institution's files in a cycle, oldest first, as the ledger would hold them."""

from __future__ import annotations

from datetime import date, datetime

from tasks.core.delivery import (
    FileFact,
    awaiting_review,
    delivery_of,
    publishable_file,
    standing_file,
    superseded,
)
from tasks.core.states import Delivery, Outcome, Review

FRIDAY = date(2023, 3, 24)
"""The deadline of these examples."""
TZ, COUNTRY = "America/Guatemala", "GT"


def file(
    version: int,
    outcome: Outcome = Outcome.ACCEPTED,
    review: Review = Review.PENDING,
    at: datetime = datetime(2023, 3, 20, 16, 0),
) -> FileFact:
    return FileFact(version, version, outcome, review, at)


def delivery(*files: FileFact, today: date = FRIDAY) -> tuple[Delivery, int]:
    verdict = delivery_of(files, FRIDAY, TZ, COUNTRY, today)
    return verdict.state, verdict.days_late


def test_the_newest_accepted_file_stands_and_a_rejected_one_never_replaces_it():
    approved = file(1, review=Review.APPROVED)
    rejected = file(2, Outcome.REJECTED)
    assert standing_file([approved, rejected]) == approved
    assert publishable_file([approved, rejected]) == approved


def test_returning_the_newer_file_leaves_the_institution_without_one():
    # MINGOB: an approved file, then a newer one the reviewer returned. The liaison is told the
    # institution owes a file; every view must say "not delivered", not fall back to the older.
    older = file(1, review=Review.APPROVED)
    newer = file(2, review=Review.RETURNED)
    assert standing_file([older, newer]) is None
    assert publishable_file([older, newer]) is None
    assert delivery(older, newer)[0] == Delivery.NOT_DELIVERED
    assert superseded(older, [older, newer])


def test_a_file_awaiting_review_stands_but_the_approved_one_is_what_is_published():
    approved = file(1, review=Review.APPROVED)
    pending = file(2)
    assert standing_file([approved, pending]) == pending
    assert awaiting_review([approved, pending])
    assert publishable_file([approved, pending]) == approved


def test_a_file_that_arrives_on_saturday_for_a_friday_deadline_is_late():
    # 00:00 on Saturday in Guatemala is 06:00 UTC: one business day late (counted as Monday).
    saturday = file(1, at=datetime(2023, 3, 25, 6, 0))
    assert delivery(saturday) == (Delivery.LATE, 1)
    last_minute = file(1, at=datetime(2023, 3, 25, 5, 59))  # 23:59 on Friday, local time
    assert delivery(last_minute) == (Delivery.ON_TIME, 0)


def test_a_correction_sent_after_the_deadline_does_not_make_an_on_time_delivery_late():
    on_time = file(1, review=Review.APPROVED)
    correction = file(2, at=datetime(2023, 3, 29, 15, 0))
    assert delivery(on_time, correction) == (Delivery.ON_TIME, 0)


def test_after_a_return_the_delivery_counts_from_the_next_accepted_file():
    returned = file(1, review=Review.RETURNED)
    rejected = file(2, Outcome.REJECTED, at=datetime(2023, 3, 23, 15, 0))
    again = file(3, at=datetime(2023, 3, 28, 15, 0))  # Tuesday: two business days late
    assert delivery(returned, rejected, again) == (Delivery.LATE, 2)


def test_nothing_delivered_is_late_by_the_business_days_since_the_deadline():
    assert delivery() == (Delivery.NOT_DELIVERED, 0)
    assert delivery(today=date(2023, 3, 25)) == (Delivery.NOT_DELIVERED, 1)
    assert delivery(file(1, Outcome.UNREADABLE), today=date(2023, 3, 29)) == (
        Delivery.NOT_DELIVERED,
        3,
    )
