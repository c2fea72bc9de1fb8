"""Action plans as files: ``plan check``, ``plan import``, ``plan export``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from hitos_cli.arguments import PlanOption, workspace
from hitos_cli.output import console, counted, say, summary

commands = typer.Typer()
plan_commands = typer.Typer(help="Check, import and export action plans.", no_args_is_help=True)
commands.add_typer(plan_commands, name="plan")


def print_plan_problems(problems: Sequence[object], source: str) -> None:
    """Every problem, then how many: a plan is fixed in one pass, not one error at a time."""
    for problem in problems:
        console.print("[red]✗[/red]", end=" ")
        say(str(problem))
    summary(f"{source}: {counted(len(problems), 'problem')}.")


@plan_commands.command("check")
def plan_check(
    path: Annotated[
        Path | None, typer.Argument(help="Plan YAML file (default: the --plan's).")
    ] = None,
    plan_name: PlanOption = "",
) -> None:
    """Check a plan: links, unique codes, leads, dates inside the plan's period."""
    from tasks.checks.boundaries import plan_file
    from tasks.plans.check import check_file
    from tasks.settings import Settings

    target = path or plan_file(Settings(), plan_name)
    problems = check_file(target)
    if problems:
        print_plan_problems(problems, str(target))
        raise typer.Exit(1)
    summary(f"{target}: no problems.")


@plan_commands.command("import")
def plan_import(
    table: Annotated[Path, typer.Argument(help="The directorate's table (.xlsx).")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the plan YAML here.")
    ] = None,
) -> None:
    """Turn the directorate's table of institutions, commitments and milestones into a plan."""
    from tasks.core.refusals import UserMistake
    from tasks.plans.spreadsheet import import_plan

    if not table.is_file():
        raise UserMistake(f"there is no file {table}: give the path of the directorate's table")
    imported = import_plan(table.read_bytes())
    if imported.problems:
        print_plan_problems(imported.problems, str(table))
        raise typer.Exit(1)
    if output is None:
        typer.echo(imported.yaml(), nl=False)
        return
    output.write_text(imported.yaml(), encoding="utf-8")
    plan = imported.data
    milestones = sum(len(c["milestones"]) for c in plan["commitments"])
    summary(
        f"{output}: plan {plan['id']} with {len(plan['institutions'])} institutions, "
        f"{len(plan['commitments'])} commitments and {milestones} milestones."
    )


@plan_commands.command("export")
def plan_export(
    output: Annotated[Path, typer.Argument(help="Where to write the table (.xlsx).")],
    plan_name: PlanOption = "",
) -> None:
    """Write the plan (HITOS_PLAN) as the directorate's table, the format `plan import` reads."""
    settings, plan = workspace(plan_name)
    from tasks.catalogues import language_of
    from tasks.plans.spreadsheet import export_plan

    output.write_bytes(export_plan(plan, language_of(settings, plan)))
    summary(f"{output}: {len(plan.milestones)} milestones of plan {plan.id}.")
