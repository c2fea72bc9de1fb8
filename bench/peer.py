"""``python -m bench.peer [--size 100] [--workdir DIR]``: Frictionless on the answers Hitos read.

The peer: frictionless-py validating the same returned workbooks with a Table Schema equivalent
to what a single-field schema can say of the contract (the columns by their labels in the plan's
language, the code's pattern and uniqueness, the states' labels, progress a whole number from 0
to 100, dates, the evidence link's pattern). What it cannot say (progress against the state,
evidence required once started, the plan's milestones, the previous cycle) is what Hitos'
suite adds, so the row reports both the time and how many of the bad files (the synthetic
careless and unreadable answers) each tool caught.

With ``--workdir`` holding a ``python -m bench`` size (``DIR/n<size>``), the peer runs on that
run's answers and compares with its intake stage; otherwise it runs the plain stages first.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook
from rich.console import Console
from rich.table import Table

from bench.floors import calamine_read
from bench.runner import run_size
from tasks.core import contract

BAD_KINDS = ("careless", "unreadable")
"""The synthetic answers that must not be accepted as they are (``bench.synthetic``)."""
CAUGHT = ("rejected", "unreadable")
"""Hitos' outcomes that stop a file."""
URL = r"https?://[^\s/$.?#][^\s]*"  # the suite's evidence-url-invalid pattern
TYPES = {"code": "string", "text": "string", "url": "string", "date": "date", "state": "string"}


@dataclass
class PeerRun:
    """Frictionless and Hitos' intake on the same files."""

    files: int
    bad: int
    frictionless_seconds: float
    frictionless_caught: int
    frictionless_false_alarms: int
    hitos_seconds: float
    hitos_caught: int
    hitos_false_alarms: int
    raw_read_seconds: float
    """The raw read (python-calamine) of the same files, just before Frictionless ran."""
    hitos_raw_read_seconds: float
    """The same raw read in the intake stage's own process, just after intake ran."""
    flagged: list[str] = field(default_factory=list)


def schema(language: str) -> dict[str, Any]:
    """The contract as a Table Schema: fields named as the request workbook's header."""
    fields = []
    for column in contract.COLUMNS:
        # Description and evidence are required once a milestone has started: a rule across
        # fields, which a Table Schema cannot state; their columns are checked, not their cells.
        always = column.key in (contract.CODE, contract.STATE, contract.PROGRESS)
        constraints: dict[str, Any] = {"required": True} if always else {}
        if column.key == contract.CODE:
            constraints["pattern"] = r"\d+\.\d+"
        if column.kind == "state":
            constraints["enum"] = contract.state_labels(language)
        if column.kind == "url":
            constraints["pattern"] = URL
        if column.kind == "whole":
            constraints |= {"minimum": contract.PROGRESS_MIN, "maximum": contract.PROGRESS_MAX}
        fields.append(
            {
                "name": column.label(language),
                "type": "integer" if column.kind == "whole" else TYPES[column.kind],
                "constraints": constraints,
            }
        )
    return {"fields": fields, "primaryKey": [contract.BY_KEY[contract.CODE].label(language)]}


def header_row(files: list[Path]) -> int:
    """The 1-based header row of the request workbook (the first file that opens says it)."""
    for path in files:
        try:
            rows = CalamineWorkbook.from_filelike(BytesIO(path.read_bytes()))
            found = contract.find_header(rows.get_sheet_by_index(0).to_python())
        except Exception:  # an unreadable answer: the next one says it
            continue
        if found is not None:
            return found[0] + 1
    raise ValueError("no answer file has the contract's header")


def frictionless_flags(files: list[Path], language: str) -> tuple[float, set[str]]:
    """Seconds for Frictionless to validate every file; the names of those it found invalid."""
    from frictionless import Dialect, Resource, Schema, formats, validate

    table_schema = Schema.from_descriptor(schema(language))
    sheet = contract.sheet_name("milestones", language)
    dialect = Dialect(header_rows=[header_row(files)], controls=[formats.ExcelControl(sheet=sheet)])
    flagged: set[str] = set()
    started = time.perf_counter()
    for path in files:
        resource = Resource(
            path=path.name, basepath=str(path.parent), schema=table_schema, dialect=dialect
        )
        if not validate(resource).valid:
            flagged.add(path.name)
    return time.perf_counter() - started, flagged


