"""``python -m bench [--sizes 10 100 1000] [--milestones 20] [--no-flows] [--json FILE]``.

Runs a cycle's stages at each size on the embedded defaults (temporary workspace, SQLite
ledger, aiosmtpd on loopback) and prints one table. ``--sizes 10`` is a quick run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from rich.console import Console

from bench import heavy_files, peer
from bench.peer import PeerRun
from bench.runner import SizeRun, StageFailed, run_size
from bench.table import details, heavy_table, table


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--milestones", type=int, default=20, help="milestones per institution")
    parser.add_argument(
        "--no-flows", action="store_true", help="skip the Prefect flows (no overhead measure)"
    )
    parser.add_argument("--json", type=Path, help="also write every measure to this file")
    parser.add_argument("--workdir", type=Path, help="keep workspaces here (default: temporary)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the sizes in order, print the table; 1 when a stage fails."""
    args = arguments(argv)
    # Wide enough for the table when the output is a file or a pipe (make bench | tee).
    console = Console(width=None if sys.stdout.isatty() else 140)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="hitos-bench-"))
    runs: list[SizeRun] = []
    peer_run: PeerRun | None = None
    try:
        for size in sorted(args.sizes):
            runs.append(
                run_size(
                    workdir / f"n{size}",
                    size,
                    args.milestones,
                    flows=not args.no_flows,
                    say=lambda text: console.print(f"[dim]{text}[/dim]"),
                )
            )
        largest = max(args.sizes)
        say = f"N={largest}: the peer, Frictionless, on the same answers"
        console.print(f"[dim]{say}[/dim]")
        peer_run = peer.compare(workdir / f"n{largest}")
    except StageFailed as exc:
        console.print(f"[red]{exc}[/red]")
        return 1
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    console.print(table(runs))
    for line in details(runs):
        console.print(line, highlight=False, style="dim")
    console.print(peer.table(peer_run))
    console.print(heavy_table(heavy_files.run(workdir if args.workdir else None)))
    if args.json:
        measured = {"sizes": [asdict(r) for r in runs], "peer": asdict(peer_run)}
        args.json.write_text(json.dumps(measured, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
