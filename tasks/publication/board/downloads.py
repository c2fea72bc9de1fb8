"""What the board offers to download: each public version's CSV, XLSX and PDF, copied from the
file store under ``datos/<cycle>/v<n>/``, and the archived copy of each evidence link the latest
version shows, under ``evidencias/``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from tasks.plans.plan import Plan
from tasks.publication.board.cycles import PublishedCycle
from tasks.publication.report import report_name
from tasks.storage import filestore
from tasks.storage.queries import LinkState, evidence_links

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


Verified = dict[tuple[int, str], LinkState]
"""(submission, milestone) → where that milestone's evidence link in that file stands."""

SAFE_COPIES = {".pdf", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".txt", ".csv"}
"""Archived copies served under their own type. A page archived from a ministry's site is third
parties' markup, and an HTML or SVG file served from the board's address would run its scripts
there: those are offered as text (``.txt``), read as the page's source."""


def copy_evidence(db: Session, cycles: list[PublishedCycle], folder: Path) -> Verified:
    """The archived copy of every evidence link the latest published version shows, under
    ``evidencias/``; where each link stands, for «verificado el …» beside it."""
    if not cycles:
        return {}
    links = evidence_links(db, cycles[-1].report.submissions)
    verified = {(link.submission_id, link.milestone): link.state for link in links if link.state}
    copies = filestore.get_many(db, {s.sha256 for s in verified.values() if s.sha256})
    for state in verified.values():
        if state.sha256 in copies:
            target = folder / "evidencias" / evidence_copy_name(state)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(copies[state.sha256])
    return verified


def evidence_copy_name(state: LinkState) -> str:
    """The archived copy's name on the board (``<sha256>.pdf``; ``<sha256>.txt`` for markup)."""
    name = Path(state.file_name)
    return name.name if name.suffix in SAFE_COPIES else f"{name.stem}.txt"
