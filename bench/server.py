"""``python -m bench.server [--sizes 10 100 1000] [--milestones 20] [--json FILE] [--workdir DIR]``.

A cycle's four deployments (open-cycle → intake → remind → consolidate) run through a real
Prefect server on PostgreSQL with two process workers (``bench.prefect_site``: the README's own
commands), against the same stages in-process (``bench.stages``), at each size, in one run.

Both sides use a PostgreSQL ledger of their own and the embedded SMTP server, and read the same
synthetic answers from a Maildir (the two workers share one workspace here, so that intake reads
the inbox the in-process stage reads; ``tests/test_server.py`` covers workers on two disks).
Runs are started through the API, as ``prefect deployment run`` does, so the CLI's own start-up
is not counted. A deployment run's time is from its creation to its final state: the worker's
poll, a fresh interpreter with its imports, the YAML plan, Great Expectations' context, Prefect's
task runs and events, then the work. The in-process stage times the work alone. Their difference
per institution is the orchestration overhead (target ≤ 20 ms, as on the embedded server).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from prefect.client.schemas.objects import StateType
from rich.console import Console
from rich.table import Table

from bench import synthetic
from bench.prefect_site import PROCESS, WARM, PrefectApi, database, prefect_server, workers
from bench.runner import StageFailed, child_environment, free_port, prepare_plan, run_stage
from bench.stages import CYCLE, approve_all, reminder_day
from tasks.mail.local_server import local_smtp_server
from tasks.plans.plan import Plan
from tasks.settings import Settings

TARGET_MS = 20.0
"""Issue #26: orchestration per institution at N = 1,000."""
TARGET_S = 10.0
"""Issue #26: a deployment run's fixed cost (seconds beyond the same work in-process)."""
STAGES = ("open", "intake", "remind", "consolidate")
DEPLOYMENTS = {
    "open": "hitos.open-cycle/open-cycle",
    "intake": "hitos.intake/intake",
    "remind": "hitos.remind/remind",
    "consolidate": "hitos.consolidate/consolidate",
}
IN_PROCESS = {"open": ("open",), "intake": ("intake", "reply"), "remind": ("remind",)}
"""The ``bench.stages`` stages that do what each deployment does (intake also replies)."""
RUN_TIMEOUT = 3600.0


@dataclass
class Comparison:
    """One size: each stage's seconds in-process and through the server."""

    institutions: int
    in_process: dict[str, float] = field(default_factory=dict)
    server: dict[str, float] = field(default_factory=dict)
    server_in_run: dict[str, float] = field(default_factory=dict)
    """Seconds the flow run spent Running (after the worker's poll and the process start)."""

    def total(self, side: dict[str, float]) -> float:
        return sum(side[stage] for stage in STAGES)

    def overhead_ms(self, stage: str | None = None) -> float:
        """Orchestration per institution: server minus in-process, in ms (``None``: total)."""
        if stage is None:
            extra = self.total(self.server) - self.total(self.in_process)
        else:
            extra = self.server[stage] - self.in_process[stage]
        return 1000 * extra / self.institutions

    def extra_s(self, stage: str) -> float:
        """A run's fixed cost: seconds through the server beyond the same work in-process."""
        return self.server[stage] - self.in_process[stage]

    def ratio(self, stage: str | None = None) -> float:
        """Server ÷ in-process (``None``: the four stages together)."""
        if stage is None:
            return self.total(self.server) / self.total(self.in_process)
        return self.server[stage] / self.in_process[stage]


class Progress:
    """One status line while the bench runs (rich), silent when piped or writing JSON."""

    def __init__(self, console: Console, quiet: bool) -> None:
        self.console, self.quiet = console, quiet
        self.status: Any = None

    @contextmanager
    def shown(self) -> Iterator[Progress]:
        if self.quiet:
            yield self
            return
        with self.console.status("starting") as status:
            self.status = status
            yield self

    def __call__(self, text: str) -> None:
        if self.status is not None:
            self.status.update(text)


