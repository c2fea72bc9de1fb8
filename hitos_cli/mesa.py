"""The Mesa Técnica: ``session``, ``agreement``, ``assess``, ``communique``, and ``plan change``,
``plan history`` (registered on ``plans.plan_commands``).

Every command calls the same functions as the console (``tasks.mesa``); a refusal there is a
``MesaRefused`` (exit 1), a mistake in what was asked a ``UserMistake`` (exit 2), both through the
one error path (``hitos_cli.errors``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from hitos_cli.arguments import (
    ByOption,
    CycleArg,
    JsonOption,
    PlanOption,
    actor,
    day,
    on_cycle,
    workspace,
)
from hitos_cli.emails import sent_since
from hitos_cli.output import echo_json, say, summary, table
from hitos_cli.plans import plan_commands

commands = typer.Typer()
session_commands = typer.Typer(
    help="The Mesa Técnica's session of a cycle: schedule, cancel, minutes, pack.",
    no_args_is_help=True,
)
agreement_commands = typer.Typer(
    help="The Mesa's agreements: add, close, list.", no_args_is_help=True
)
commands.add_typer(session_commands, name="session")
commands.add_typer(agreement_commands, name="agreement")

INVITATIONS = ("mesa-invitation",)
AGREEMENTS = ("agreement",)


def _now() -> datetime:
    from tasks.storage.ledger import utcnow

    return utcnow()


@session_commands.command("schedule")
def session_schedule(
    cycle: CycleArg,
    on: Annotated[str, typer.Option("--on", help="Day of the session, YYYY-MM-DD.")],
    at: Annotated[str, typer.Option("--at", help="Start, HH:MM in the plan's time zone.")],
    place: Annotated[str, typer.Option("--place", help="Where it is held.")],
    minutes: Annotated[int, typer.Option(help="How long it lasts, in minutes.")] = 120,
    reason: Annotated[str, typer.Option(help="Why it changed (when moving it).")] = "",
    by: ByOption = "",
    plan_name: PlanOption = "",
) -> None:
    """Record the cycle's session (or move it) and email every member the invitation (.ics) and
    the agenda; a change goes out under the same UID with a higher SEQUENCE."""
    settings, plan, cycle_id = on_cycle(cycle, plan_name)
    held = day(on, "--on")
    from tasks.mesa.invitations import invite
    from tasks.mesa.sessions import schedule

    started = _now()
    found = schedule(settings, plan, cycle_id, held, at, place, actor(by), minutes, reason).session
    invite(settings, plan, cycle_id)
    sent = sent_since(settings, started, INVITATIONS, "invitation(s) were")
    summary(
        f"Session {plan.id}/{cycle_id}: {found.day} {found.starts} at {found.place} "
        f"(UID {found.uid}, SEQUENCE {found.sequence}); {sent} invitation(s) sent."
    )


@session_commands.command("cancel")
def session_cancel(
    cycle: CycleArg,
    reason: Annotated[str, typer.Option(help="Why, for the members.")],
    by: ByOption = "",
    plan_name: PlanOption = "",
) -> None:
    """Cancel the cycle's session: every member's calendar gets the cancellation (same UID)."""
    settings, plan, cycle_id = on_cycle(cycle, plan_name)
    from tasks.mesa.invitations import invite
    from tasks.mesa.sessions import cancel

    started = _now()
    found = cancel(settings, plan, cycle_id, reason, actor(by)).session
    invite(settings, plan, cycle_id)
    sent = sent_since(settings, started, INVITATIONS, "cancellation(s) were")
    summary(f"Session {plan.id}/{cycle_id} cancelled (SEQUENCE {found.sequence}); {sent} sent.")


@session_commands.command("minutes")
def session_minutes(
    cycle: CycleArg,
    present: Annotated[str, typer.Option(help="Members present: codes, comma-separated.")],
    by: ByOption = "",
    plan_name: PlanOption = "",
) -> None:
    """Record who was present at the cycle's session (agreements: `hitos agreement add`)."""
    settings, plan, cycle_id = on_cycle(cycle, plan_name)
    from tasks.mesa.sessions import record_minutes

    codes = [c.strip() for c in present.split(",") if c.strip()]
    found = record_minutes(settings, plan, cycle_id, codes, actor(by))
    summary(f"Present at {plan.id}/{cycle_id}: {', '.join(found.present)}.")


