"""What an operator asks for, checked once at the edge: one English sentence for each mistake.

``hitos cycle open 2023-3`` created a cycle ``2023-3`` and mailed every institution, while
``hitos consolidate 2023-3`` refused it with a traceback; ``--institution XYZ`` printed nothing
and exited 0. Every command and flow now checks cycle ids, cycles and institutions here and
turns a mistake into ``UserMistake``: the CLI prints its sentence and exits 2, no traceback.
Institution codes are matched without case (``mineduc`` is MINEDUC): codes are acronyms, and
a liaison's or operator's lower case never names another institution.

The ledger is imported where it is asked, not with this module: the CLI checks a cycle id's
format before anything heavy loads (SQLAlchemy and the ledger's models took 0.3–0.8 s here).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tasks.core.cycles import cycle_label, is_cycle_id
from tasks.core.refusals import UserMistake

if TYPE_CHECKING:
    from tasks.plans.plan import Institution, Plan
    from tasks.settings import Settings


def cycle_id(value: str) -> str:
    """A well-formed cycle id (``YYYY-MM``), or the sentence that says how to write one."""
    text = value.strip()
    if not is_cycle_id(text):
        raise UserMistake(
            f"{value!r} is not a cycle id: write the year and the month as YYYY-MM (e.g. 2023-03)"
        )
    return text


def plan_file(settings: Settings, value: str) -> Path:
    """The plan file ``--plan`` names: a file, or a plan id (``gt-pan6``: ``gt-pan6.yaml`` beside
    the ``HITOS_PLAN`` file); empty: ``HITOS_PLAN`` itself."""
    if not value.strip():
        return settings.plan
    given = Path(value.strip())
    if given.suffix in (".yaml", ".yml"):
        if not given.is_file():
            raise UserMistake(f"plan file {given} does not exist")
        return given
    found = settings.plan.parent / f"{given.name}.yaml"
    if not found.is_file():
        known = sorted(p.stem for p in settings.plan.parent.glob("*.yaml"))
        raise UserMistake(
            f"plan {value!r} is not in {settings.plan.parent} (plans: {', '.join(known)}): "
            "give its id or the path of its YAML file"
        )
    return found


def on_plan(settings: Settings, value: str) -> Settings:
    """The settings on the plan ``--plan`` names (unchanged when it names none)."""
    found = plan_file(settings, value)
    return settings if found == settings.plan else settings.on_plan(found)


def known_cycle(settings: Settings, value: str) -> str:
    """The id of a cycle of the settings' plan that exists in the ledger."""
    from sqlalchemy import select

    from tasks.storage.ledger import Cycle, session

    wanted = cycle_id(value)
    plan_id = settings.plan_id
    with session(settings.database) as db:
        known = list(
            db.scalars(select(Cycle.id).where(Cycle.plan_id == plan_id).order_by(Cycle.id))
        )
    if wanted not in known:
        listed = f" (its cycles: {', '.join(known)})" if known else " (no cycle is open yet)"
        raise UserMistake(
            f"cycle {cycle_label(plan_id, wanted)} does not exist{listed}: open it with "
            f"`hitos cycle open {wanted} --plan {plan_id}`"
        )
    return wanted


def institution_code(plan: Plan, value: str, among: Sequence[Institution] | None = None) -> str:
    """The plan's code of a reporting institution (or of one ``among`` these), matched without
    case or spaces."""
    listed = plan.reporting_institutions() if among is None else among
    codes = {i.code.casefold(): i.code for i in listed}
    found = codes.get(value.strip().casefold())
    if found is None:
        raise UserMistake(
            f"institution {value!r} is not one of plan {plan.id}'s: use one of "
            + ", ".join(sorted(codes.values()))
        )
    return found
