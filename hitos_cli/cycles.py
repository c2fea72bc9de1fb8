"""A cycle's life: ``cycle open``, ``cycle close``, ``remind``, ``status``, ``extend``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hitos_cli.arguments import (
    ByOption,
    CycleArg,
    JsonOption,
    PlanOption,
    actor,
    day,
    institution,
    on_cycle,
    well_formed_cycle,
    workspace,
)
from hitos_cli.emails import sent_since
from hitos_cli.intake import print_malformed
from hitos_cli.output import STARTING, console, counted, echo_json, say, summary, table, working

if TYPE_CHECKING:
    from tasks.plans.plan import Plan
    from tasks.settings import Settings

commands = typer.Typer()
cycle_commands = typer.Typer(help="Open and close cycles.", no_args_is_help=True)
commands.add_typer(cycle_commands, name="cycle")

SHOWN_MISSING = 5
"""Institutions named in a summary's «missing» before the rest are counted."""


def delivered(row: Mapping[str, object]) -> bool:
    """Whether an institution of ``cycle_status``'s rows has delivered (on time or late): the
    one place the summaries (``status``, ``demo``) read it, so they say what ``status`` says."""
    from tasks.core.states import Delivery

    return row["delivery"] != Delivery.NOT_DELIVERED


def delivery_summary(plan_id: str, cycle: str, rows: Sequence[Mapping[str, object]]) -> str:
    """«gt-pan5/2023-08: 10 of 11 institutions delivered; MARN missing.»"""
    missing = [str(row["institution"]) for row in rows if not delivered(row)]
    said = f"{plan_id}/{cycle}: {len(rows) - len(missing)} of {len(rows)} institutions delivered"
    if missing:
        named = ", ".join(missing[:SHOWN_MISSING])
        more = len(missing) - SHOWN_MISSING
        said += f"; {named}{f' and {more} more' if more > 0 else ''} missing"
    return said + "."


def print_status(
    settings: Settings, plan: Plan, cycle_id: str, as_json: bool, today: date | None = None
) -> list[dict[str, object]]:
    """The cycle's status table (or JSON), each request that did not go out, and the messages
    intake could not read; the rows, for the summary."""
    from tasks.cycle.status import cycle_status

    rows = [r.as_dict() for r in cycle_status(settings, plan, cycle_id, today)]
    if as_json:
        echo_json(rows)
        return rows
    headers = {
        "institution": "institution",
        "request": "request",
        "reminders": "reminders",
        "submissions": "files",
        "last_outcome": "last outcome",
        "review": "review",
        "delivery": "delivery",
        "deadline": "deadline",
        "days_late": "late",
    }
    title = f"Cycle {plan.id}/{cycle_id} (late: business days)"
    shown_table = table(*headers.values(), title=title)
    for row in rows:
        extended = "*" if row["extension"] else ""  # its own deadline: the extension's
        shown = {**row, "deadline": row["deadline"] + extended}
        shown_table.add_row(*(str(shown[c]) for c in headers))
    console.print(shown_table)
    for row in rows:
        for email in row["undelivered"]:  # type: ignore[attr-defined]
            reason = email["error"] or "no reason recorded"
            say(f"{row['institution']}: {email['kind']} {email['key']} {email['status']}: {reason}")
    print_malformed(settings)
    return rows


@cycle_commands.command("open")
def cycle_open(
    cycle: CycleArg,
    dry_run: Annotated[
        bool, typer.Option(help="Render workbooks and emails to a folder; send nothing.")
    ] = False,
    on: Annotated[
        str,
        typer.Option(
            "--on",
            help="The day the requests go out (YYYY-MM-DD; default today): the deadline counts "
            "from it. For a backfill or a replay.",
        ),
    ] = "",
    plan_name: PlanOption = "",
) -> None:
    """Open a cycle: build every institution's workbook and email it."""
    settings, plan = workspace(plan_name)
    opened_on = day(on, "--on") if on else None
    doing = "writing the workbooks and emails" if dry_run else "building and emailing workbooks"
    with working(f"Opening {plan.id}/{cycle}: {doing}", first=STARTING):
        from flows.open_cycle import open_cycle
        from tasks.storage.ledger import utcnow

        started = utcnow()
        results = open_cycle(cycle, dry_run=dry_run, plan=str(settings.plan), opened_on=opened_on)
    shown = table("email", "preview (.eml)" if dry_run else "status")
    for key, status in results.items():
        shown.add_row(key, Path(status).name if dry_run else status)
    console.print(shown)
    if dry_run:
        folder = Path(next(iter(results.values()))).parent if results else settings.home
        summary(f"Nothing was sent: {len(results)} email(s) and their workbooks are in {folder}.")
        return
    sent_since(settings, started, ("request",), "request email(s) were")
    sent = sum(status == "sent" for status in results.values())
    before = sum(status == "skipped" for status in results.values())
    summary(
        f"Cycle {plan.id}/{cycle} is open: {sent} request email(s) sent now"
        + (f", {before} sent before." if before else ".")
    )


