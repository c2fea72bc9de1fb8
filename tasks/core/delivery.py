"""Which file speaks for an institution in a cycle, and whether it delivered on time.

The rules, decided once (README, "Delivery, deadlines and the standing file"), from an
institution's files in a cycle, oldest first:

- **The standing file** is the institution's newest accepted file, unless a reviewer returned
  it: then the institution stands with no file and owes a new one. A rejected or unreadable file
  never counts, so it neither replaces nor revives anything. A file replaced by a newer accepted
  one stands no more, and returning the newer one does not bring it back.
- **Delivered** means having a standing file. The delivery's moment is the arrival of the first
  accepted file since the last return (a correction sent after the deadline does not make an
  on-time institution late; a file returned by review does not count as delivered).
- **On time** when that moment's local date is on or before the institution's deadline
  (``tasks.core.calendar``), **late** after it, **not delivered** without a standing file.
- **The publishable file** is the newest approved file since the last return: what a
  publication shows for the institution. A newer file awaiting review does not hide it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from tasks.core.calendar import business_days_late, local_date
from tasks.core.states import ACCEPTED, Delivery, Outcome, Review


@dataclass(frozen=True)
class FileFact:
    """What the rules need to know of one received file."""

    id: int
    version: int
    outcome: Outcome
    review: Review
    received_at: datetime
    """Naive UTC, as the ledger keeps it."""

    @property
    def accepted(self) -> bool:
        return self.outcome in ACCEPTED


def _since_last_return(files: Sequence[FileFact]) -> list[FileFact]:
    """The accepted files after the last returned one (all of them if none was returned)."""
    accepted = [f for f in files if f.accepted]
    returned = [i for i, f in enumerate(accepted) if f.review == Review.RETURNED]
    return accepted[returned[-1] + 1 :] if returned else accepted


def standing_file(files: Sequence[FileFact]) -> FileFact | None:
    """The file that speaks for the institution now, or None (``files`` oldest first)."""
    since = _since_last_return(files)
    return since[-1] if since else None


def publishable_file(files: Sequence[FileFact]) -> FileFact | None:
    """The newest approved file since the last return: what a publication shows."""
    approved = [f for f in _since_last_return(files) if f.review == Review.APPROVED]
    return approved[-1] if approved else None


def awaiting_review(files: Sequence[FileFact]) -> bool:
    """Whether the standing file waits for a reviewer's decision."""
    standing = standing_file(files)
    return standing is not None and standing.review == Review.PENDING


def superseded(file: FileFact, files: Sequence[FileFact]) -> bool:
    """An accepted file a newer accepted one replaced: it no longer counts or can be reviewed."""
    return file.accepted and any(f.accepted and f.version > file.version for f in files)


@dataclass(frozen=True)
class DeliveryVerdict:
    """An institution's delivery in a cycle, as every view shows it."""

    state: Delivery
    deadline: date
    """The institution's own: its extension, else the cycle's."""
    days_late: int
    """Business days past the deadline: at delivery, or as of today when not delivered."""
    delivered_at: datetime | None
    standing: FileFact | None


def delivery_of(
    files: Sequence[FileFact], deadline: date, timezone: str, country: str, today: date
) -> DeliveryVerdict:
    """The delivery rule (module docstring) for one institution's files, oldest first."""
    since = _since_last_return(files)
    if not since:
        late = business_days_late(deadline, today, country)
        return DeliveryVerdict(Delivery.NOT_DELIVERED, deadline, late, None, None)
    delivered_at = since[0].received_at
    late = business_days_late(deadline, local_date(delivered_at, timezone), country)
    state = Delivery.LATE if late else Delivery.ON_TIME
    return DeliveryVerdict(state, deadline, late, delivered_at, since[-1])
