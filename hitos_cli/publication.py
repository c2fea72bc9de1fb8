"""What the public sees: ``consolidate`` (a draft), ``publish`` (the director), ``board``.

A publication that cannot be made (no draft, a draft the approved files no longer match, the
second of two directors publishing at once) is a ``PublicationRefused``: one sentence, exit 1.
"""

from __future__ import annotations

from typing import Annotated

import typer

from hitos_cli.arguments import (
    ByOption,
    CycleArg,
    JsonOption,
    PlanOption,
    actor,
    on_cycle,
    workspace,
)
from hitos_cli.output import STARTING, echo_json, say, summary, working

commands = typer.Typer()


@commands.command()
def consolidate(
    cycle: CycleArg,
    by: Annotated[str, typer.Option(help="Who asks, for the audit trail.")] = "",
    plan_name: PlanOption = "",
) -> None:
    """Build the cycle's draft report (page, PDF, XLSX, CSV); the director is told to publish it."""
    settings, plan, cycle = on_cycle(cycle, plan_name)
    with working(f"Consolidating {plan.id}/{cycle}", first=STARTING):
        from flows.consolidate import consolidate as consolidate_flow
        from tasks.publication.approval import state_of

        made = consolidate_flow(cycle, plan=str(settings.plan), by=actor(by))
        state = state_of(settings, plan, cycle)
    for name, path in made.items():
        say(f"{name:<12} {path}")
    if state.draft is not None:
        summary(
            f"Draft v{state.draft.version} of {plan.id}/{cycle}: public only once the director "
            f"publishes it (hitos publish {cycle} --plan {plan.id})."
        )
    elif state.published is not None:
        summary(
            f"{plan.id}/{cycle} v{state.published.version} is published and matches the ledger: "
            "nothing new to publish."
        )


@commands.command()
def publish(
    cycle: CycleArg,
    by: ByOption = "",
    version: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="The draft version you looked at: refused if a newer draft replaced it.",
        ),
    ] = None,
    plan_name: PlanOption = "",
) -> None:
    """Publish the cycle's draft report: the public files change now, and only now."""
    settings, plan, cycle = on_cycle(cycle, plan_name)
    with working(f"Publishing {plan.id}/{cycle}: the public files and the board"):
        from tasks.publication.approval import publish_draft

        publication = publish_draft(settings, plan, cycle, actor(by), version)
    for name, path in publication.paths.items():
        if name.startswith("latest_"):
            say(f"{name:<12} {path}")
    summary(f"Published {plan.id}/{cycle} v{publication.report.version}.")


@commands.command()
def board(as_json: JsonOption = False, plan_name: PlanOption = "") -> None:
    """Rebuild the public board (.hitos/board/) from every published report."""
    settings, plan = workspace(plan_name)
    with working(f"Building the public board of {plan.id}", quiet=as_json):
        from tasks.publication.board import build_board

        result = build_board(settings, plan)
    if as_json:
        echo_json(
            {
                "folder": str(result.folder.absolute()),
                "cycles": result.published,
                "pages": result.pages,
                "files": result.files,
                "bytes": result.size,
            }
        )
        return
    shown = ", ".join(f"{cycle} v{version}" for cycle, version in result.published.items())
    summary(
        f"Board: {result.pages} pages, {result.files} files, {result.size / 1e6:.1f} MB in "
        f"{result.folder.absolute()} ({shown or 'no published report yet'})."
    )