def hitos_flags(size_dir: Path) -> set[str]:
    """The answer files Hitos' intake stopped (rejected or unreadable), from its ledger."""
    from sqlalchemy import select

    from tasks.settings import Settings
    from tasks.storage.ledger import Submission, session

    settings = Settings(home=size_dir / "ws", plan=size_dir / "plan.yaml", database_url="")
    with session(settings.database) as db:
        rows = db.execute(select(Submission.filename, Submission.outcome)).all()
    return {str(name) for name, outcome in rows if outcome in CAUGHT}


def compare(size_dir: Path, language: str = "es") -> PeerRun:
    """Frictionless on the size's answers, against its intake stage's time and outcomes."""
    answers = size_dir / "answers"
    files = sorted(p for p in answers.iterdir() if p.suffix == ".xlsx")
    kinds: dict[str, str] = json.loads((answers / "kinds.json").read_text(encoding="utf-8"))
    bad = {name for name, kind in kinds.items() if kind in BAD_KINDS}
    intake = json.loads((size_dir / "intake.json").read_text(encoding="utf-8"))
    raw_read = calamine_read(files)[0]
    seconds, flagged = frictionless_flags(files, language)
    stopped = hitos_flags(size_dir)
    return PeerRun(
        files=len(files),
        bad=len(bad),
        frictionless_seconds=seconds,
        frictionless_caught=len(flagged & bad),
        frictionless_false_alarms=len(flagged - bad),
        hitos_seconds=float(intake["wall"]),
        hitos_caught=len(stopped & bad),
        hitos_false_alarms=len(stopped - bad),
        raw_read_seconds=raw_read,
        hitos_raw_read_seconds=float(intake["floors"]["calamine-read"]),
        flagged=sorted(flagged),
    )


def table(run: PeerRun) -> Table:
    """Each tool's time, its time ÷ the raw read, and the bad files it caught."""
    grid = Table(title=f"Peer: Frictionless and Hitos' intake on the same {run.files} files")
    for heading in ("tool", "seconds", "÷ raw read", "bad files caught", "false alarms"):
        grid.add_column(heading, justify="left" if heading == "tool" else "right")
    for tool, seconds, floor, caught, false in (
        ("Frictionless (Table Schema)", run.frictionless_seconds, run.raw_read_seconds,
         run.frictionless_caught, run.frictionless_false_alarms),
        ("Hitos intake (store + validate)", run.hitos_seconds, run.hitos_raw_read_seconds,
         run.hitos_caught, run.hitos_false_alarms),
    ):  # fmt: skip
        grid.add_row(
            tool, f"{seconds:.2f}", f"{seconds / floor:.1f}×", f"{caught} of {run.bad}", str(false)
        )
    grid.caption = (
        f"Hitos {run.frictionless_seconds / run.hitos_seconds:.1f}× faster than Frictionless "
        f"(target ≥ 4×, catching every bad file)"
    )
    return grid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peer", description=__doc__)
    parser.add_argument("--size", type=int, default=100, help="institutions")
    parser.add_argument("--milestones", type=int, default=20)
    parser.add_argument("--workdir", type=Path, help="a python -m bench workdir to reuse")
    parser.add_argument("--json", type=Path, help="also write the measures to this file")
    args = parser.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 140)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="hitos-bench-peer-"))
    size_dir = workdir / f"n{args.size}"
    try:
        if not (size_dir / "intake.json").exists():
            run_size(size_dir, args.size, args.milestones, flows=False, say=console.print)
        run = compare(size_dir)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    console.print(table(run))
    if args.json:
        args.json.write_text(json.dumps(asdict(run), indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
