"""The Mesa Técnica's commands: sessions, agreements, assessments, the communiqué, plan changes.

Registered on the ``hitos`` command by ``register`` (``hitos_cli``); every command calls the same
functions as the console (``tasks.mesa``), and every refusal is one sentence and exit 2.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

session_app = typer.Typer(
    help="The Mesa Técnica's session of a cycle: schedule, cancel, minutes, pack.",
    no_args_is_help=True,
)
agreement_app = typer.Typer(help="The Mesa's agreements: add, close, list.", no_args_is_help=True)
CycleArg = Annotated[str, typer.Argument(help="Cycle id, YYYY-MM (e.g. 2023-03).")]
PlanOption = Annotated[
    str, typer.Option("--plan", help="Plan id or plan file; default: HITOS_PLAN's plan.")
]
ByOption = Annotated[
    str, typer.Option("--by", help="Who decides, for the audit trail (default: your login).")
]


def _cli() -> Any:
    import hitos_cli

    return hitos_cli


def refuses(command: Callable[..., None]) -> Callable[..., None]:
    """A command whose refusals end in one sentence, never a traceback: exit 2 for a mistake in
    what was asked (``UserMistake``), 1 for a decision the ledger refuses (``MesaRefused``)."""

    @functools.wraps(command)
    def checked(*args: Any, **kwargs: Any) -> None:
        from tasks.core.refusals import DecisionRefused, UserMistake

        try:
            command(*args, **kwargs)
        except UserMistake as exc:
            _cli().fail(str(exc))
        except DecisionRefused as exc:
            _cli().fail(str(exc), 1)

    return checked


def _day(value: str, option: str) -> date:
    from tasks.core.refusals import UserMistake

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserMistake(f"{option} {value!r} is not a date: write it as YYYY-MM-DD") from None


def _setup(plan_name: str, cycle: str = "") -> tuple[Any, Any, str]:
    """Settings, the plan in force and the checked cycle id (when given)."""
    cli = _cli()
    settings, _ = cli.settings_and_plan(plan_name)
    from tasks.checks.boundaries import known_cycle
    from tasks.people.contacts import current_plan

    return settings, current_plan(settings), known_cycle(settings, cycle) if cycle else ""


def _print_sent(sent: dict[str, str]) -> None:
    cli = _cli()
    for key, status in sent.items():
        cli.console.print(f"{key}: {status}", highlight=False)
    failed = [k for k, s in sent.items() if s in ("failed", "refused")]
    if failed:
        cli.fail(f"{len(failed)} email(s) not sent; run the command again to retry", 1)


@session_app.command("schedule")
@refuses
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
    from tasks.mesa.invitations import invite
    from tasks.mesa.sessions import schedule

    settings, plan, cycle_id = _setup(plan_name, cycle)
    day = _day(on, "--on")
    done = schedule(
        settings, plan, cycle_id, day, at, place, _cli().actor(by), minutes, reason
    ).session
    _cli().console.print(
        f"Session {plan.id}/{cycle_id}: {done.day} {done.starts} at {done.place} "
        f"(UID {done.uid}, SEQUENCE {done.sequence})",
        highlight=False,
    )
    _print_sent(invite(settings, plan, cycle_id))


@session_app.command("cancel")
@refuses
def session_cancel(
    cycle: CycleArg,
    reason: Annotated[str, typer.Option(help="Why, for the members.")],
    by: ByOption = "",
    plan_name: PlanOption = "",
) -> None:
    """Cancel the cycle's session: every member's calendar gets the cancellation (same UID)."""
    from tasks.mesa.invitations import invite
    from tasks.mesa.sessions import cancel

    settings, plan, cycle_id = _setup(plan_name, cycle)
    done = cancel(settings, plan, cycle_id, reason, _cli().actor(by)).session
    _cli().console.print(f"Session {plan.id}/{cycle_id} cancelled (SEQUENCE {done.sequence}).")
    _print_sent(invite(settings, plan, cycle_id))


@session_app.command("minutes")
@refuses
def session_minutes(
    cycle: CycleArg,
    present: Annotated[str, typer.Option(help="Members present: codes, comma-separated.")],
    by: ByOption = "",
    plan_name: PlanOption = "",
) -> None:
    """Record who was present at the cycle's session (agreements: `hitos agreement add`)."""
    from tasks.mesa.sessions import record_minutes

    settings, plan, cycle_id = _setup(plan_name, cycle)
    codes = [c.strip() for c in present.split(",") if c.strip()]
    done = record_minutes(settings, plan, cycle_id, codes, _cli().actor(by))
    _cli().console.print(f"Present at {plan.id}/{cycle_id}: {', '.join(done.present)}")


@session_app.command("pack")
@refuses
def session_pack(cycle: CycleArg, plan_name: PlanOption = "") -> None:
    """Write the cycle's agenda and meeting pack (deck to project and its PDF); their paths."""
    from tasks.mesa.pack import write_pack

    settings, plan, cycle_id = _setup(plan_name, cycle)
    for kind, path in write_pack(settings, plan, cycle_id).items():
        _cli().console.print(f"{kind:<12} {path.resolve()}", highlight=False)


