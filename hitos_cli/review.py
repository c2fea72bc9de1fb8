"""Reviewers' decisions: ``review list``, ``review approve``, ``review return``.

A decision that cannot be taken (a file not accepted, already returned, replaced; the second of
two reviewers acting at once) is a ``ReviewRefused``: one sentence, exit 1 (``hitos_cli.errors``).
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
from hitos_cli.output import console, echo_json, say, summary, table

commands = typer.Typer()
review_commands = typer.Typer(
    help="Review accepted files: approve, or return with a comment.", no_args_is_help=True
)
commands.add_typer(review_commands, name="review")

SubmissionArg = Annotated[int, typer.Argument(help="Submission id (hitos review list).")]
ReconsiderOption = Annotated[
    bool,
    typer.Option(help="Change a decision already taken (by default only files awaiting review)."),
]


@review_commands.command("list")
def review_list(cycle: CycleArg, as_json: JsonOption = False, plan_name: PlanOption = "") -> None:
    """Every accepted file of a cycle and its review: pending, approved or returned."""
    settings, plan, cycle = on_cycle(cycle, plan_name)
    from tasks.people.review import review_list as items_of

    items = items_of(settings, cycle, plan.id)
    if as_json:
        echo_json([i.as_dict() for i in items])
        return
    shown = table("id", "institution", "file", "received", "review", "warnings", "by", "note")
    for i in items:
        review = f"{i.review} (replaced)" if i.superseded else i.review
        shown.add_row(
            str(i.submission_id),
            i.institution,
            i.filename,
            i.received_at.isoformat(timespec="minutes"),
            review,
            str(i.warnings),
            i.decided_by,
            i.note,
        )
    console.print(shown)
    waiting = sum(i.review == "pending" and not i.superseded for i in items)
    summary(f"{plan.id}/{cycle}: {len(items)} accepted files, {waiting} awaiting review.")


@review_commands.command("approve")
def review_approve(
    submission: SubmissionArg,
    note: Annotated[str, typer.Option(help="Why, for the audit trail.")] = "",
    by: ByOption = "",
    reconsider: ReconsiderOption = False,
    plan_name: PlanOption = "",
) -> None:
    """Approve an accepted file: it may feed the next publication."""
    settings, plan = workspace(plan_name)
    from tasks.core.states import Review
    from tasks.people.review import approve
    from tasks.portal.notices import tell_liaisons

    seen = None if reconsider else Review.PENDING
    done = approve(settings, plan, submission, actor(by), note, seen)
    tell_liaisons(settings, plan)  # the liaison learns of the approval
    said = "approved" if done.changed else "was already approved"
    summary(f"Submission {done.submission_id} ({done.institution}, {done.cycle_id}) {said}.")


@review_commands.command("return")
def review_return(
    submission: SubmissionArg,
    note: Annotated[str, typer.Option(help="What the institution must fix (emailed to it).")],
    by: ByOption = "",
    reconsider: ReconsiderOption = False,
    plan_name: PlanOption = "",
) -> None:
    """Return an accepted file to its institution with a comment; reminders resume."""
    settings, plan = workspace(plan_name)
    from tasks.core.states import Review
    from tasks.people.review import return_submission

    seen = None if reconsider else Review.PENDING
    done = return_submission(settings, plan, submission, actor(by), note, seen)
    if not done.changed:
        summary(f"Submission {done.submission_id} was already returned; nothing sent.")
        return
    for key, status in done.emails.items():
        say(f"{key:<40} {status}")
    summary(f"Submission {done.submission_id} ({done.institution}, {done.cycle_id}) returned.")