def in_process(workdir: Path, plan_path: Path, plan: Plan, ledger: str, say: Any) -> dict:
    """The four stages as plain functions, each in a fresh interpreter (``bench.stages``)."""
    workspace, port = workdir / "in-process", free_port()
    env = child_environment(workspace, plan_path, port, workdir / "prefect")
    env["HITOS_DATABASE_URL"] = ledger
    settings = Settings(home=workspace, plan=plan_path, smtp_port=port, database_url=ledger)
    walls: dict[str, float] = {}
    with local_smtp_server(
        settings.folder("mail", "inbox"), settings.folder("mail", "outbox"), settings.sender, port
    ):
        for stage in ("open", "answers", "intake", "reply", "remind", "consolidate"):
            say(f"N={plan_size(plan)} in-process: {stage}")
            if stage == "answers":
                answers = synthetic.answers(settings, plan, workers=os.cpu_count() or 1)
                synthetic.write_answers(workdir / "answers", answers)  # for intake's read-only
                synthetic.deliver_to_inbox(settings, answers)
                continue
            measured = run_stage(stage, workdir, env)
            # The intake flow checks the evidence links too; the reply stage times them apart.
            walls[stage] = float(measured["wall"]) + measured["parts"].get("check-links", 0.0)
    return {name: sum(walls[part] for part in IN_PROCESS.get(name, (name,))) for name in STAGES}


def plan_size(plan: Plan) -> int:
    return len(plan.reporting_institutions())