@agreement_app.command("add")
@refuses
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
    from tasks.mesa.agreements import add, reference

    settings, plan, cycle_id = _setup(plan_name, cycle)
    recorded = add(
        settings, plan, cycle_id, text, owner, _day(due, "--due"), milestone, _cli().actor(by)
    )
    _cli().console.print(f"Agreement {reference(recorded.agreement)} ({recorded.agreement.owner})")
    _print_sent(recorded.sent)


@agreement_app.command("close")
@refuses
def agreement_close(
    agreement: Annotated[str, typer.Argument(help="The agreement, CYCLE/NUMBER (2023-03/1).")],
    note: Annotated[str, typer.Option(help="How it was met (or why it is dropped).")],
    dropped: Annotated[bool, typer.Option(help="Dropped rather than done.")] = False,
    by: ByOption = "",
    plan_name: PlanOption = "",
) -> None:
    """Close an agreement: done (or dropped), with how and by whom."""
    from tasks.mesa.agreements import DONE, DROPPED, close, reference

    settings, plan, _ = _setup(plan_name)
    state = DROPPED if dropped else DONE
    closed = close(settings, plan, agreement, note, _cli().actor(by), state)
    _cli().console.print(f"Agreement {reference(closed)}: {closed.state}.")


@agreement_app.command("list")
def agreement_list(
    only_open: Annotated[bool, typer.Option("--open", help="Only the open ones.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    plan_name: PlanOption = "",
) -> None:
    """Every agreement of the plan's Mesa, with its owner, due date and state."""
    from tasks.mesa.agreements import agreements, reference

    settings, plan, _ = _setup(plan_name)
    found = agreements(settings, plan.id, only_open=only_open)
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
        for a in found
    ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("agreement", "text", "owner", "due", "milestone", "state")
    for row in rows:
        table.add_row(
            *(row[k] for k in ("agreement", "text", "owner", "due", "milestone", "state"))
        )
    _cli().console.print(table)


@refuses
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
    from tasks.mesa.assessments import assess as record

    settings, plan, cycle_id = _setup(plan_name, cycle)
    row = record(
        settings, plan, cycle_id, milestone, verdict, org, note, evidence, _cli().actor(by)
    )
    _cli().console.print(f"{row.organisation} on {plan.id}/{cycle_id} {milestone}: {row.verdict}")


@refuses
def communique(
    cycle: CycleArg,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    approve: Annotated[
        bool, typer.Option(help="Approve it as it reads now; the board publishes it.")
    ] = False,
    by: ByOption = "",
    plan_name: PlanOption = "",
) -> None:
    """Draft the session's communiqué from the published version (HTML and Markdown); their
    paths, or with --json the institutions, commitments and milestones it names."""
    from tasks.mesa import communique as drafts

    settings, plan, cycle_id = _setup(plan_name, cycle)
    if approve:
        drafted = drafts.approve(settings, plan, cycle_id, _cli().actor(by))
    else:
        drafted = drafts.draft(settings, plan, cycle_id)
    paths = drafts.write(settings, drafted)
    if as_json:
        typer.echo(json.dumps(drafted.as_json(paths), ensure_ascii=False, indent=2))
        return
    for kind, path in paths.items():
        _cli().console.print(f"{kind:<9} {Path(path).resolve()}", highlight=False)
    _cli().console.print(f"Communiqué {plan.id}/{cycle_id}: {drafted.state}.")


@refuses
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
    from tasks.mesa.plan_changes import change
    from tasks.plans.plan import load_plan

    settings, _, session_cycle = _setup(plan_name, session)
    made = change(
        settings,
        load_plan(settings.plan),
        milestone,
        session_cycle,
        reason,
        _cli().actor(by),
        _day(start, "--start") if start else None,
        _day(end, "--end") if end else None,
        description,
        expected,
        withdraw,
    )
    _cli().console.print(
        f"Plan {made.plan_id} v{made.version}: {made.milestone} {made.kind}, in force from "
        f"{made.valid_from} (session {made.session_cycle})."
    )


def plan_history(plan_name: PlanOption = "") -> None:
    """Every change the Mesa approved to the plan, by version."""
    from tasks.mesa.plan_changes import changes

    settings, plan, _ = _setup(plan_name)
    table = Table("version", "milestone", "kind", "session", "in force from", "reason")
    for c in changes(settings, plan.id):
        table.add_row(
            str(c.version), c.milestone, c.kind, c.session_cycle, str(c.valid_from), c.reason
        )
    _cli().console.print(table)


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
            label = f"Mesa {cycle} {PAPERS[kind]}"
            _cli().console.print(f"{label:<26} {Path(path).resolve()}", highlight=False)


def register(app: typer.Typer, plan_app: typer.Typer) -> None:
    """Add the Mesa's commands to ``hitos`` (and ``change``, ``history`` to ``hitos plan``)."""
    app.add_typer(session_app, name="session")
    app.add_typer(agreement_app, name="agreement")
    app.command()(assess)
    app.command()(communique)
    plan_app.command("change")(plan_change)
    plan_app.command("history")(plan_history)
