"""Who Hitos writes to: ``contacts`` (in force, history, ``set``) and ``resend`` (a request
that was refused or bounced, to the corrected address)."""

from __future__ import annotations

from typing import Annotated

import typer

from hitos_cli.arguments import (
    CycleArg,
    JsonOption,
    PlanOption,
    actor,
    day,
    institution,
    on_cycle,
    workspace,
)
from hitos_cli.output import console, echo_json, say, summary, table

commands = typer.Typer()


@commands.command()
def contacts(
    code: Annotated[
        str, typer.Argument(help="Institution code (its history), or `set` to change contacts.")
    ] = "",
    target: Annotated[str, typer.Argument(help="With `set`: the institution code.")] = "",
    liaison: Annotated[str, typer.Option(help="With `set`: the new liaison's email.")] = "",
    name: Annotated[str, typer.Option(help="With `set`: the new liaison's name.")] = "",
    head: Annotated[str, typer.Option(help="With `set`: the new head's email.")] = "",
    head_name: Annotated[str, typer.Option(help="With `set`: the new head's name.")] = "",
    valid_from: Annotated[
        str, typer.Option("--from", help="With `set`: in force from (YYYY-MM-DD; today).")
    ] = "",
    why: Annotated[str, typer.Option(help="With `set`: why the contacts changed.")] = "",
    by: Annotated[str, typer.Option(help="With `set`: who changes them (your login).")] = "",
    as_json: JsonOption = False,
    plan_name: PlanOption = "",
) -> None:
    """List the contacts in force (`hitos contacts [CODE]` shows CODE's history) or change them
    (`hitos contacts set CODE --liaison EMAIL [--name NAME] [--head EMAIL]`)."""
    from tasks.core.refusals import UserMistake

    if code == "set" and (not target or not (liaison or head)):
        raise UserMistake(
            "usage: hitos contacts set CODE --liaison EMAIL [--name NAME] [--head EMAIL]"
        )
    since_day = day(valid_from, "--from") if valid_from else None
    from tasks.people.contacts import ContactLine, contact, history, set_contacts
    from tasks.plans.plan import load_plan

    settings, _ = workspace(plan_name)
    plan_file = load_plan(settings.plan)  # the plan as written: its contacts open the history
    if code == "set":
        code = institution(plan_file, target, reporting=False)
        set_contacts(
            settings,
            plan_file,
            code,
            liaison=contact(name, liaison) if liaison else None,
            head=contact(head_name, head) if head else None,
            valid_from=since_day,
            changed_by=actor(by),
            reason=why,
        )
        say(f"{code}: new contacts recorded, in force from {valid_from or 'today'}")
        if liaison:
            from tasks.people.contacts import current_plan
            from tasks.portal.handover import hand_over

            welcomed = hand_over(settings, current_plan(settings), code)
            for key, status in welcomed.items():
                say(f"{code}: welcome to the new liaison {status} ({key}); old links revoked")
    elif code:
        code = institution(plan_file, code, reporting=False)
    lines = history(settings, plan_file, code or None)
    if as_json:
        echo_json([line.as_dict() for line in lines])
        return

    def since(line: ContactLine) -> str:
        return line.valid_from.isoformat() if line.valid_from else "(plan)"

    shown = table(title=f"{code} contacts" if code else "Contacts in force")
    if not code:
        shown.add_column("institution", no_wrap=True)
    shown.add_column("role", no_wrap=True)
    shown.add_column("name")
    shown.add_column("email", no_wrap=True)  # the one thing an operator must read whole
    shown.add_column("from", no_wrap=True)
    if not code:
        for line in lines:
            shown.add_row(line.institution, line.role, line.name, line.email, since(line))
    else:
        for column in ("by", "why", "now"):
            shown.add_column(column)
        for line in lines:
            now = "yes" if line.current else ""
            shown.add_row(
                line.role, line.name, line.email, since(line), line.changed_by, line.reason, now
            )
    console.print(shown)
    if code:
        in_force = sum(line.current for line in lines)
        summary(f"{code}: {len(lines)} contact record(s), {in_force} in force.")
    else:
        institutions = len({line.institution for line in lines})
        summary(f"{len(lines)} contacts in force for {institutions} institutions.")


@commands.command()
def resend(
    cycle: CycleArg,
    code: Annotated[str, typer.Argument(help="Institution code.")],
    same_address: Annotated[
        bool, typer.Option(help="Send again even though the liaison's address is unchanged.")
    ] = False,
    plan_name: PlanOption = "",
) -> None:
    """Send a refused or bounced request again, to the institution's current liaison."""
    settings, plan, cycle = on_cycle(cycle, plan_name)
    code = institution(plan, code)
    from tasks.cycle.resend import resend_request

    key, status = resend_request(settings, plan, cycle, code, same_address)
    say(f"{key:<40} {status} (to {plan.institution(code).liaison.email})")
    if status != "sent":
        summary(f"The {cycle} request to {code} was {status}: `hitos status {cycle}` says why.")
        raise typer.Exit(1)
    summary(f"The {cycle} request went to {code}'s liaison again.")
