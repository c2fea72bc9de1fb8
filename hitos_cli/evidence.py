"""``evidence``: every evidence link of a cycle's files, as its last check found it (reachable,
status, when), and the archived copy (its sha256 and a local copy to open).

Lines rather than a table: a link and a path are never cut, and each pastes as it is.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer

from hitos_cli.arguments import CycleArg, JsonOption, PlanOption, institution, on_cycle
from hitos_cli.output import counted, echo_json, say, summary

commands = typer.Typer()

ANSWERS = {True: "reachable", False: "unreachable", None: "not checked"}


@commands.command()
def evidence(
    cycle: CycleArg,
    code: Annotated[str, typer.Option("--institution", help="Only this institution.")] = "",
    as_json: JsonOption = False,
    plan_name: PlanOption = "",
) -> None:
    """Every evidence link of the files that speak for a cycle: reachable, status, when checked
    (UTC), the archived copy's sha256 and its local copy."""
    settings, plan, cycle = on_cycle(cycle, plan_name)
    code = institution(plan, code) if code else ""
    from tasks.evidence.listing import cycle_links

    links = cycle_links(settings, plan, cycle, code or None)
    if as_json:
        echo_json(links)
        return
    for link in links:
        found = ", ".join(str(x) for x in (link["problem"], link["status"]) if x)
        checked = f" on {link['checked_at']} UTC" if link["checked_at"] else ""
        say(
            f"{link['institution']} {link['milestone']} {link['url']}: "
            f"{ANSWERS[link['reachable']]}{f' ({found})' if found else ''}{checked}"
        )
        if link["copy"]:
            say(f"  copy: {link['copy']}")
    of = f"{code} in {plan.id}/{cycle}" if code else f"{plan.id}/{cycle}"
    answers = Counter(ANSWERS[link["reachable"]] for link in links)
    said = ", ".join(f"{answers[a]} {a}" for a in ANSWERS.values() if answers[a])
    summary(f"{counted(len(links), 'evidence link')} of {of}" + (f": {said}." if links else "."))
