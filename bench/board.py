"""``python -m bench.board [--institutions 1000] [--milestones 20] [--cycles 4]``.

The public board at scale: a synthetic plan (``bench.synthetic``), a ledger where every
institution's accepted values of each cycle are written directly (set-up, not measured), each
cycle published once (``tasks.publication.publishing.consolidate``: the real report files, in the
file store), then ``build_board`` timed and the board's size reported. Target: 1,000
institutions × 4 cycles in 10 s or less.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import update

from bench.synthetic import write_plan
from tasks.core.contract import COMPLETED, IN_PROGRESS, NOT_STARTED
from tasks.plans.plan import load_plan
from tasks.publication.board import build_board
from tasks.publication.publishing import consolidate
from tasks.settings import Settings
from tasks.storage.ledger import Cycle, MilestoneValue, Report, Submission, session

TARGET_SECONDS = 10.0
CYCLES = ("2022-03", "2022-08", "2023-03", "2023-08")


def _ledger(settings: Settings, plan_path: Path, cycles: int) -> None:
    """Cycles with one accepted submission per institution, progress growing cycle by cycle."""
    plan = load_plan(plan_path)
    rng = random.Random(0)
    progress = {m.code: 0 for m in plan.milestones}
    with session(settings.database) as db:
        for index, cycle_id in enumerate(CYCLES[:cycles]):
            year, month = (int(part) for part in cycle_id.split("-"))
            db.add(
                Cycle(
                    id=cycle_id,
                    plan_id=plan.id,
                    opened_on=date(year, month, 1),
                    deadline=date(year, month, 14),
                    state="consolidated",
                )
            )
            for institution in plan.reporting_institutions():
                submission = Submission(
                    sha256=f"{cycle_id}{institution.code}".ljust(64, "0"),
                    filename="avances.xlsx",
                    channel="email",
                    received_at=datetime(year, month, 5 + index, 15),
                    plan_id=plan.id,
                    cycle_id=cycle_id,
                    institution=institution.code,
                    version=1,
                    outcome="accepted",
                    review="approved",
                )
                for milestone in plan.milestones_of(institution.code):
                    value = min(100, progress[milestone.code] + rng.choice([0, 10, 25, 50]))
                    progress[milestone.code] = value
                    state = COMPLETED if value == 100 else IN_PROGRESS if value else NOT_STARTED
                    text = f"Avance del hito {milestone.code}." if value else ""
                    submission.values.append(
                        MilestoneValue(
                            milestone=milestone.code,
                            estado=state,
                            avance_pct=value,
                            descripcion_avance=text,
                            evidencia_url=(
                                f"https://{institution.code.lower()}.example/{milestone.code}"
                                if value
                                else ""
                            ),
                        )
                    )
                db.add(submission)


def _published(settings: Settings) -> None:
    """Every draft made public, as the director's ``hitos publish`` would (the board shows only
    published versions), written straight to the ledger like the rest of the set-up."""
    with session(settings.database) as db:
        db.execute(update(Report).where(Report.state == "draft").values(state="published"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.board", description=__doc__)
    parser.add_argument("--institutions", type=int, default=1000)
    parser.add_argument("--milestones", type=int, default=20, help="milestones per institution")
    parser.add_argument("--cycles", type=int, default=4, choices=range(1, len(CYCLES) + 1))
    parser.add_argument("--workdir", type=Path, help="keep the workspace here; reuse it if set up")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="hitos-bench-board-"))
    try:
        plan_path = workdir / "plan.yaml"
        settings = Settings(home=workdir / "ws", plan=plan_path, database_url="")
        if not (workdir / "ws" / "hitos.db").exists():
            print(f"set-up: {args.institutions} institutions × {args.cycles} cycles", flush=True)
            write_plan(plan_path, args.institutions, args.milestones)
            _ledger(settings, plan_path, args.cycles)
            for cycle_id in CYCLES[: args.cycles]:
                consolidate(settings, load_plan(plan_path), cycle_id)
            _published(settings)
        plan = load_plan(plan_path)
        started, cpu = time.perf_counter(), time.process_time()
        result = build_board(settings, plan)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    milestones = args.institutions * args.milestones
    print(
        f"board: {args.institutions} institutions, {milestones} milestones, {args.cycles} cycles: "
        f"{wall:.2f} s wall, {cpu:.2f} s CPU (target {TARGET_SECONDS:.0f} s, ratio "
        f"{wall / TARGET_SECONDS:.2f}; CPU time is the fairer measure on a loaded machine); "
        f"{result.pages} pages, {result.files} files, {result.size / 1e6:.1f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
