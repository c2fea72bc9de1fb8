"""The ``hitos`` command: every step of a cycle, by hand, on the workspace (``HITOS_HOME``)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from hitos_cli_mesa import print_papers as print_mesa_papers
from hitos_cli_mesa import register as register_mesa
from tasks.core.findings import Finding
from tasks.plans.plan import Plan, load_plan
from tasks.settings import Settings

app = typer.Typer(
    help="Hitos: open-government action plan compliance cycles.", no_args_is_help=True
)
cycle_app = typer.Typer(help="Open and close cycles.", no_args_is_help=True)
app.add_typer(cycle_app, name="cycle")
review_app = typer.Typer(help="Review accepted files: approve, or return with a comment.")
app.add_typer(review_app, name="review", no_args_is_help=True)
users_app = typer.Typer(help="Accounts of the directorate's console.", no_args_is_help=True)
app.add_typer(users_app, name="users")
server_app = typer.Typer(help="What a Prefect server needs besides the deployments.")
app.add_typer(server_app, name="server", no_args_is_help=True)
console = Console(soft_wrap=True)
"""Lines are not cut at the terminal's width: a path cut by a newline no longer pastes."""
CycleArg = Annotated[str, typer.Argument(help="Cycle id, YYYY-MM (e.g. 2023-03).")]
PlanOption = Annotated[
    str,
    typer.Option(
        "--plan",
        help="Plan id (its YAML beside HITOS_PLAN, e.g. gt-pan6) or plan file; "
        "default: HITOS_PLAN's plan.",
    ),
]


def quiet_prefect(settings: Settings) -> None:
    """Keep Prefect's state in the workspace and its telemetry off (offline machines)."""
    os.environ.setdefault("PREFECT_HOME", str((settings.home / "prefect").resolve()))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # The embedded server's services log shutdown races (events still in flight when a short
    # command exits) as errors with tracebacks; flow and task failures still reach the user.
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")


def settings_and_plan(plan: str = "") -> tuple[Settings, Plan]:
    """The settings on the plan ``--plan`` names (default ``HITOS_PLAN``), with Prefect pointed
    at the workspace, and that plan."""
    from tasks.checks.boundaries import on_plan
    from tasks.core.refusals import UserMistake

    try:
        settings = on_plan(Settings(), plan)
    except UserMistake as exc:
        fail(str(exc))
    settings.home.mkdir(parents=True, exist_ok=True)
    quiet_prefect(settings)
    from tasks.people.contacts import current_plan

    return settings, current_plan(settings)  # contacts and the Mesa's plan changes in force


def fail(message: str, code: int = 2) -> NoReturn:
    console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def refuses_mistakes(command: Callable[..., None]) -> Callable[..., None]:
    """A command whose user mistakes (``tasks.checks.boundaries.UserMistake``) end in one sentence
    and
    exit 2, never a traceback."""

    @functools.wraps(command)
    def checked(*args: Any, **kwargs: Any) -> None:
        from tasks.core.refusals import UserMistake

        try:
            command(*args, **kwargs)
        except UserMistake as exc:
            fail(str(exc))

    return checked


def unsent(settings: Settings, since: datetime, kinds: tuple[str, ...], what: str) -> None:
    """Exit 1 with one sentence when emails of this run did not go out; say why for each."""
    from tasks.checks.boundaries import unsent_since

    emails = unsent_since(settings, since, kinds)
    for email in emails:
        console.print(f"{email.key}: {email.status} ({email.error or 'no reason recorded'})")
    if emails:
        fail(
            f"{len(emails)} {what} not sent (reasons above, and in `hitos status`); "
            "run the command again to retry those that failed",
            1,
        )