@session_commands.command("pack")
def session_pack(cycle: CycleArg, plan_name: PlanOption = "") -> None:
    """Write the cycle's agenda and meeting pack (deck to project and its PDF); their paths."""
    settings, plan, cycle_id = on_cycle(cycle, plan_name)
    from tasks.mesa.pack import write_pack

    for kind, path in write_pack(settings, plan, cycle_id).items():
        say(f"{kind:<12} {path.resolve()}")
    summary(f"The Mesa's papers of {plan.id}/{cycle_id} are written.")


@agreement_commands.command("add")
def agreement_add(
    cycle: CycleArg,
    text: Annotated[str, typer.Option(help="What was agreed.")],
    owner: Annotated[str, typer.Option(help="Institution or member of the Mesa responsible.")],
    due: Annotated[str, typer.Option(help="Due date, YYYY-MM-DD.")],
    milestone: Annotated[str, typer.Option(help="The milestone it concerns, if any.")] = "",
    by: ByOption = "",
    plan_name: PlanOption = "",
) -> None:
    """Record an agreement of the cycle's session; its owner is emailed it."""
    settings, plan, cycle_id = on_cycle(cycle, plan_name)
    until = day(due, "--due")
    from tasks.mesa.agreements import add, reference

    started = _now()
    recorded = add(settings, plan, cycle_id, text, owner, until, milestone, actor(by))
    sent_since(settings, started, AGREEMENTS, "agreement email(s) were")
    agreement = recorded.agreement
    summary(f"Agreement {reference(agreement)} recorded; {agreement.owner} is told.")


@agreement_commands.command("close")
def agreement_close(
    agreement: Annotated[str, typer.Argument(help="The agreement, CYCLE/NUMBER (2023-03/1).")],
    note: Annotated[str, typer.Option(help="How it was met (or why it is dropped).")],
    dropped: Annotated[bool, typer.Option(help="Dropped rather than done.")] = False,
    by: ByOption = "",
    plan_name: PlanOption = "",
) -> None:
    """Close an agreement: done (or dropped), with how and by whom."""
    settings, plan = workspace(plan_name)
    from tasks.core.mesa import DONE, DROPPED
    from tasks.mesa.agreements import close, reference

    closed = close(settings, plan, agreement, note, actor(by), DROPPED if dropped else DONE)
    summary(f"Agreement {reference(closed)}: {closed.state}.")


@agreement_commands.command("list")
def agreement_list(
    only_open: Annotated[bool, typer.Option("--open", help="Only the open ones.")] = False,
    as_json: JsonOption = False,
    plan_name: PlanOption = "",
) -> None:
    """Every agreement of the plan's Mesa, with its owner, due date and state."""
    settings, plan = workspace(plan_name)
    from tasks.mesa.agreements import agreements, reference

    rows = [
        {
            "agreement": reference(a),
            "text": a.text,
            "owner": a.owner,
            "due": a.due.isoformat(),
            "milestone": a.milestone,
            "state": a.state,
            "note": a.note,
        }
        for a in agreements(settings, plan.id, only_open=only_open)
    ]
    if as_json:
        echo_json(rows)
        return
    columns = ("agreement", "text", "owner", "due", "milestone", "state")
    shown = table(*columns)
    for row in rows:
        shown.add_row(*(row[k] for k in columns))
    from hitos_cli.output import console

    console.print(shown)
    summary(f"{len(rows)} agreement(s), {sum(r['state'] == 'open' for r in rows)} open.")


@commands.command()
def assess(
    cycle: CycleArg,
    milestone: Annotated[str, typer.Argument(help="Milestone code, e.g. 4.3.")],
    verdict: Annotated[str, typer.Option(help="agree, disagree or cannot-verify.")],
    org: Annotated[str, typer.Option(help="The civil-society organisation (code or name).")],
    note: Annotated[str, typer.Option(help="Why, in the organisation's words.")],
    evidence: Annotated[str, typer.Option(help="A link to the organisation's evidence.")] = "",
    by: ByOption = "",
    plan_name: PlanOption = "",
) -> None:
    """Record a civil-society organisation's assessment of a reported milestone; the next
    `hitos board` shows it beside the institution's self-report."""
    settings, plan, cycle_id = on_cycle(cycle, plan_name)
    from tasks.mesa.assessments import assess as record

    row = record(settings, plan, cycle_id, milestone, verdict, org, note, evidence, actor(by))
    summary(f"{row.organisation} on {plan.id}/{cycle_id} {milestone}: {row.verdict}.")


