"""``hitos demo``: a whole simulated cycle of the sample plan, then a later one."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from hitos_cli.arguments import PlanOption, cycle_option, workspace
from hitos_cli.cycles import delivery_summary, print_status
from hitos_cli.output import STARTING, heading, say, summary, working

commands = typer.Typer()


@commands.command()
def demo(
    cycle: Annotated[str, cycle_option("Cycle to simulate.")] = "2023-03",
    then: Annotated[str, cycle_option("A later cycle to simulate ('' for none).")] = "2023-08",
    plan_name: PlanOption = "",
) -> None:
    """Run a whole simulated cycle of the sample plan in the workspace, then a later one."""
    settings, plan = workspace(plan_name)
    cycles = f"{cycle} then {then}" if then else cycle
    # 30 to 109 s without a word read as a hang: the status line names each step as it starts.
    with working(f"Demo of {plan.id}, {cycles}", first=STARTING):
        from flows.demo import demo as demo_flow
        from tasks.simulation import simulated_day

        files = demo_flow(cycle, then, plan=str(settings.plan))
        cycle = then or cycle
        day = simulated_day(settings, plan, cycle)
    heading("Hitos demo finished")
    say(f"Status as of {day.isoformat()}, the demo's simulated day:")
    rows = print_status(settings, plan, cycle, as_json=False, today=day)
    home = settings.home.resolve()
    say(f"Workspace      {home}")
    say(f"Request files  {home / 'requests' / plan.id / cycle}")
    say(f"Outbox         {home / 'mail' / 'outbox'}  (what institutions received)")
    say(f"Inbox          {home / 'mail' / 'inbox'}  (what institutions sent)")
    from tasks.checks.data_docs.store import local_site

    docs = local_site(settings, plan, cycle) / "index.html"  # the ledger's site, copied here
    say(f"Data Docs      {docs.resolve()}  (for reviewers)")
    for name in ("latest_html", "latest_pdf", "latest_xlsx", "latest_csv"):
        say(f"Report {name[7:]:<7} {Path(files[name]).resolve()}")
    say(f"Public board   {home / 'board' / plan.id / 'index.html'}  (every published cycle)")
    say("The directorate's console on this workspace (first account, then the server):")
    say(f"  export HITOS_HOME={home}")
    hitos = "hitos" if shutil.which("hitos") else str(Path(sys.argv[0]).resolve())
    say(f"  {hitos} users add directora@gae.example --role director  (password on stdin)")
    say(f"  {hitos} serve   then open http://127.0.0.1:8000/")
    summary(delivery_summary(plan.id, cycle, rows))
