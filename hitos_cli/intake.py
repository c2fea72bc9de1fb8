"""What arrives: ``intake`` (the inbox and the drop folder), ``submit`` (one file by hand),
``findings`` (every validation result of a cycle, for reviewers).

The CLI's own words are English, for operators; a finding is printed in the plan's language,
as the institution read it in its reply (``HITOS_LANGUAGE`` or the plan's ``language:``).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from hitos_cli.arguments import (
    CycleArg,
    JsonOption,
    PlanOption,
    cycle_option,
    institution,
    on_cycle,
    workspace,
)
from hitos_cli.emails import sent_since
from hitos_cli.output import STARTING, console, counted, echo_json, say, summary, working

if TYPE_CHECKING:
    from tasks.core.findings import Finding
    from tasks.cycle.intake import Outcome
    from tasks.settings import Settings

commands = typer.Typer()

ANSWERS = ("reply", "missing-workbook", "malformed", "bounce-notice")
"""The kinds of email intake answers with."""

EXIT_OF_OUTCOME = {"accepted": 0, "accepted_with_warnings": 0, "rejected": 1}
"""``hitos submit``'s exit code: 0 accepted, 1 rejected, 2 anything else (unreadable,
quarantined)."""


def outcome_words(outcome: str) -> str:
    """An outcome code as an operator reads it: ``accepted_with_warnings`` → accepted with
    warnings."""
    return outcome.replace("_", " ")


def whose(outcome: Outcome) -> str:
    """« for MINGOB, gt-pan5/2023-03» with what intake could tell; empty when nothing."""
    cycle = f"{outcome.plan}/{outcome.cycle}" if outcome.plan and outcome.cycle else ""
    named = ", ".join(part for part in (outcome.institution or "", cycle) if part)
    return f" for {named}" if named else ""


def severities(findings: Sequence[Finding]) -> Counter[str]:
    return Counter(f.severity for f in findings)


def print_findings(findings: Sequence[Finding], language: str) -> None:
    """The findings table every reader gets (the reply's partial), in the plan's language."""
    from tasks.rendering import render

    if findings:
        say(render("email/_findings.txt", language, findings=findings).strip("\n"))


def print_malformed(settings: Settings, only: set[str] | None = None) -> None:
    """The messages intake could not take apart: kept raw, never marked done without saying."""
    from tasks.mail.malformed import malformed_messages

    messages = [m for m in malformed_messages(settings) if only is None or m.message_id in only]
    if not messages:
        return
    console.print(f"[yellow]{len(messages)} message(s) could not be read[/yellow] (kept raw):")
    for m in messages:
        say(f"  {m.received_at:%Y-%m-%d %H:%M} {m.sender or '?'} «{m.subject}»: {m.problem}")


def intake_summary(outcomes: Sequence[Outcome], automatic: int, unread: int, answers: int) -> str:
    """«3 files: 2 accepted, 1 rejected; 3 answers sent.»"""
    parts = []
    if outcomes:
        kinds = Counter(o.outcome for o in outcomes).most_common()
        said = ", ".join(f"{n} {outcome_words(kind)}" for kind, n in kinds)
        parts.append(f"{counted(len(outcomes), 'file')}: {said}")
    if automatic:
        parts.append(f"{counted(automatic, 'automatic message')} recorded")
    if unread:
        parts.append(f"{counted(unread, 'message')} could not be read")
    if not parts:
        return f"Nothing new; {counted(answers, 'answer')} sent." if answers else "Nothing new."
    return "; ".join([*parts, f"{counted(answers, 'answer')} sent"]) + "."


@commands.command()
def intake(plan_name: PlanOption = "") -> None:
    """Read the inbox and the drop folder, validate new files, reply to senders."""
    settings, _ = workspace(plan_name)
    with working("Intake: the inbox and the drop folder", first=STARTING):
        from flows.intake import intake as intake_flow
        from tasks.mail.automatic import recorded_after
        from tasks.mail.malformed import malformed_messages
        from tasks.storage.ledger import utcnow

        _, before = recorded_after(settings, None)
        started = utcnow()
        malformed_before = {m.message_id for m in malformed_messages(settings)}
        outcomes = intake_flow(plan=str(settings.plan))
        automatic, _ = recorded_after(settings, before)
        unread = {m.message_id for m in malformed_messages(settings)} - malformed_before
    for o in outcomes:
        found = severities(o.findings)
        say(
            f"#{o.submission_id} {o.filename}{whose(o)}: {outcome_words(o.outcome)} "
            f"({counted(found['error'], 'error')}, {counted(found['warning'], 'warning')})"
        )
    for item in automatic:  # bounces and auto-replies: recorded, never read or answered
        bounced = f", {item.email_key} marked bounced" if item.email_key else ""
        say(f"{item.kind} from {item.sender or '?'}: {item.reason}{bounced}")
    print_malformed(settings, unread)
    answers = sent_since(settings, started, ANSWERS, "answer(s) were")
    summary(intake_summary(outcomes, len(automatic), len(unread), answers))


def submit_summary(path: Path, outcome: Outcome) -> str:
    """What happened to one submitted file and, when it was not accepted, what to do."""
    found = severities(outcome.findings)
    said = f"{path.name}: {outcome_words(outcome.outcome)}"
    if outcome.outcome == "quarantined":
        given = {"institution": outcome.institution, "cycle": outcome.cycle}
        unknown = " and ".join(name for name, value in given.items() if not value) or "plan"
        again = (
            f"hitos submit {path} --institution {outcome.institution or 'CODE'} "
            f"--cycle {outcome.cycle or 'YYYY-MM'}" + (" --plan ID" if unknown == "plan" else "")
        )
        return f"{said}: Hitos could not tell which {unknown} it is for; say it: {again}."
    said += whose(outcome)
    if outcome.outcome == "accepted_with_warnings":
        return f"{said} ({counted(found['warning'], 'warning')} above)."
    if outcome.outcome == "rejected":
        return f"{said}: {counted(found['error'], 'error')} to fix (above), then submit it again."
    if outcome.outcome == "unreadable":
        return f"{said}: Hitos could not read it as a workbook (above); nothing was validated."
    return said + "."


@commands.command()
def submit(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Workbook to submit.")],
    code: Annotated[
        str, typer.Option("--institution", help="Institution code, if the file does not say.")
    ] = "",
    cycle: Annotated[str, cycle_option("Cycle id, if the file does not say.")] = "",
    as_json: JsonOption = False,
    plan_name: PlanOption = "",
) -> None:
    """Run intake on one file; print outcome and findings (exit 0 accepted, 1 rejected, 2 other)."""
    settings, plan, cycle = on_cycle(cycle, plan_name)
    code = institution(plan, code) if code else ""
    data = file.read_bytes()
    with working(f"Validating {file.name}", quiet=as_json):
        from tasks.catalogues import language_of
        from tasks.cycle.intake import outcome_of, process, store
        from tasks.mail.inbox import Attachment, Received

        received = Received(
            message_id="cli:" + hashlib.sha256(data).hexdigest(),
            channel="cli",
            sender="",
            attachments=[Attachment(file.name, data)],
        )
        store(
            settings,
            [received],
            institution=code or None,
            cycle_id=cycle or None,
            plan_id=plan.id if code and cycle else None,
        )
        process(settings, plan, with_docs=True)
        outcome = outcome_of(settings, hashlib.sha256(data).hexdigest())
    if as_json:
        echo_json(
            {
                "outcome": outcome.outcome,
                "institution": outcome.institution,
                "plan": outcome.plan,
                "cycle": outcome.cycle,
                "findings": [f.as_dict() for f in outcome.findings],
            }
        )
    else:
        print_findings(outcome.findings, language_of(settings, plan))
        summary(submit_summary(file, outcome))
    raise typer.Exit(EXIT_OF_OUTCOME.get(outcome.outcome, 2))


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


@commands.command()
def findings(
    cycle: CycleArg,
    code: Annotated[str, typer.Option("--institution", help="Only this institution.")] = "",
    as_json: JsonOption = False,
    plan_name: PlanOption = "",
) -> None:
    """Every validation result of a cycle, per submission, for reviewers."""
    settings, plan, cycle = on_cycle(cycle, plan_name)
    code = institution(plan, code) if code else ""
    from tasks.catalogues import language_of
    from tasks.cycle.intake import cycle_outcomes

    outcomes = cycle_outcomes(settings, plan.id, cycle, code or None)
    evidence = evidence_files(settings, [o.submission_id for o in outcomes])
    if as_json:
        echo_json(
            [{**o.as_dict(), "evidence": evidence.get(o.submission_id, [])} for o in outcomes]
        )
        return
    language = language_of(settings, plan)
    for o in outcomes:
        title = f"#{o.submission_id} {o.institution or '?'} {o.filename}"
        console.print(Text.assemble((title, "bold"), f": {outcome_words(o.outcome)}"))
        print_findings(o.findings, language)
        for item in evidence.get(o.submission_id, []):
            say(f"  evidence: {item['filename']} ({item['size']} bytes, {item['sha256']})")
    of = f"{code} in {plan.id}/{cycle}" if code else f"{plan.id}/{cycle}"
    if not outcomes:
        summary(f"No file of {of} yet.")
        return
    kinds = Counter(o.outcome for o in outcomes).most_common()
    found = severities([f for o in outcomes for f in o.findings])
    summary(
        f"{counted(len(outcomes), 'file')} of {of}: "
        + ", ".join(f"{n} {outcome_words(kind)}" for kind, n in kinds)
        + f"; {counted(found['error'], 'error')} and {counted(found['warning'], 'warning')}."
    )
