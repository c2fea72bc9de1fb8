"""The states of Hitos' things, as enums whose values are what the ledger stores.

Each state has its label in every language under ``states.<kind>.<value>`` in the catalogues, so
the console, the CLI, the emails, the report and the board call one thing by one name.
"""

from __future__ import annotations

import re
from enum import StrEnum

from tasks.catalogues import text


class _Labelled(StrEnum):
    """A state whose label is ``states.<its class in snake case>.<value>`` in the catalogues."""

    def label(self, language: str) -> str:
        kind = re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__).lower()
        return text(language, f"states.{kind}.{self.value}")


class Outcome(_Labelled):
    """What intake decided about a received file."""

    RECEIVED = "received"
    """Stored, not yet read and validated."""
    ACCEPTED = "accepted"
    ACCEPTED_WITH_WARNINGS = "accepted_with_warnings"
    REJECTED = "rejected"
    UNREADABLE = "unreadable"
    QUARANTINED = "quarantined"
    """Nobody could tell whose file it is, or it came from a stranger: an operator decides."""

    @property
    def accepted(self) -> bool:
        return self in ACCEPTED


ACCEPTED = (Outcome.ACCEPTED, Outcome.ACCEPTED_WITH_WARNINGS)
"""Outcomes of a file the rules accept: it may speak for its institution."""


class Review(_Labelled):
    """A person's decision on an accepted file."""

    PENDING = "pending"
    APPROVED = "approved"
    """It may feed a publication."""
    RETURNED = "returned"
    """Sent back with a comment: the institution owes a new file."""


class Delivery(_Labelled):
    """Whether an institution delivered in a cycle (``tasks.core.delivery``)."""

    ON_TIME = "on-time"
    LATE = "late"
    NOT_DELIVERED = "not-delivered"


class EmailStatus(_Labelled):
    """Where one email Hitos sends stands in the mail ledger."""

    SENDING = "sending"
    """Claimed by a run; in doubt if that run died (``claim_timeout_minutes``)."""
    SENT = "sent"
    REFUSED = "refused"
    """The SMTP server refused it for good (5xx) or it could not be built."""
    FAILED = "failed"
    """Not delivered for now (server unreachable, 4xx): the next run tries again."""
    BOUNCED = "bounced"
    """Accepted, then a bounce came back."""


SETTLED = (EmailStatus.SENT, EmailStatus.REFUSED)
"""An email in one of these states is never sent again by the step that owes it."""
UNDELIVERED = (EmailStatus.REFUSED, EmailStatus.FAILED, EmailStatus.BOUNCED)
"""An email that did not reach its recipient: ``hitos status`` shows it, with why."""


class CycleState(_Labelled):
    OPEN = "open"
    """Reminded; files taken in."""
    CONSOLIDATED = "consolidated"
    """A version is published; reminders stop until a return makes an institution owe a file."""
    CLOSED = "closed"
    """No more reminders; files are still taken in and it can still be consolidated."""


REPORTED = (CycleState.OPEN, CycleState.CONSOLIDATED)
"""States a cycle is still reported in (and reminded, while open)."""


class ReportState(_Labelled):
    DRAFT = "draft"
    """Made by consolidation; only the director sees it."""
    PUBLISHED = "published"
    """What the public sees now."""
    SUPERSEDED = "superseded"
    """Published once, then replaced by a later version (still offered for download)."""
