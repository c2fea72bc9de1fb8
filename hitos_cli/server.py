"""Hitos as a service: ``serve`` (the console) and ``server setup`` (a Prefect server's
automations)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from hitos_cli.arguments import PlanOption, workspace
from hitos_cli.output import say, summary

commands = typer.Typer()
server_commands = typer.Typer(
    help="What a Prefect server needs besides the deployments.", no_args_is_help=True
)
commands.add_typer(server_commands, name="server")


@commands.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (sessions and limits live in the ledger).")
    ] = 1,
    plan_name: PlanOption = "",
) -> None:
    """Run the directorate's console (web) on the workspace."""
    settings, _ = workspace(plan_name)
    os.environ["HITOS_PLAN"] = str(settings.plan)  # each worker reads its settings from here
    import uvicorn

    say(f"Console on http://{host}:{port}/ (workspace {settings.home.resolve()})")
    uvicorn.run(
        "console.app:from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


@server_commands.command("setup")
def server_setup(
    grace: Annotated[
        int | None,
        typer.Option(
            help="Seconds without a heartbeat before a run is marked Crashed "
            "(default: 3 x PREFECT_FLOWS_HEARTBEAT_FREQUENCY, 540 s).",
            min=1,
        ),
    ] = None,
) -> None:
    """Create or update the server's automations (after `prefect deploy --all`; safe to repeat).

    One for now: a flow run whose heartbeats stop (its worker died) is marked Crashed, which
    frees its deployment's slot for the next run.
    """
    from tasks.core.refusals import UserMistake

    if not os.environ.get("PREFECT_API_URL"):
        raise UserMistake(
            "PREFECT_API_URL is not set: it must name the Prefect server (README, step 4)."
        )
    from flows.automations import crash_silent_runs, default_grace, install

    automation = crash_silent_runs(grace or default_grace())
    outcome = install(automation, grace or default_grace())
    summary(f"Automation {automation.name!r} {outcome}.")