def through_server(
    api: PrefectApi,
    workdir: Path,
    plan_path: Path,
    plan: Plan,
    ledger: str,
    say: Any,
    worker: str = WARM,
) -> tuple[dict[str, float], dict[str, float]]:
    """The four deployments, one after the other, on two workers of one kind (``WARM`` or
    ``PROCESS``), timed once both are taking runs; seconds each, total and Running."""
    workspace, port = workdir / "server", free_port()
    settings = Settings(home=workspace, plan=plan_path, smtp_port=port, database_url=ledger)
    machine = {
        "HITOS_HOME": str(workspace),
        "HITOS_PLAN": str(plan_path),
        "HITOS_DATABASE_URL": ledger,
        "HITOS_SMTP_PORT": str(port),
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    machines = {name: (workdir / f"worker-{name}", machine) for name in ("east", "west")}
    walls: dict[str, float] = {}
    running: dict[str, float] = {}

    def parameters(stage: str) -> dict[str, Any]:
        if stage == "remind":
            return {"today": reminder_day(settings, plan).isoformat()}
        return {"cycle_id": CYCLE} if stage in ("open", "consolidate") else {}

    with (
        local_smtp_server(
            settings.folder("mail", "inbox"),
            settings.folder("mail", "outbox"),
            settings.sender,
            port,
        ),
        workers(api, machines, dict.fromkeys(machines, worker)),
    ):
        for stage in STAGES:
            if stage == "intake":
                say(f"N={plan_size(plan)} server: answers (set-up)")
                answers = synthetic.answers(settings, plan, workers=os.cpu_count() or 1)
                synthetic.deliver_to_inbox(settings, answers)
            if stage == "consolidate":  # set-up, as in-process: the reviewers approve all
                approve_all(settings, plan)
            say(f"N={plan_size(plan)} server: {DEPLOYMENTS[stage]}")
            started = time.perf_counter()
            run_id = api.create_run(DEPLOYMENTS[stage], parameters(stage))
            [state] = api.wait(run_id, timeout=RUN_TIMEOUT, poll=0.2)
            walls[stage] = time.perf_counter() - started
            if state != StateType.COMPLETED.value:
                raise StageFailed(f"{DEPLOYMENTS[stage]} ended {state}; logs in {workdir}")
            running[stage] = float(api.flow_run(run_id)["total_run_time"])
    return walls, running


def compare(
    api: PrefectApi, workdir: Path, institutions: int, milestones: int, say: Any, worker: str
) -> Comparison:
    """One size, in-process then through the server, each on a fresh ledger."""
    workdir.mkdir(parents=True, exist_ok=True)
    plan_path, plan = prepare_plan(workdir, institutions, milestones)
    result = Comparison(institutions)
    with database("hitos_bench", "psycopg") as ledger:
        result.in_process = in_process(workdir, plan_path, plan, ledger, say)
    with database("hitos_bench", "psycopg") as ledger:
        result.server, result.server_in_run = through_server(
            api, workdir, plan_path, plan, ledger, say, worker
        )
    return result


def table(results: list[Comparison], worker: str = WARM) -> Table:
    """A row per stage and size: seconds each way, the run's fixed cost, the ratio and the
    overhead per institution."""
    kind = "warm workers (hitos server worker)" if worker == WARM else "process workers"
    grid = Table(title=f"A cycle through deployments (2 {kind}) vs in-process")
    for heading in (
        "N",
        "stage",
        "in-process s",
        "server s",
        "of which Running s",
        "fixed cost s",
        "ratio",
        "overhead ms/inst.",
    ):
        grid.add_column(heading, justify="left" if heading == "stage" else "right")
    for result in results:
        rows: list[tuple[str, float, float, float, str, float, float]] = [
            (
                stage,
                result.in_process[stage],
                result.server[stage],
                result.server_in_run[stage],
                f"{result.extra_s(stage):.2f}"
                + (" ✓" if result.extra_s(stage) <= TARGET_S else " ✗"),
                result.ratio(stage),
                result.overhead_ms(stage),
            )
            for stage in STAGES
        ]
        rows.append(
            (
                "total",
                result.total(result.in_process),
                result.total(result.server),
                result.total(result.server_in_run),
                "",
                result.ratio(),
                result.overhead_ms(),
            )
        )
        for stage, local, remote, in_run, fixed, ratio, overhead in rows:
            mark = "" if stage != "total" else (" ✓" if overhead <= TARGET_MS else " ✗")
            grid.add_row(
                f"{result.institutions:,}",
                stage,
                f"{local:.2f}",
                f"{remote:.2f}",
                f"{in_run:.2f}",
                fixed,
                f"{ratio:.2f}×",
                f"{overhead:,.1f}{mark}",
            )
    return grid


def summary(results: list[Comparison]) -> str:
    """The one line the run ends with."""
    parts = [
        f"N={r.institutions:,}: {r.overhead_ms():,.1f} ms/institution, ×{r.ratio():.2f}"
        for r in results
    ]
    return f"server vs in-process (target ≤ {TARGET_MS:.0f} ms/institution): " + "; ".join(parts)


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.server", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--milestones", type=int, default=20, help="milestones per institution")
    parser.add_argument("--json", type=Path, help="also write every measure to this file")
    parser.add_argument("--workdir", type=Path, help="keep workspaces here (default: temporary)")
    parser.add_argument(
        "--worker",
        choices=("warm", "process"),
        default="warm",
        help="hitos server worker (the guide's) or Prefect's process worker",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start the server once, compare each size; 1 when a stage fails."""
    args = arguments(argv)
    console = Console(width=None if sys.stdout.isatty() else 140)
    progress = Progress(console, quiet=bool(args.json) or not sys.stdout.isatty())
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="hitos-bench-server-"))).resolve()
    results: list[Comparison] = []
    worker = WARM if args.worker == "warm" else PROCESS
    started = time.perf_counter()
    try:
        with progress.shown():
            progress("starting the Prefect server, deploying")
            with (
                database("hitos_bench_prefect", "asyncpg") as url,
                prefect_server(workdir / "prefect-home", url) as api,
            ):
                for size in sorted(args.sizes):
                    results.append(
                        compare(api, workdir / f"n{size}", size, args.milestones, progress, worker)
                    )
    except StageFailed as exc:
        console.print(f"[red]{exc}[/red]")
        return 1
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    console.print(table(results, worker))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2), encoding="utf-8")
    minutes = (time.perf_counter() - started) / 60
    console.print(f"{summary(results)} ({minutes:.1f} min)", highlight=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
