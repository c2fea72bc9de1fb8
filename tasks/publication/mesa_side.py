"""What the public board shows of the Mesa Técnica: civil society's assessments beside the
self-reports, the agreements with their state, the sessions and their approved communiqués, and
the plan changes beside each milestone.

Read through the named queries (``tasks.storage.queries``) and the plan, never decided here: the
Mesa's room (``tasks.mesa``) decides and records. Everything is plain values with names and codes:
no representative's or account's address ever leaves the ledger (``recorded_by`` stays behind).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pandas as pd
from markupsafe import Markup

from tasks.core.mesa import DISAGREE
from tasks.plans.plan import Plan
from tasks.plans.versions import DATES
from tasks.settings import Settings
from tasks.storage.ledger import session
from tasks.storage.queries import (
    agreements_of,
    approved_communiques,
    held_sessions,
    plan_changes,
    standing_assessments,
)

ASSESSMENT_COLUMNS = [
    "ciclo",
    "codigo_hito",
    "organizacion",
    "nombre_organizacion",
    "valoracion",
    "nota",
    "evidencia_url",
    "fecha",
]
"""The open data's ``valoraciones`` resource (``tasks.publication.datapackage``)."""


@dataclass
class MesaOnBoard:
    """The Mesa's public side, for the board's pages and open data."""

    voices: dict[str, list[SimpleNamespace]]
    """Milestone → civil society's standing assessments in the latest published cycle."""
    disputed: set[str]
    agreements: list[SimpleNamespace]
    sessions: list[SimpleNamespace]
    communiques: dict[str, Markup] = field(default_factory=dict)
    """Cycle → its communiqué's text as the director approved it."""
    changes: dict[str, list[SimpleNamespace]] = field(default_factory=dict)
    version: int = 1
    assessments: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Every standing assessment of the published cycles, as the open data carry it."""


def on_board(
    settings: Settings, plan: Plan, cycle_ids: list[str], latest: str | None
) -> MesaOnBoard:
    """The Mesa's public side for the published cycles (``latest``: the one the pages show)."""
    with session(settings.database) as db:
        standing = standing_assessments(db, plan.id, cycle_ids)
        held = held_sessions(db, plan.id)
        agreed = agreements_of(db, plan.id)
        approved = approved_communiques(db, plan.id)
        changes = plan_changes(db, plan.id)
    names = {m.code: m.name for m in plan.mesa.members}
    current = [row for row in standing if row.cycle_id == latest]
    voices: dict[str, list[SimpleNamespace]] = {}
    for row in current:
        voices.setdefault(row.milestone, []).append(_assessment(row, names))
    history: dict[str, list[SimpleNamespace]] = {}
    for c in changes:
        history.setdefault(c.milestone, []).append(
            SimpleNamespace(
                version=c.version,
                kind=c.kind,
                cycle_id=c.session_cycle,
                reason=c.reason,
                before=_before(c.kind, c.before),
            )
        )
    return MesaOnBoard(
        voices=voices,
        disputed={row.milestone for row in current if row.verdict == DISAGREE},
        agreements=[
            SimpleNamespace(
                ref=f"{a.cycle_id}/{a.number}",
                cycle_id=a.cycle_id,
                text=a.text,
                owner=a.owner,
                owner_name=_name(plan, a.owner),
                due=a.due,
                milestone=a.milestone,
                state=a.state,
                note=a.note,
            )
            for a in agreed
        ],
        sessions=[
            SimpleNamespace(cycle_id=s.cycle_id, day=s.day, starts=s.starts, place=s.place)
            for s in held
        ],
        # Rendered by tasks.mesa.communique from our own templates, values escaped there.
        communiques={c.cycle_id: Markup(c.published_html) for c in approved if c.published_html},
        changes=history,
        version=changes[-1].version if changes else 1,
        assessments=pd.DataFrame(
            [
                {
                    "ciclo": row.cycle_id,
                    "codigo_hito": row.milestone,
                    "organizacion": row.organisation,
                    "nombre_organizacion": names.get(row.organisation, row.organisation),
                    "valoracion": row.verdict,
                    "nota": row.note,
                    "evidencia_url": row.evidence_url,
                    "fecha": row.recorded_at.date().isoformat(),
                }
                for row in standing
            ],
            columns=ASSESSMENT_COLUMNS,
        ),
    )


def _name(plan: Plan, code: str) -> str:
    try:
        return plan.name_of(code)
    except KeyError:  # an owner the plan no longer names: its code
        return code


def _assessment(row: Any, names: dict[str, str]) -> SimpleNamespace:
    return SimpleNamespace(
        organisation=row.organisation,
        name=names.get(row.organisation, row.organisation),
        verdict=row.verdict,
        note=row.note,
        evidence=row.evidence_url,
    )


def _before(kind: str, before: dict[str, str]) -> list[str]:
    """What a change replaced: the ISO dates (pages show them the language's way), or nothing
    for wording."""
    if kind == DATES:
        return [before.get("start", ""), before.get("end", "")]
    return []