@commands.command()
def communique(
    cycle: CycleArg,
    as_json: JsonOption = False,
    approve: Annotated[
        bool, typer.Option(help="Approve it as it reads now; the board publishes it.")
    ] = False,
    by: ByOption = "",
    plan_name: PlanOption = "",
) -> None:
    """Draft the session's communiqué from the published version (HTML and Markdown); their
    paths, or with --json the institutions, commitments and milestones it names."""
    settings, plan, cycle_id = on_cycle(cycle, plan_name)
    from tasks.mesa import communique as drafts

    if approve:
        drafted = drafts.approve(settings, plan, cycle_id, actor(by))
    else:
        drafted = drafts.draft(settings, plan, cycle_id)
    paths = drafts.write(settings, drafted)
    if as_json:
        echo_json(drafted.as_json(paths))
        return
    for kind, path in paths.items():
        say(f"{kind:<9} {Path(path).resolve()}")
    summary(f"Communiqué {plan.id}/{cycle_id}: {drafted.state}.")


@plan_commands.command("change")
def plan_change(
    milestone: Annotated[str, typer.Argument(help="Milestone code, e.g. 4.5.")],
    session: Annotated[str, typer.Option(help="Cycle of the session that approved it.")],
    reason: Annotated[str, typer.Option(help="Why the Mesa approved it.")],
    start: Annotated[str, typer.Option(help="New start date, YYYY-MM-DD.")] = "",
    end: Annotated[str, typer.Option(help="New end date, YYYY-MM-DD.")] = "",
    description: Annotated[str, typer.Option(help="New wording of the milestone.")] = "",
    expected: Annotated[str, typer.Option(help="New expected result.")] = "",
    withdraw: Annotated[bool, typer.Option(help="Withdraw the milestone.")] = False,
    by: ByOption = "",
    plan_name: PlanOption = "",
) -> None:
    """Record a change the Mesa approved (new dates, wording or a withdrawal): the plan's next
    version; requests, rules, reports and the board use it from the session's day."""
    from hitos_cli.arguments import well_formed_cycle

    settings, _, session_cycle = on_cycle(well_formed_cycle(session), plan_name)
    new_start = day(start, "--start") if start else None
    new_end = day(end, "--end") if end else None
    from tasks.mesa.plan_changes import change
    from tasks.plans.plan import load_plan

    made = change(
        settings,
        load_plan(settings.plan),  # changes are versions of the plan file
        milestone,
        session_cycle,
        reason,
        actor(by),
        new_start,
        new_end,
        description,
        expected,
        withdraw,
    )
    summary(
        f"Plan {made.plan_id} v{made.version}: {made.milestone} {made.kind}, in force from "
        f"{made.valid_from} (session {made.session_cycle})."
    )


@plan_commands.command("history")
def plan_history(plan_name: PlanOption = "") -> None:
    """Every change the Mesa approved to the plan, by version."""
    settings, plan = workspace(plan_name)
    from tasks.mesa.plan_changes import changes

    shown = table("version", "milestone", "kind", "session", "in force from", "reason")
    found = changes(settings, plan.id)
    for c in found:
        shown.add_row(
            str(c.version), c.milestone, c.kind, c.session_cycle, str(c.valid_from), c.reason
        )
    from hitos_cli.output import console

    console.print(shown)
    summary(f"Plan {plan.id}: version {found[-1].version if found else 1} in force.")


PAPERS = {
    "communique_html": "communiqué",
    "communique_markdown": "communiqué md",
    "agenda_pdf": "agenda",
    "deck_html": "pack (deck)",
    "deck_pdf": "pack (PDF)",
}
"""The Mesa's papers the demo names, as its closing lines call them."""


def print_papers(files: dict[str, str]) -> None:
    """The demo's closing lines for the Mesa: where each session's communiqué, agenda and pack
    are (``flows.demo`` returns them as ``mesa <cycle> <kind>``)."""
    for key, path in files.items():
        _, cycle, kind = key.split(" ") if key.startswith("mesa ") else ("", "", "")
        if kind in PAPERS:
            say(f"{f'Mesa {cycle} {PAPERS[kind]}':<26} {Path(path).resolve()}")
