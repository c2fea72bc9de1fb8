"""The report files the board offers: each public version's CSV, XLSX and PDF, copied from the
file store under ``datos/<cycle>/v<n>/``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from tasks.plans.plan import Plan
from tasks.publication.board.cycles import PublishedCycle
from tasks.publication.report import report_name
from tasks.storage import filestore

DOWNLOADS = ("csv", "xlsx", "pdf")
"""The files of each report version the board offers, in that order."""

Offered = dict[tuple[str, int], dict[str, str]]
"""(cycle, version) → kind → the file's path from the board's top (``datos/2023-03/v1/….csv``)."""


def copy_downloads(db: Session, plan: Plan, cycles: list[PublishedCycle], folder: Path) -> Offered:
    """Each public version's CSV, XLSX and PDF under ``datos/<cycle>/v<n>/``; their paths."""
    offered: Offered = {}
    for published in cycles:
        for report in published.versions:
            files: dict[str, str] = {}
            for kind in DOWNLOADS:
                key = report.files.get(kind)
                if key is None or not filestore.exists(db, key):
                    continue
                relative = f"datos/{report.cycle_id}/v{report.version}/"
                relative += report_name(plan, report.cycle_id, kind)
                target = folder / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(filestore.get(db, key))
                files[kind] = relative
            offered[(report.cycle_id, report.version)] = files
    return offered
