"""Where each evidence link of a cycle stands: what ``hitos evidence`` prints."""

from __future__ import annotations

from typing import Any

from tasks.evidence.archive import local_copy
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import session
from tasks.storage.queries import evidence_links, require_cycle, standing_files


def cycle_links(
    settings: Settings, plan: Plan, cycle_id: str, institution: str | None = None
) -> list[dict[str, Any]]:
    """Each link of the files that speak for the cycle's institutions now (of one institution
    when given): its newest check (``checked_at`` in UTC) and newest archived copy, with the
    path of a local copy."""
    with session(settings.database) as db:
        require_cycle(db, plan.id, cycle_id)
        files = standing_files(db, plan.id, cycle_id)
        ids = [file.id for code, file in files.items() if institution in (None, code)]
        rows = []
        for link in evidence_links(db, ids):
            state = link.state
            copy = local_copy(settings, db, state) if state is not None else None
            rows.append(
                {
                    "institution": link.institution,
                    "milestone": link.milestone,
                    "submission": link.submission_id,
                    "url": link.url,
                    "reachable": state.reachable if state else None,
                    "status": state.status if state else None,
                    "problem": state.problem if state else "",
                    "checked_at": state.checked_at.isoformat(timespec="seconds") if state else "",
                    "sha256": state.sha256 if state else "",
                    "archived_at": (
                        state.archived_at.isoformat(timespec="seconds")
                        if state and state.archived_at
                        else ""
                    ),
                    "copy": str(copy) if copy else "",
                }
            )
        return rows
