"""The benchmark's one table: a row per measure, a column per size, the target and whether it
is met (judged at the largest size measured, which is N = 1,000 in ``make bench``)."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from bench.runner import PLAIN_STAGES, SizeRun, orchestration_overhead

UNITS = {"open": "institutions", "intake": "files", "reply": "replies", "consolidate": "rows"}
MIB_LIMIT = 1024.0


@dataclass(frozen=True)
class Measure:
    """One row: how to read it from a size's run, how to print it, and its target if any."""

    label: str
    value: Callable[[SizeRun, dict[int, SizeRun]], float | None]
    digits: int = 2
    target: str = ""
    met: Callable[[float], bool] | None = None


def _stage(name: str, key: str) -> Callable[[SizeRun, dict[int, SizeRun]], float | None]:
    def read(run: SizeRun, runs: dict[int, SizeRun]) -> float | None:
        stage = run.stages.get(name)
        return None if stage is None else float(stage[key])

    return read


def _part(name: str, part: str) -> Callable[[SizeRun, dict[int, SizeRun]], float | None]:
    def read(run: SizeRun, runs: dict[int, SizeRun]) -> float | None:
        stage = run.stages.get(name)
        return None if stage is None else stage.get("parts", {}).get(part)

    return read


def _throughput(name: str) -> Callable[[SizeRun, dict[int, SizeRun]], float | None]:
    def read(run: SizeRun, runs: dict[int, SizeRun]) -> float | None:
        stage = run.stages.get(name)
        return None if stage is None or not stage["wall"] else stage["items"] / stage["wall"]

    return read