def print_status(
    settings: Settings, plan: Plan, cycle_id: str, as_json: bool, today: date | None = None
) -> None:
    from tasks.checks.boundaries import known_cycle
    from tasks.cycle.status import cycle_status

    rows = [
        r.as_dict() for r in cycle_status(settings, plan, known_cycle(settings, cycle_id), today)
    ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
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
    table = Table(*headers.values(), title=title)
    for row in rows:
        extended = "*" if row["extension"] else ""  # its own deadline: the extension's
        shown = {**row, "deadline": row["deadline"] + extended}
        table.add_row(*(str(shown[c]) for c in headers))
    console.print(table)
    for row in rows:
        for email in row["undelivered"]:
            console.print(
                f"{row['institution']}: {email['kind']} {email['key']} {email['status']}: "
                f"{email['error'] or 'no reason recorded'}",
                markup=False,
                highlight=False,
            )
    print_malformed(settings)


def print_malformed(settings: Settings, only: set[str] | None = None) -> None:
    """The messages intake could not take apart: kept raw, never marked done without saying."""
    from tasks.mail.malformed import malformed_messages

    messages = [m for m in malformed_messages(settings) if only is None or m.message_id in only]
    if not messages:
        return
    console.print(f"[yellow]{len(messages)} message(s) could not be read[/yellow] (kept raw):")
    for m in messages:
        console.print(
            f"  {m.received_at:%Y-%m-%d %H:%M} {m.sender or '?'} «{m.subject}»: {m.problem}",
            markup=False,
            highlight=False,
        )


@app.command()
def demo(
    cycle: Annotated[str, typer.Option(help="Cycle to simulate.")] = "2023-03",
    then: Annotated[str, typer.Option(help="A later cycle to simulate ('' for none).")] = "2023-08",
    plan_name: PlanOption = "",
) -> None:
    """Run a whole simulated cycle of the sample plan in the workspace, then a later one."""
    settings, plan = settings_and_plan(plan_name)
    from flows.demo import demo as demo_flow

    files = demo_flow(cycle, then, plan=str(settings.plan))
    cycle = then or cycle
    console.rule("Hitos demo finished")
    from tasks.simulation import simulated_day

    day = simulated_day(settings, plan, cycle)
    console.print(f"Status as of {day.isoformat()}, the demo's simulated day:")
    print_status(settings, plan, cycle, as_json=False, today=day)
    home = settings.home.resolve()
    console.print(f"Workspace      {home}")
    console.print(f"Request files  {home / 'requests' / plan.id / cycle}")
    console.print(f"Outbox         {home / 'mail' / 'outbox'}  (what institutions received)")
    console.print(f"Inbox          {home / 'mail' / 'inbox'}  (what institutions sent)")
    console.print(
        f"Data Docs      {home / 'data-docs' / plan.id / cycle / 'index.html'}  (for reviewers)"
    )
    for name in ("latest_html", "latest_pdf", "latest_xlsx", "latest_csv"):
        console.print(f"Report {name[7:]:<7} {Path(files[name]).resolve()}")
    board = home / "board" / plan.id / "index.html"
    console.print(f"Public board   {board}  (every published cycle)")
    print_mesa_papers(files)
    console.print("The directorate's console on this workspace (first account, then the server):")
    console.print(f"  export HITOS_HOME={home}")
    hitos = "hitos" if shutil.which("hitos") else str(Path(sys.argv[0]).resolve())
    console.print(f"  {hitos} users add directora@gae.example --role director  (password on stdin)")
    console.print(f"  {hitos} serve   then open http://127.0.0.1:8000/")


@cycle_app.command("open")
@refuses_mistakes
def cycle_open(
    cycle: CycleArg,
    dry_run: Annotated[
        bool, typer.Option(help="Render workbooks and emails to a folder; send nothing.")
    ] = False,
    plan_name: PlanOption = "",
) -> None:
    """Open a cycle: build every institution's workbook and email it."""
    settings, _ = settings_and_plan(plan_name)
    from flows.open_cycle import open_cycle
    from tasks.checks.boundaries import cycle_id
    from tasks.storage.ledger import utcnow

    started = utcnow()
    results = open_cycle(cycle_id(cycle), dry_run=dry_run, plan=str(settings.plan))
    table = Table("email", "preview (.eml)" if dry_run else "status")
    for key, status in results.items():
        table.add_row(key, Path(status).name if dry_run else status)
    console.print(table)
    if dry_run and results:
        folder = Path(next(iter(results.values()))).parent
        console.print(f"Nothing was sent. Workbooks and emails are in {folder}")
    if not dry_run:
        unsent(settings, started, ("request",), "request email(s) were")


@cycle_app.command("close")
def cycle_close(cycle: CycleArg, plan_name: PlanOption = "") -> None:
    """Close a cycle: no more reminders; files are still taken in, consolidation still works."""
    settings, _ = settings_and_plan(plan_name)
    from tasks.cycle.closing import close_cycle

    try:
        close_cycle(settings, cycle)
    except ValueError as exc:
        fail(str(exc))
    console.print(f"Cycle {settings.plan_id}/{cycle} closed: no more reminders.")


@app.command()
@refuses_mistakes
def remind(
    cycle: Annotated[str, typer.Argument(help="Cycle id; all open cycles if omitted.")] = "",
    today: Annotated[str, typer.Option(help="Pretend today is this date (YYYY-MM-DD).")] = "",
    plan_name: PlanOption = "",
) -> None:
    """Send the reminders due today to institutions without an accepted file."""
    settings, _ = settings_and_plan(plan_name)
    from flows.remind import remind as remind_flow
    from tasks.checks.boundaries import known_cycle
    from tasks.storage.ledger import utcnow

    started = utcnow()
    cycle = known_cycle(settings, cycle) if cycle else ""
    results = remind_flow(
        cycle, date.fromisoformat(today) if today else None, plan=str(settings.plan)
    )
    for key, status in results.items():
        console.print(f"{key:<40} {status}")
    if not results:
        console.print("No reminder due.")
    unsent(settings, started, ("reminder",), "reminder(s) were")


@app.command()
def intake(plan_name: PlanOption = "") -> None:
    """Read the inbox and the drop folder, validate new files, reply to senders."""
    settings, _ = settings_and_plan(plan_name)
    from flows.intake import intake as intake_flow
    from tasks.mail.automatic import recorded_after
    from tasks.mail.malformed import malformed_messages
    from tasks.storage.ledger import utcnow

    _, before = recorded_after(settings, None)
    started = utcnow()
    malformed_before = {m.message_id for m in malformed_messages(settings)}
    outcomes = intake_flow(plan=str(settings.plan))
    automatic, _ = recorded_after(settings, before)
    for outcome in outcomes:
        console.print(outcome.summary())
    for item in automatic:  # bounces and auto-replies: recorded, never read or answered
        bounced = f", {item.email_key} marked bounced" if item.email_key else ""
        console.print(f"{item.kind} from {item.sender or '?'}: {item.reason}{bounced}")
    if not outcomes and not automatic:
        console.print("Nothing new.")
    print_malformed(
        settings, {m.message_id for m in malformed_messages(settings)} - malformed_before
    )
    answers = ("reply", "missing-workbook", "malformed", "bounce-notice")
    unsent(settings, started, answers, "answer(s) were")


@app.command()
@refuses_mistakes
def consolidate(
    cycle: CycleArg,
    by: Annotated[str, typer.Option(help="Who asks, for the audit trail.")] = "",
    plan_name: PlanOption = "",
) -> None:
    """Build the cycle's draft report (page, PDF, XLSX, CSV); the director is told to publish it."""
    settings, plan = settings_and_plan(plan_name)
    from flows.consolidate import consolidate as consolidate_flow
    from tasks.checks.boundaries import known_cycle
    from tasks.publication.approval import state_of

    cycle = known_cycle(settings, cycle)
    made = consolidate_flow(cycle, plan=str(settings.plan), by=actor(by))
    for name, path in made.items():
        console.print(f"{name:<12} {path}")
    state = state_of(settings, plan, cycle)
    if state.draft is not None:
        console.print(
            f"Draft v{state.draft.version}: public only once the director publishes it "
            f"(hitos publish {cycle} --plan {settings.plan_id})."
        )
    elif state.published is not None:
        console.print(
            f"v{state.published.version} is published and matches the ledger: nothing new to "
            "publish."
        )


@app.command()
def board(
    as_json: Annotated[bool, typer.Option("--json")] = False, plan_name: PlanOption = ""
) -> None:
    """Rebuild the public board (.hitos/board/) from every published report."""
    settings, plan = settings_and_plan(plan_name)
    from tasks.publication.board import build_board

    if as_json or not console.is_terminal:
        result = build_board(settings, plan)
    else:
        with console.status("Building the public board…"):
            result = build_board(settings, plan)
    shown = ", ".join(f"{cycle} v{version}" for cycle, version in result.published.items())
    if as_json:
        summary = {
            "folder": str(result.folder.resolve()),
            "cycles": result.published,
            "pages": result.pages,
            "files": result.files,
            "bytes": result.size,
        }
        typer.echo(json.dumps(summary, indent=2))
        return
    console.print(
        f"Board: {result.pages} pages, {result.files} files, {result.size / 1e6:.1f} MB in "
        f"{result.folder.resolve()} ({shown or 'no published report yet'})"
    )


@app.command()
@refuses_mistakes
def status(
    cycle: CycleArg,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    today: Annotated[str, typer.Option(help="Status as of this date (YYYY-MM-DD).")] = "",
    plan_name: PlanOption = "",
) -> None:
    """Per institution: request sent, reminders, last submission and outcome, days late."""
    settings, plan = settings_and_plan(plan_name)
    print_status(settings, plan, cycle, as_json, date.fromisoformat(today) if today else None)


@app.command()
@refuses_mistakes
def submit(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Workbook to submit.")],
    institution: Annotated[
        str, typer.Option(help="Institution code, if the file does not say.")
    ] = "",
    cycle: Annotated[str, typer.Option(help="Cycle id, if the file does not say.")] = "",
    as_json: Annotated[bool, typer.Option("--json")] = False,
    plan_name: PlanOption = "",
) -> None:
    """Run intake on one file; print outcome and findings (exit 0 accepted, 1 rejected, 2 other)."""
    settings, plan = settings_and_plan(plan_name)
    from tasks.checks.boundaries import institution_code, known_cycle
    from tasks.cycle.intake import outcome_of, process, store
    from tasks.mail.inbox import Attachment, Received

    institution = institution_code(plan, institution) if institution else ""
    cycle = known_cycle(settings, cycle) if cycle else ""
    data = file.read_bytes()
    received = Received(
        message_id="cli:" + hashlib.sha256(data).hexdigest(),
        channel="cli",
        sender="",
        attachments=[Attachment(file.name, data)],
    )
    store(
        settings,
        [received],
        institution=institution or None,
        cycle_id=cycle or None,
        plan_id=plan.id if institution and cycle else None,
    )
    process(settings, plan, with_docs=True)
    outcome = outcome_of(settings, hashlib.sha256(data).hexdigest())
    result = {
        "outcome": outcome.outcome,
        "institution": outcome.institution,
        "plan": outcome.plan,
        "cycle": outcome.cycle,
        "findings": [f.as_dict() for f in outcome.findings],
    }
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        who = f"{outcome.institution or '?'}, {outcome.plan or '?'}/{outcome.cycle or '?'}"
        console.print(f"{file.name}: [bold]{outcome.outcome}[/bold] ({who})")
        print_findings(outcome.findings)
    raise typer.Exit(
        {"accepted": 0, "accepted_with_warnings": 0, "rejected": 1}.get(outcome.outcome, 2)
    )


def print_findings(findings: list[Finding]) -> None:
    from tasks.rendering import render

    if findings:
        console.print(
            render("email/_findings.txt", findings=findings), markup=False, highlight=False
        )


@app.command()
@refuses_mistakes
def findings(
    cycle: CycleArg,
    institution: Annotated[str, typer.Option(help="Only this institution.")] = "",
    as_json: Annotated[bool, typer.Option("--json")] = False,
    plan_name: PlanOption = "",
) -> None:
    """Every validation result of a cycle, per submission, for reviewers."""
    settings, plan = settings_and_plan(plan_name)
    from tasks.checks.boundaries import institution_code, known_cycle
    from tasks.cycle.intake import cycle_outcomes

    cycle = known_cycle(settings, cycle)
    institution = institution_code(plan, institution) if institution else ""
    outcomes = cycle_outcomes(settings, plan.id, cycle, institution or None)
    evidence = evidence_files(settings, [o.submission_id for o in outcomes])
    if as_json:
        typer.echo(
            json.dumps(
                [{**o.as_dict(), "evidence": evidence.get(o.submission_id, [])} for o in outcomes],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    for outcome in outcomes:
        title = f"#{outcome.submission_id} {outcome.institution} {outcome.filename}"
        console.print(f"[bold]{title}[/bold]: {outcome.outcome}")
        print_findings(outcome.findings)
        for item in evidence.get(outcome.submission_id, []):
            console.print(
                f"  evidence: {item['filename']} ({item['size']} bytes, {item['sha256']})"
            )


def evidence_files(
    settings: Settings, submission_ids: list[int]
) -> dict[int, list[dict[str, object]]]:
    """Submission id → the evidence files that came with it (name, size, file-store key)."""
    from tasks.mail.arrivals import evidence_of
    from tasks.storage.ledger import session

    with session(settings.database) as db:
        return {
            sid: [{"filename": e.filename, "size": e.size, "sha256": e.sha256} for e in rows]
            for sid, rows in evidence_of(db, submission_ids).items()
        }


@app.command()
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
    as_json: Annotated[bool, typer.Option("--json")] = False,
    plan_name: PlanOption = "",
) -> None:
    """List the contacts in force (`hitos contacts [CODE]` shows CODE's history) or change them
    (`hitos contacts set CODE --liaison EMAIL [--name NAME] [--head EMAIL]`)."""
    import getpass

    from tasks.people.contacts import ContactLine, contact, history, set_contacts

    settings, _ = settings_and_plan(plan_name)
    plan_file = load_plan(settings.plan)
    if code == "set":
        if not target or not (liaison or head):
            fail("usage: hitos contacts set CODE --liaison EMAIL [--name NAME] [--head EMAIL]")
        try:
            plan_file.institution(target)
            set_contacts(
                settings,
                plan_file,
                target,
                liaison=contact(name, liaison) if liaison else None,
                head=contact(head_name, head) if head else None,
                valid_from=date.fromisoformat(valid_from) if valid_from else None,
                changed_by=by or getpass.getuser(),
                reason=why,
            )
        except (KeyError, ValueError) as exc:
            fail(str(exc).strip("'\""))
        code = target
        console.print(f"{target}: new contacts recorded, in force from {valid_from or 'today'}")
    try:
        lines = history(settings, plan_file, code or None)
    except KeyError as exc:
        fail(str(exc).strip("'\""))
        return
    if as_json:
        typer.echo(json.dumps([line.as_dict() for line in lines], ensure_ascii=False, indent=2))
        return

    def since(line: ContactLine) -> str:
        return line.valid_from.isoformat() if line.valid_from else "(plan)"

    table = Table(title=f"{code} contacts" if code else "Contacts in force")
    if not code:
        table.add_column("institution", no_wrap=True)
    table.add_column("role", no_wrap=True)
    table.add_column("name")
    table.add_column("email", no_wrap=True)  # the one thing an operator must read whole
    table.add_column("from", no_wrap=True)
    if not code:
        for line in lines:
            table.add_row(line.institution, line.role, line.name, line.email, since(line))
    else:
        for name in ("by", "why", "now"):
            table.add_column(name)
        for line in lines:
            now = "yes" if line.current else ""
            table.add_row(
                line.role, line.name, line.email, since(line), line.changed_by, line.reason, now
            )
    console.print(table)


@app.command()
@refuses_mistakes
def resend(
    cycle: CycleArg,
    code: Annotated[str, typer.Argument(help="Institution code.")],
    same_address: Annotated[
        bool, typer.Option(help="Send again even though the liaison's address is unchanged.")
    ] = False,
    plan_name: PlanOption = "",
) -> None:
    """Send a refused or bounced request again, to the institution's current liaison."""
    settings, plan = settings_and_plan(plan_name)
    from tasks.checks.boundaries import institution_code, known_cycle
    from tasks.cycle.resend import resend_request

    cycle, code = known_cycle(settings, cycle), institution_code(plan, code)
    try:
        key, status = resend_request(settings, plan, cycle, code, same_address)
    except ValueError as exc:
        fail(str(exc))
        return
    console.print(f"{key:<40} {status} (to {plan.institution(code).liaison.email})")
    if status != "sent":
        raise typer.Exit(1)


plan_app = typer.Typer(help="Check, import and export action plans.", no_args_is_help=True)
app.add_typer(plan_app, name="plan")


def print_plan_problems(problems: list, source: str) -> None:
    for problem in problems:
        console.print("[red]✗[/red]", end=" ")
        console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
    plural = "s" if len(problems) != 1 else ""
    console.print(f"{source}: {len(problems)} problem{plural}.", soft_wrap=True)


@plan_app.command("check")
def plan_check(
    path: Annotated[
        Path | None, typer.Argument(help="Plan YAML file (default: the --plan's).")
    ] = None,
    plan_name: PlanOption = "",
) -> None:
    """Check a plan: links, unique codes, leads, dates inside the plan's period."""
    from tasks.checks.boundaries import plan_file
    from tasks.core.refusals import UserMistake
    from tasks.plans.check import check_file

    try:
        target = path or plan_file(Settings(), plan_name)
    except UserMistake as exc:
        fail(str(exc))
        return
    problems = check_file(target)
    if problems:
        print_plan_problems(problems, str(target))
        raise typer.Exit(1)
    console.print(f"{target}: no problems.")


@plan_app.command("import")
def plan_import(
    table: Annotated[Path, typer.Argument(help="The directorate's table (.xlsx).")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the plan YAML here.")
    ] = None,
) -> None:
    """Turn the directorate's table of institutions, commitments and milestones into a plan."""
    from tasks.plans.spreadsheet import import_plan

    try:
        data = table.read_bytes()
    except OSError as exc:
        fail(f"cannot read {table}: {exc.strerror}")
        return
    imported = import_plan(data)
    if imported.problems:
        print_plan_problems(imported.problems, str(table))
        raise typer.Exit(1)
    if output is None:
        typer.echo(imported.yaml(), nl=False)
        return
    output.write_text(imported.yaml(), encoding="utf-8")
    plan = imported.data
    milestones = sum(len(c["milestones"]) for c in plan["commitments"])
    console.print(
        f"{output}: plan {plan['id']} with {len(plan['institutions'])} institutions, "
        f"{len(plan['commitments'])} commitments and {milestones} milestones."
    )


@plan_app.command("export")
def plan_export(
    output: Annotated[Path, typer.Argument(help="Where to write the table (.xlsx).")],
    plan_name: PlanOption = "",
) -> None:
    """Write the plan (HITOS_PLAN) as the directorate's table, the format `plan import` reads."""
    from tasks.catalogues import language_of
    from tasks.plans.spreadsheet import export_plan

    settings, plan = settings_and_plan(plan_name)
    output.write_bytes(export_plan(plan, language_of(settings, plan)))
    console.print(f"{output}: {len(plan.milestones)} milestones of plan {plan.id}.")


ByOption = Annotated[
    str, typer.Option("--by", help="Who decides, for the audit trail (default: your login).")
]


def actor(by: str) -> str:
    import getpass

    return by or getpass.getuser()


@review_app.command("list")
def review_list(
    cycle: CycleArg,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    plan_name: PlanOption = "",
) -> None:
    """Every accepted file of a cycle and its review: pending, approved or returned."""
    settings, _ = settings_and_plan(plan_name)
    from tasks.people.review import review_list as items_of

    items = items_of(settings, cycle)
    if as_json:
        typer.echo(json.dumps([i.as_dict() for i in items], ensure_ascii=False, indent=2))
        return
    table = Table("id", "institution", "file", "received", "review", "warnings", "by", "note")
    for i in items:
        review = f"{i.review} (replaced)" if i.superseded else i.review
        table.add_row(
            str(i.submission_id),
            i.institution,
            i.filename,
            i.received_at.isoformat(timespec="minutes"),
            review,
            str(i.warnings),
            i.decided_by,
            i.note,
        )
    console.print(table)
    waiting = sum(i.review == "pending" and not i.superseded for i in items)
    console.print(f"{len(items)} accepted files, {waiting} awaiting review.")


ReconsiderOption = Annotated[
    bool,
    typer.Option(help="Change a decision already taken (by default only files awaiting review)."),
]


@review_app.command("approve")
def review_approve(
    submission: Annotated[int, typer.Argument(help="Submission id (hitos review list).")],
    note: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "",
    by: ByOption = "",
    reconsider: ReconsiderOption = False,
    plan_name: PlanOption = "",
) -> None:
    """Approve an accepted file: it may feed the next publication."""
    settings, plan = settings_and_plan(plan_name)
    from tasks.core.states import Review
    from tasks.people.review import ReviewRefused, approve

    seen = None if reconsider else Review.PENDING
    try:
        done = approve(settings, plan, submission, actor(by), note, seen)
    except ReviewRefused as exc:
        fail(str(exc))
        return
    said = "approved" if done.changed else "was already approved"
    console.print(f"Submission {done.submission_id} ({done.institution}, {done.cycle_id}) {said}.")


@review_app.command("return")
def review_return(
    submission: Annotated[int, typer.Argument(help="Submission id (hitos review list).")],
    note: Annotated[str, typer.Option(help="What the institution must fix (emailed to it).")],
    by: ByOption = "",
    reconsider: ReconsiderOption = False,
    plan_name: PlanOption = "",
) -> None:
    """Return an accepted file to its institution with a comment; reminders resume."""
    settings, plan = settings_and_plan(plan_name)
    from tasks.core.states import Review
    from tasks.people.review import ReviewRefused, return_submission

    seen = None if reconsider else Review.PENDING
    try:
        done = return_submission(settings, plan, submission, actor(by), note, seen)
    except ReviewRefused as exc:
        fail(str(exc))
        return
    if not done.changed:
        console.print(f"Submission {done.submission_id} was already returned; nothing sent.")
        return
    for key, status in done.emails.items():
        console.print(f"{key:<40} {status}")
    console.print(f"Submission {done.submission_id} ({done.institution}) returned.")


@app.command()
def extend(
    cycle: CycleArg,
    institution: Annotated[str, typer.Argument(help="Institution code (e.g. MARN).")],
    until: Annotated[str, typer.Option(help="New deadline, YYYY-MM-DD (inclusive).")],
    reason: Annotated[str, typer.Option(help="Why, for the audit trail and the report.")],
    by: ByOption = "",
    plan_name: PlanOption = "",
) -> None:
    """Give one institution more time in a cycle: reminders, on time and the report follow."""
    settings, plan = settings_and_plan(plan_name)
    from tasks.cycle.extensions import ExtensionRefused
    from tasks.cycle.extensions import extend as grant

    try:
        day = date.fromisoformat(until)
    except ValueError:
        fail(f"--until must be a date as YYYY-MM-DD, not {until!r}")
        return
    try:
        granted = grant(settings, plan, cycle, institution.upper(), day, reason, actor(by))
    except ExtensionRefused as exc:
        fail(str(exc))
        return
    console.print(
        f"{granted.institution} has until {granted.until.isoformat()} in cycle {plan.id}/{cycle}."
    )


@app.command()
def publish(cycle: CycleArg, by: ByOption = "", plan_name: PlanOption = "") -> None:
    """Publish the cycle's draft report: the public files change now, and only now."""
    settings, plan = settings_and_plan(plan_name)
    from tasks.publication.approval import PublicationRefused, publish_draft

    try:
        publication = publish_draft(settings, plan, cycle, actor(by))
    except PublicationRefused as exc:
        fail(str(exc))
        return
    for name, path in publication.paths.items():
        if name.startswith("latest_"):
            console.print(f"{name:<12} {path}")
    console.print(f"Published {plan.id}/{cycle} v{publication.report.version}.")


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The person's email, their sign-in name.")],
    role: Annotated[str, typer.Option(help="director, reviewer or cso (civil society).")],
    org: Annotated[
        str, typer.Option(help="For --role cso: the Mesa's organisation it speaks for.")
    ] = "",
) -> None:
    """Create a console account (or reset one); the password is read from standard input."""
    settings, plan = settings_and_plan()
    from tasks.core.refusals import DecisionRefused
    from tasks.mesa.accounts import add_member_account
    from tasks.people.accounts import AccountRefused, add_user

    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass("Password: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        account = (
            add_member_account(settings, plan, email, org, password)[0]
            if role == "cso"
            else add_user(settings, email, role, password)
        )
    except (AccountRefused, DecisionRefused) as exc:
        fail(str(exc))
        return
    console.print(f"{account.email} can sign in to the console as {account.role}.")


@users_app.command("unlock")
def users_unlock(
    email: Annotated[str, typer.Argument(help="The account whose sign-in throttle to clear.")],
    by: ByOption = "",
) -> None:
    """Clear an account's sign-in throttle: every address may try it again at once."""
    settings, _ = settings_and_plan()
    from tasks.people.accounts import unlock

    forgiven = unlock(settings, email, actor(by))
    console.print(f"{email}: sign-in throttle cleared ({forgiven} recent failures forgiven).")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (sessions and limits live in the ledger).")
    ] = 1,
    plan_name: PlanOption = "",
) -> None:
    """Run the directorate's console (web) on the workspace."""
    settings, _ = settings_and_plan(plan_name)
    os.environ["HITOS_PLAN"] = str(settings.plan)  # each worker reads its settings from here
    import uvicorn

    console.print(f"Console on http://{host}:{port}/ (workspace {settings.home.resolve()})")
    uvicorn.run(
        "console.app:from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


@server_app.command("setup")
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
    if not os.environ.get("PREFECT_API_URL"):
        fail("PREFECT_API_URL is not set: it must name the Prefect server (README, step 4).")
    from flows.automations import crash_silent_runs, default_grace, install

    grace = grace or default_grace()
    outcome = install(crash_silent_runs(grace), grace)
    automation = crash_silent_runs(grace)
    console.print(f"Automation {automation.name!r} {outcome}.", highlight=False)


register_mesa(app, plan_app)  # the Mesa Técnica's commands (hitos_cli_mesa.py)


def main() -> None:
    """Entry point with one actionable sentence on failure; tracebacks only with HITOS_DEBUG=1."""
    try:
        app()
    except Exception as exc:
        if os.environ.get("HITOS_DEBUG"):
            raise
        console.print(f"[red]error:[/red] {exc} (set HITOS_DEBUG=1 for the traceback)")
        sys.exit(2)


if __name__ == "__main__":
    main()
