"""What intake asks the ledger about every file, read once per batch, not once per file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from tasks.core import contract
from tasks.intake.senders import Senders
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import Cycle, Decision, MilestoneValue, Submission, session
from tasks.storage.queries import newest_open_cycle, standing_values

ASSIGN = "assign"
"""The audit trail's action for an operator saying which institution and cycle a file is for."""


@dataclass
class Lookups:
    """The open cycles, deadlines, threads, known senders and operators' assignments of a batch.

    At 1,000 files, a session per file for the open cycle, the cycle's deadline and last
    cycle's progress cost more than reading the files. Every answer is per plan: two plans may
    both have 2023-08 open.
    """

    plans: dict[str, Plan]
    open_cycles: dict[str, str]
    deadlines: dict[tuple[str, str], date]
    threads: dict[str, tuple[str, str, str]]
    senders: Senders
    assigned: set[int]
    database: str
    _previous: dict[tuple[str, str], dict[str, dict[str, MilestoneValue]]] = field(
        default_factory=dict
    )

    @classmethod
    def read(cls, settings: Settings, plans: dict[str, Plan], subs: list[Submission]) -> Lookups:
        with session(settings.database) as db:
            deadlines = {(c.plan_id, c.id): c.deadline for c in db.scalars(select(Cycle))}
            open_cycles = {
                plan_id: cycle.id
                for plan_id in plans
                if (cycle := newest_open_cycle(db, plan_id)) is not None
            }
            senders = Senders.read(db, plans.values(), {s.source_ref for s in subs})
            assigned = set(
                db.scalars(
                    select(Decision.submission_id).where(
                        Decision.action == ASSIGN,
                        Decision.submission_id.in_([s.id for s in subs]),
                    )
                )
            )
        return cls(
            plans,
            open_cycles,
            deadlines,
            requests_answered(senders),
            senders,
            {i for i in assigned if i is not None},
            settings.database,
        )

    def previous_cycle(self, plan_id: str, cycle_id: str) -> str:
        """The plan's cycle before this one, or ``""``."""
        return max((c for p, c in self.deadlines if p == plan_id and c < cycle_id), default="")

    def previous_values(
        self, plan_id: str, cycle_id: str, institution: str
    ) -> dict[str, dict[str, object]]:
        """Milestone → the institution's values in its standing file of the plan's previous
        cycle."""
        before = self.previous_cycle(plan_id, cycle_id)
        if not before:
            return {}
        if (plan_id, before) not in self._previous:
            with session(self.database) as db:
                self._previous[plan_id, before] = standing_values(db, plan_id, before)
        reported = self._previous[plan_id, before].get(institution, {})
        return {
            code: {key: getattr(value, key) for key in contract.VALUE_COLUMNS}
            for code, value in reported.items()
        }


def requests_answered(senders: Senders) -> dict[str, tuple[str, str, str]]:
    """Message-ID of a received message → (plan, cycle, institution) of the newest Hitos email
    of a cycle in its thread: a liaison of two plans who replies to one plan's request is
    answering that plan."""
    threads = {}
    for message_id, answered in senders.threads.items():
        of_cycles = [(p, c, i) for p, c, i in answered if p and c]
        if of_cycles:
            plan_id, cycle_id, institution = of_cycles[0]
            threads[message_id] = (str(plan_id), str(cycle_id), institution or "")
    return threads
