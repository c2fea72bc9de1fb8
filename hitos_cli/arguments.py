"""What an operator gives the commands, checked the same way by every one of them.

A cycle id's format is checked while the arguments are read (``CycleArg``, ``CycleOption``),
before a command imports anything heavy: refusing ``2023-3`` took 4–19 s when Prefect, pandas
and Great Expectations loaded first. Then, in the command, the plan (``workspace``), the cycle's
existence in it (``on_cycle``; every command but ``cycle open`` and ``demo``), institutions
(``institution``) and dates (``day``). Each mistake is a ``UserMistake``: one sentence, exit 2
(``hitos_cli.errors``). Nothing heavy is imported at module level here or in any command module.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from tasks.plans.plan import Plan
    from tasks.settings import Settings


def well_formed_cycle(value: str) -> str:
    """A cycle id as ``YYYY-MM`` (empty stays empty: an optional cycle not given)."""
    if not value:
        return value
    from tasks.checks.boundaries import cycle_id

    return cycle_id(value)


CycleArg = Annotated[
    str, typer.Argument(help="Cycle id, YYYY-MM (e.g. 2023-03).", callback=well_formed_cycle)
]
PlanOption = Annotated[
    str,
    typer.Option(
        "--plan",
        help="Plan id (its YAML beside HITOS_PLAN, e.g. gt-pan6) or plan file; "
        "default: HITOS_PLAN's plan.",
    ),
]
ByOption = Annotated[
    str, typer.Option("--by", help="Who decides, for the audit trail (default: your login).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")]


def cycle_option(help: str) -> Any:
    """An optional ``--cycle``-like option, its format checked as ``CycleArg``'s."""
    return typer.Option(help=help, callback=well_formed_cycle)


def quiet_prefect(settings: Settings) -> None:
    """Keep Prefect's state in the workspace and its telemetry off (offline machines)."""
    import os

    os.environ.setdefault("PREFECT_HOME", str((settings.home / "prefect").resolve()))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # The embedded server's services log shutdown races (events still in flight when a short
    # command exits) as errors with tracebacks; flow and task failures still reach the user.
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")


def workspace(plan: str = "") -> tuple[Settings, Plan]:
    """The settings on the plan ``--plan`` names (default ``HITOS_PLAN``), with Prefect pointed
    at the workspace, and that plan with the contacts in force today."""
    from tasks.checks.boundaries import on_plan
    from tasks.people.contacts import with_current_contacts
    from tasks.plans.plan import load_plan
    from tasks.settings import Settings

    settings = on_plan(Settings(), plan)
    settings.home.mkdir(parents=True, exist_ok=True)
    quiet_prefect(settings)
    return settings, with_current_contacts(settings, load_plan(settings.plan))


def known(settings: Settings, cycle: str) -> str:
    """A cycle of the settings' plan that exists (empty stays empty: none was given)."""
    if not cycle:
        return cycle
    from tasks.checks.boundaries import known_cycle

    return known_cycle(settings, cycle)


def on_cycle(cycle: str, plan: str = "") -> tuple[Settings, Plan, str]:
    """The workspace on ``--plan`` and one of its cycles that exists."""
    settings, the_plan = workspace(plan)
    return settings, the_plan, known(settings, cycle)


def institution(plan: Plan, code: str, reporting: bool = True) -> str:
    """The plan's code of an institution, matched without case or spaces: one that reports
    (is asked each cycle), or any of the plan's with ``reporting=False``."""
    from tasks.checks.boundaries import institution_code

    return institution_code(plan, code, None if reporting else plan.institutions)


DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def day(value: str, option: str) -> date:
    """The date an option gives, or one sentence that names the option and says how to write it
    (date.fromisoformat's «day is out of range for month» reached operators)."""
    from tasks.core.refusals import UserMistake

    shape = DAY.fullmatch(value.strip())
    year, month, number = (int(part) for part in shape.groups()) if shape else (0, 0, 0)
    if year < 1:
        raise UserMistake(
            f"{option} {value!r} is not a date: write it as YYYY-MM-DD (e.g. 2023-03-31)"
        )
    if not 1 <= month <= 12:
        raise UserMistake(f"{option} {value!r} is not a date: the month is 01 to 12 (YYYY-MM-DD)")
    import calendar

    days = calendar.monthrange(year, month)[1]
    if not 1 <= number <= days:
        raise UserMistake(
            f"{option} {value!r} is not a date: {year}-{month:02d} has days 01 to {days}"
        )
    return date(year, month, number)


def actor(by: str) -> str:
    """Who decides, for the audit trail: ``--by``, else the login of who runs the command."""
    import getpass

    return by or getpass.getuser()