@cycle_commands.command("close")
def cycle_close(
    cycle: CycleArg,
    by: ByOption = "",
    why: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "",
    plan_name: PlanOption = "",
) -> None:
    """Close a cycle: no more reminders; files are still taken in, consolidation still works."""
    settings, plan, cycle = on_cycle(cycle, plan_name)
    from tasks.cycle.closing import close_cycle

    closed = close_cycle(settings, cycle, plan.id, actor(by), why)
    if not closed.changed:
        summary(f"Cycle {plan.id}/{cycle} was already closed: nothing recorded.")
        return
    summary(f"Cycle {plan.id}/{cycle} closed: no more reminders.")


@commands.command()
def remind(
    cycle: Annotated[
        str,
        typer.Argument(help="Cycle id; all open cycles if omitted.", callback=well_formed_cycle),
    ] = "",
    today: Annotated[str, typer.Option(help="Pretend today is this date (YYYY-MM-DD).")] = "",
    plan_name: PlanOption = "",
) -> None:
    """Send the reminders due today to institutions without an accepted file."""
    as_of = day(today, "--today") if today else None
    settings, plan, cycle = on_cycle(cycle, plan_name)
    which = f"{plan.id}/{cycle}" if cycle else f"the open cycles of {plan.id}"
    with working(f"Reminding {which}", first=STARTING):
        from flows.remind import remind as remind_flow
        from tasks.storage.ledger import utcnow

        started = utcnow()
        results = remind_flow(cycle, as_of, plan=str(settings.plan))
    for key, status in results.items():
        say(f"{key:<40} {status}")
    sent_since(settings, started, ("reminder",), "reminder(s) were")
    sent = [key for key, status in results.items() if status == "sent"]
    reminders = sum("/reminder/" in key for key in sent)
    digest = " and the reviewers' digest" if len(sent) > reminders else ""
    summary(f"{counted(reminders, 'reminder')}{digest} sent." if results else "No reminder due.")


@commands.command()
def status(
    cycle: CycleArg,
    as_json: JsonOption = False,
    today: Annotated[str, typer.Option(help="Status as of this date (YYYY-MM-DD).")] = "",
    plan_name: PlanOption = "",
) -> None:
    """Per institution: request sent, reminders, last submission and outcome, days late."""
    as_of = day(today, "--today") if today else None
    settings, plan, cycle = on_cycle(cycle, plan_name)
    rows = print_status(settings, plan, cycle, as_json, as_of)
    if not as_json:
        summary(delivery_summary(plan.id, cycle, rows))


@commands.command()
def extend(
    cycle: CycleArg,
    code: Annotated[str, typer.Argument(metavar="INSTITUTION", help="Institution code (MARN).")],
    until: Annotated[str, typer.Option(help="New deadline, YYYY-MM-DD (inclusive).")],
    reason: Annotated[str, typer.Option(help="Why, for the audit trail and the report.")],
    by: ByOption = "",
    plan_name: PlanOption = "",
) -> None:
    """Give one institution more time in a cycle: reminders, on time and the report follow."""
    new_deadline = day(until, "--until")
    settings, plan, cycle = on_cycle(cycle, plan_name)
    from tasks.cycle.extensions import extend as grant
    from tasks.portal.notices import tell_liaisons

    granted = grant(settings, plan, cycle, institution(plan, code), new_deadline, reason, actor(by))
    tell_liaisons(settings, plan)  # the liaison learns the new date by email
    summary(
        f"{granted.institution} has until {granted.until.isoformat()} in cycle {plan.id}/{cycle}."
    )
