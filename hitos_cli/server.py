"""Hitos as a service: ``serve`` (the console) and ``server setup`` (a Prefect server's
automations)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from hitos_cli.arguments import PlanOption, workspace
from hitos_cli.output import say, summary, working

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


def needs_server() -> None:
    """Refuse, before importing Prefect, a server command with no server to talk to."""
    from tasks.core.refusals import UserMistake

    if not os.environ.get("PREFECT_API_URL"):
        raise UserMistake(
            "PREFECT_API_URL is not set: it must name the Prefect server (docs/server.md, step 4)."
        )


@server_commands.command("worker")
def server_worker(
    pool: Annotated[str, typer.Option(help="The work pool to take runs from.")] = "hitos",
    name: Annotated[str, typer.Option(help="This worker's name in the UI (default: random).")] = "",
    poll: Annotated[
        float, typer.Option(min=0.5, help="Seconds between two looks for scheduled runs.")
    ] = 2.0,
) -> None:
    """Run this machine's worker: Hitos' flows in one warm process, one run at a time.

    Prefect's process worker (`prefect worker start --pool hitos`) starts a new interpreter for
    each run, which imports Prefect, pandas and Great Expectations again; this one imports them
    once, so a run starts in seconds. Both can serve the same pool.
    """
    needs_server()
    import anyio
    from prefect.settings import PREFECT_WORKER_QUERY_SECONDS, temporary_settings

    from flows.warm_worker import serve, warm_up

    if repo := os.environ.get("HITOS_REPO"):
        os.chdir(repo)  # the deployments' pull step, once: relative settings resolve as there
    with working("Importing the flows and building the checks"):
        warm_up()
    say(f"Worker taking runs from pool {pool!r} every {poll:g} s (Ctrl-C stops it).")
    with temporary_settings({PREFECT_WORKER_QUERY_SECONDS: poll}):
        anyio.run(serve, pool, name or None)
    summary("Worker stopped.")


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
    needs_server()
    from flows.automations import crash_silent_runs, default_grace, install

    automation = crash_silent_runs(grace or default_grace())
    outcome = install(automation, grace or default_grace())
    summary(f"Automation {automation.name!r} {outcome}.")