def _growth(name: str) -> Callable[[SizeRun, dict[int, SizeRun]], float | None]:
    def read(run: SizeRun, runs: dict[int, SizeRun]) -> float | None:
        smaller = runs.get(run.institutions // 10)
        if smaller is None or run.institutions % 10 or name not in smaller.stages:
            return None
        return float(run.stages[name]["wall"] / smaller.stages[name]["wall"])

    return read


def _intake_ratio(run: SizeRun, runs: dict[int, SizeRun]) -> float | None:
    stage = run.stages.get("intake")
    return None if stage is None else stage["wall"] / stage["read_only"]


def _over_floor(
    name: str, floor: str, part: str = "wall"
) -> Callable[[SizeRun, dict[int, SizeRun]], float | None]:
    """A stage's time (or one of its parts) ÷ a floor measured in the same process and run."""

    def read(run: SizeRun, runs: dict[int, SizeRun]) -> float | None:
        stage = run.stages.get(name)
        if stage is None or not stage.get("floors", {}).get(floor):
            return None
        spent = stage["wall"] if part == "wall" else stage["parts"].get(part)
        return None if spent is None else float(spent / stage["floors"][floor])

    return read


def _floor(name: str, floor: str) -> Callable[[SizeRun, dict[int, SizeRun]], float | None]:
    def read(run: SizeRun, runs: dict[int, SizeRun]) -> float | None:
        stage = run.stages.get(name)
        return None if stage is None else stage.get("floors", {}).get(floor)

    return read


def _emails_per_second(run: SizeRun, runs: dict[int, SizeRun]) -> float | None:
    stage = run.stages.get("open")
    return None if stage is None else stage["emails"] / stage["parts"]["send"]


def _peak(run: SizeRun, runs: dict[int, SizeRun]) -> float | None:
    peaks = [run.stages[name]["peak_mib"] for name in PLAIN_STAGES if name in run.stages]
    return max(peaks) if peaks else None


def _overhead(run: SizeRun, runs: dict[int, SizeRun]) -> float | None:
    return orchestration_overhead(run)


def _at_most(limit: float) -> Callable[[float], bool]:
    return lambda value: value <= limit


TARGETS = {"open": 8.0, "intake": 4.0, "reply": 5.0, "consolidate": 5.0}
"""Issue #26's targets for each stage's wall time at N = 1,000 (20 milestones each)."""


def measures() -> list[Measure]:
    """Every row of the table, in order."""
    rows = [Measure("plan-load: load_plan of the YAML (s)", _stage("plan-load", "wall"))]
    for name in PLAIN_STAGES:
        rows += [
            Measure(
                f"{name}: wall (s)",
                _stage(name, "wall"),
                target=f"≤ {TARGETS[name]:g} at 1,000",
                met=_at_most(TARGETS[name]),
            ),
            Measure(f"{name}: {UNITS[name]}/s", _throughput(name), 1),
            Measure(f"{name}: peak RSS (MiB)", _stage(name, "peak_mib"), 0),
        ]
    rows += [
        Measure("open: building the workbooks (s)", _part("open", "workbooks")),
        Measure(
            "floor: bare openpyxl write of the workbooks (s)", _floor("open", "openpyxl-write")
        ),
        Measure(
            "open: workbooks ÷ bare openpyxl write",
            _over_floor("open", "openpyxl-write", "workbooks"),
        ),
        Measure("floor: bare SMTP loop, requests (s)", _floor("open", "smtp-send")),
        Measure("open: send ÷ bare SMTP loop", _over_floor("open", "smtp-send", "send")),
        Measure("reply: send ÷ bare SMTP loop", _over_floor("reply", "smtp-send", "send")),
        Measure("floor: raw read, calamine (s)", _floor("intake", "calamine-read")),
        Measure("floor: raw read, openpyxl read-only (s)", _floor("intake", "openpyxl-read")),
        Measure(
            "intake ÷ raw read (calamine)",
            _over_floor("intake", "calamine-read"),
            1,
            target="≤ 12",
            met=lambda v: v <= 12,
        ),
        Measure(
            "intake ÷ Hitos' reader alone",
            _intake_ratio,
            target="≤ 4",
            met=lambda v: v <= 4,
        ),
        Measure(
            "emails/s to local SMTP (requests)",
            _emails_per_second,
            1,
            target="≥ 300",
            met=lambda v: v >= 300,
        ),
        Measure(
            "Prefect overhead (ms/institution)",
            _overhead,
            1,
            target="≤ 20",
            met=lambda v: v <= 20,
        ),
        Measure(
            "peak RSS, largest stage (MiB)",
            _peak,
            0,
            target="≤ 1024",
            met=lambda v: v <= MIB_LIMIT,
        ),
    ]
    rows += [
        Measure(
            f"growth {name}: time ÷ time at N/10",
            _growth(name),
            1,
            target="≤ 12",
            met=lambda v: v <= 12,
        )
        for name in PLAIN_STAGES
    ]
    return rows


def machine() -> str:
    """nproc, memory, CPU model and Python: the line under the table."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total = int(meminfo.read_text().split()[1])
        memory = f", {total / 1024 / 1024:.1f} GiB RAM"
    return f"{os.cpu_count()} CPUs ({cpu}){memory}, Python {platform.python_version()}"


def table(runs: list[SizeRun]) -> Table:
    """The table of every measure at every size, the target and the verdict."""
    by_size = {run.institutions: run for run in runs}
    milestones = runs[0].milestones if runs else 0
    result = Table(
        title=f"Hitos benchmark: N institutions × {milestones} milestones",
        caption=machine(),
    )
    result.add_column("measure")
    for run in runs:
        result.add_column(f"N={run.institutions:,}", justify="right")
    result.add_column("target")
    result.add_column("verdict")
    for measure in measures():
        values = [measure.value(run, by_size) for run in runs]
        cells = ["—" if v is None else f"{v:,.{measure.digits}f}" for v in values]
        verdict = ""
        judged = next(
            ((run, v) for run, v in zip(reversed(runs), reversed(values), strict=True) if v),
            None,
        )
        if measure.met is not None and judged is not None:
            run, value = judged
            verdict = ("met" if measure.met(value) else "MISSED") + f" at N={run.institutions:,}"
        result.add_row(measure.label, *cells, measure.target, verdict)
    return result


def details(runs: list[SizeRun]) -> list[str]:
    """Per size: each stage's parts and the answers' mix (what the table's numbers are made of)."""
    lines = []
    for run in runs:
        mix = ", ".join(f"{k} {v}" for k, v in sorted(run.answers.items()))
        lines.append(f"N={run.institutions:,}: answers {mix}")
        for name, stage in run.stages.items():
            parts = ", ".join(f"{k} {v:.2f}s" for k, v in stage.get("parts", {}).items())
            extra = stage.get("breakdown") or {}
            parts += "".join(f", {k} {v:.2f}s" for k, v in extra.items())
            if stage.get("floors"):
                parts += "; floors: " + ", ".join(
                    f"{k} {v:.2f}s" for k, v in stage["floors"].items()
                )
            if "outcomes" in stage:
                parts += "; " + ", ".join(f"{k} {v}" for k, v in sorted(stage["outcomes"].items()))
            lines.append(f"  {name}: {stage['wall']:.2f}s ({parts})")
    return lines


def heavy_table(measures: list[dict[str, Any]]) -> Table:
    """Heavy files refused by the reader: its own time and the process's peak memory."""
    out = Table(title="Heavy files (bench/heavy_files.py): refused while reading")
    for column in ("file", "MB", "outcome", "read s", "process s", "peak MiB"):
        out.add_column(column, justify="left" if column in ("file", "outcome") else "right")
    for m in measures:
        out.add_row(
            m["file"],
            f"{m['size_mb']:.1f}",
            m["outcome"],
            f"{m['read_seconds']:.3f}",
            f"{m['process_seconds']:.2f}",
            str(m["peak_mib"]),
        )
    return out
