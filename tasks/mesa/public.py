"""What the public board shows of the Mesa: civil society's assessments beside the
self-reports, the agreements with their state, the sessions and their approved communiqués, and
the plan changes beside each milestone.

Everything here is plain values with names and codes: no representative's or account's address
ever leaves the ledger (``recorded_by`` stays behind).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pandas as pd

from tasks.mesa import assessments as voice
from tasks.mesa.agreements import agreements
from tasks.mesa.members import owner_name
from tasks.mesa.plan_changes import history, version_in_force
from tasks.mesa.sessions import SCHEDULED
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage.ledger import MesaSession, session

if TYPE_CHECKING:
    from tasks.mesa.communique import Communique

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
    communiques: dict[str, Communique] = field(default_factory=dict)
    """Cycle → its approved communiqué."""
    changes: dict[str, list[SimpleNamespace]] = field(default_factory=dict)
    version: int = 1
    assessments: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Every standing assessment of the published cycles, as the open data carry it."""


def on_board(
    settings: Settings, plan: Plan, cycle_ids: list[str], latest: str | None
) -> MesaOnBoard:
    """The Mesa's public side for the published cycles (``latest``: the one the pages show)."""
    from tasks.mesa.communique import approved_cycles, draft

    with session(settings.database) as db:
        standing = voice.current(db, plan.id, cycle_ids)
        held = list(
            db.query(MesaSession)
            .filter(MesaSession.plan_id == plan.id, MesaSession.state == SCHEDULED)
            .order_by(MesaSession.cycle_id)
        )
    names = {m.code: m.name for m in plan.mesa.members}
    current = [row for row in standing if row.cycle_id == latest]
    voices = {
        code: [_assessment(row, names) for row in rows]
        for code, rows in voice.by_milestone(current).items()
    }
    approved = set(approved_cycles(settings, plan.id))
    return MesaOnBoard(
        voices=voices,
        disputed=voice.disputed(current),
        agreements=[
            SimpleNamespace(
                ref=f"{a.cycle_id}/{a.number}",
                cycle_id=a.cycle_id,
                text=a.text,
                owner=a.owner,
                owner_name=owner_name(plan, a.owner),
                due=a.due,
                milestone=a.milestone,
                state=a.state,
                note=a.note,
            )
            for a in agreements(settings, plan.id)
        ],
        sessions=[
            SimpleNamespace(cycle_id=s.cycle_id, day=s.day, starts=s.starts, place=s.place)
            for s in held
        ],
        communiques={c: draft(settings, plan, c) for c in sorted(approved)},
        changes={
            code: [
                SimpleNamespace(
                    version=c.version,
                    kind=c.kind,
                    cycle_id=c.session_cycle,
                    reason=c.reason,
                    before=_before(c.kind, c.before),
                )
                for c in rows
            ]
            for code, rows in history(settings, plan.id).items()
        },
        version=version_in_force(settings, plan.id),
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


def _assessment(row: Any, names: dict[str, str]) -> SimpleNamespace:
    return SimpleNamespace(
        organisation=row.organisation,
        name=names.get(row.organisation, row.organisation),
        verdict=row.verdict,
        note=row.note,
        evidence=row.evidence_url,
    )


def _before(kind: str, before: dict[str, str]) -> str:
    """What a change replaced, in a few words: the dates, or nothing for wording."""
    if kind == "dates":
        return f"{before.get('start', '')} – {before.get('end', '')}"
    return ""
