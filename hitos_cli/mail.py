"""Emails that did not go out: ``retry`` sends them again, exactly as they were."""

from __future__ import annotations

from typing import Annotated

import typer

from hitos_cli.arguments import PlanOption, cycle_option, known, workspace
from hitos_cli.output import say, summary

commands = typer.Typer()


@commands.command()
def retry(
    keys: Annotated[
        list[str] | None,
        typer.Argument(help="Email keys (hitos status lists them); none: every one of the cycle."),
    ] = None,
    cycle: Annotated[str, cycle_option("Cycle whose undelivered emails to send again.")] = "",
    plan_name: PlanOption = "",
) -> None:
    """Send again, with the same Message-ID, emails that were refused or failed (after fixing
    the address or the server): a refusal is never sent again by itself."""
    from hitos_cli.errors import UNFINISHED
    from tasks.core.refusals import UserMistake

    settings, plan = workspace(plan_name)
    cycle = known(settings, cycle)
    if not keys and not cycle:
        raise UserMistake("say which emails: their keys (hitos status lists them) or --cycle")
    from tasks.core.states import EmailStatus
    from tasks.cycle.status import cycle_status
    from tasks.mail.outgoing import retry as send_again

    wanted = list(keys or [])
    if not wanted:
        wanted = [e["key"] for row in cycle_status(settings, plan, cycle) for e in row.undelivered]
    results = send_again(settings, wanted)
    for key, status in results.items():
        say(f"{key:<48} {status}")
    sent = sum(status == EmailStatus.SENT for status in results.values())
    summary(f"{sent} of {len(results)} email(s) sent again.")
    if sent < sum(status != "skipped" for status in results.values()):
        raise typer.Exit(UNFINISHED)
