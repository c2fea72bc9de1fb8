"""The cycle dashboard's rows: computed once per change of the ledger, then filtered and paged.

At 1,000 institutions, building the rows (``cycle_status``, ``review_list``, ``state_of``) costs
more than 100 ms and rendering all of them 500 KB of HTML; twenty people asking for the dashboard
queued behind that for seconds (BENCHMARKS.md, "The console under load"). So each worker keeps the
rows of a cycle under a *digest*: every ledger value the rows are computed from, read as plain
tuples in one short transaction (a few milliseconds), hashed. Any write that could change a row,
from this worker, another worker or a flow in another process, changes the digest, and the next
request recomputes: a decision shows at once. A request then renders one page of ``PAGE_SIZE``
rows, filtered by state or by a search on the institution's code and name.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import String, and_, cast, func, select

from tasks.core.calendar import local_today
from tasks.core.states import Delivery, Review
from tasks.cycle.status import cycle_status
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import Cycle, Email, Extension, Report, Submission, of_cycle, session
from tasks.storage.queries import PublicationState, publication_state, require_cycle

PAGE_SIZE = 50
DELIVERY = tuple(Delivery)
REVIEW = tuple(Review)
FILTERS = ("", *DELIVERY, *REVIEW)
"""What the dashboard filters by: every row, a delivery state, or a review state."""


@dataclass(frozen=True)
class CycleRows:
    """Everything the dashboard shows of a cycle, as of one digest of the ledger."""

    rows: list[dict[str, Any]]
    pending: int
    publication: PublicationState
    counts: dict[str, int] = field(default_factory=dict)
    """Rows per filter (``""``: all), for the filter's choices."""


@dataclass(frozen=True)
class Page:
    """One page of the dashboard's rows."""

    rows: list[dict[str, Any]]
    number: int
    pages: int
    matching: int
    state: str
    search: str


class DashboardRows:
    """The rows of each cycle, recomputed only when the ledger's digest of them changes."""

    def __init__(self, settings: Settings, plan: Plan) -> None:
        self.settings, self.plan = settings, plan
        self._kept: dict[str, tuple[int, CycleRows]] = {}
        self._computing = threading.Lock()
        self._search: dict[str, str] = {}

    def of(self, cycle_id: str, today: date | None = None) -> CycleRows:
        """The cycle's rows as the ledger stands now."""
        today = today or local_today(self.plan.timezone)
        marker = digest(self.settings, cycle_id, today, self.plan.id)
        kept = self._kept.get(cycle_id)
        if kept is not None and kept[0] == marker:
            return kept[1]
        with self._computing:  # twenty requests after a write: one computes, the rest wait
            kept = self._kept.get(cycle_id)
            if kept is not None and kept[0] == marker:
                return kept[1]
            rows = self._compute(cycle_id, today)
            self._kept[cycle_id] = (marker, rows)
            return rows

    def warm(self, cycle_id: str) -> None:
        """Compute the cycle's rows before the first request asks: a worker that has just
        started would otherwise make the first twenty people wait behind one cold computation."""
        self.of(cycle_id)

    def _compute(self, cycle_id: str, today: date) -> CycleRows:
        rows = []
        for status in cycle_status(self.settings, self.plan, cycle_id, today):
            row = status.as_dict()
            row["name"] = self.plan.institution(status.institution).name
            row["search"] = self._searchable(status.institution, row["name"])
            rows.append(row)
        counts = {state: sum(matches(row, state) for row in rows) for state in FILTERS}
        return CycleRows(
            rows=rows,
            pending=sum(row["awaiting_review"] for row in rows),
            publication=self._publication(cycle_id, today),
            counts=counts,
        )

    def _publication(self, cycle_id: str, today: date) -> PublicationState:
        with session(self.settings.database) as db:
            cycle = require_cycle(db, self.plan.id, cycle_id)
            return publication_state(db, self.plan, cycle, today)

    def _searchable(self, code: str, name: str) -> str:
        """An institution's code and name as the search compares them, folded once per worker."""
        if code not in self._search:
            self._search[code] = folded(f"{code} {name}")
        return self._search[code]


def digest(settings: Settings, cycle_id: str, today: date, plan_id: str = "") -> int:
    """A hash of every ledger value the plan's cycle's rows and publication state are computed
    from, and of the day (lateness counts business days until today).

    The database folds each table's values into one string (``group_concat`` in SQLite,
    ``string_agg`` in PostgreSQL): one row per table crosses over, not one per institution. Rows
    may come in another order after a write; that only costs a recomputation.
    """
    plan_id = plan_id or settings.plan_id
    tables = (
        (and_(Cycle.plan_id == plan_id, Cycle.id == cycle_id), (Cycle.deadline, Cycle.state)),
        (  # earlier cycles' too: their approved files stand in a report for milestones
            and_(Submission.plan_id == plan_id, Submission.cycle_id <= cycle_id),
            (
                Submission.id,
                Submission.institution,
                Submission.version,
                Submission.outcome,
                Submission.review,
                Submission.received_at,
            ),
        ),
        (
            of_cycle(Email, plan_id, cycle_id),
            (Email.key, Email.institution, Email.kind, Email.status, Email.error),
        ),
        (
            of_cycle(Extension, plan_id, cycle_id),
            (Extension.institution, Extension.until, Extension.reason),
        ),
        (
            of_cycle(Report, plan_id, cycle_id),
            (Report.id, Report.state, Report.sources, Report.published_at, Report.outdated_at),
        ),
    )
    folds = [
        select(func.count().cast(String) + ":" + func.coalesce(aggregate, ""))
        .where(belongs)
        .scalar_subquery()
        for belongs, columns in tables
        for aggregate in [func.aggregate_strings(_joined(columns), "\x1e")]
    ]
    with session(settings.database) as db:  # one statement, one round trip
        folded_tables = tuple(db.execute(select(*folds)).one())
    return hash((today, folded_tables))


def _joined(columns: tuple[Any, ...]) -> Any:
    """The columns of a row as one string, NULL as empty, fields apart (``\x1f``)."""
    parts = [func.coalesce(cast(column, String), "") for column in columns]
    joined: Any = parts[0]
    for part in parts[1:]:
        joined = joined + "\x1f" + part
    return joined


def folded(words: str) -> str:
    """Lower case without accents: «Educación» is found by «educacion»."""
    decomposed = unicodedata.normalize("NFKD", words.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def matches(row: dict[str, Any], state: str) -> bool:
    if not state:
        return True
    return row["delivery"] == state if state in DELIVERY else row["review"] == state


def page_of(cycle: CycleRows, state: str, search: str, number: int) -> Page:
    """The rows of one page, filtered by state and by words in the institution's code or name."""
    state = state if state in FILTERS else ""
    words = folded(search).split()
    found = [
        row
        for row in cycle.rows
        if matches(row, state) and all(word in row["search"] for word in words)
    ]
    pages = max(1, -(-len(found) // PAGE_SIZE))
    number = min(max(1, number), pages)
    start = (number - 1) * PAGE_SIZE
    return Page(found[start : start + PAGE_SIZE], number, pages, len(found), state, search)
