"""The public board: a static site of every published cycle, its history, downloads, OGP view.

``build_board(settings, plan)`` writes ``<workspace>/board/``, a folder any web server can serve
as is: a home page, a page per commitment and per institution, the OGP view, the downloads and
the open-data package (``datos/datapackage.json``). Every figure comes from the published
reports as consolidation computed them (``consolidated_table`` restricted to the submissions a
report used, then ``figures``): the board computes no progress of its own.

The pages are in the language people read (``language_of``): the same templates for every
language, their words from the catalogue (``board_page.*``), their addresses the same.

The pages carry no script and load nothing from outside (one local stylesheet; the only
addresses are the institutions' own evidence links). Contacts and senders never reach them: the
templates are given institution codes and names, never an ``Institution``.

The folder is built beside the old one, in a folder of its own per build, and swapped in by renaming
a symbolic link (``board/<plan>`` points at the board being served), so a web server never serves
half a board; builds of one plan on one workspace take turns. It is derived data, rebuilt from the
ledger at every publication, and so it is not kept in the file store; the report files it offers for
download are read from it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from tasks.catalogues import language_of, text
from tasks.core.calendar import local_date
from tasks.plans.plan import Plan
from tasks.publication.consolidation import (
    COMMITMENT_FORMULA,
    NO_DATA,
    CommitmentFigures,
    Figures,
    InstitutionFigures,
    consolidated_table,
    figures,
    from_snapshot,
)
from tasks.publication.datapackage import catalogue, write_package
from tasks.publication.irm import IRM_LEVELS, SUBSTANTIAL_FROM, suggested_completion
from tasks.publication.mesa_side import on_board
from tasks.publication.report import page_rows, report_name
from tasks.rendering import TEMPLATES, environment, render
from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.ledger import Cycle, Report, session
from tasks.storage.queries import cycle_of

DOWNLOADS = ("csv", "xlsx", "pdf")
"""The files of each report version the board offers, in that order."""


@dataclass(frozen=True)
class PublishedCycle:
    """A cycle as the public sees it: the report version shown and the figures it published."""

    cycle: Cycle
    report: Report
    versions: list[Report]
    """Every public version of the cycle, oldest first (each one is offered for download)."""
    table: pd.DataFrame
    figures: Figures


@dataclass
class BoardResult:
    """What ``build_board`` wrote, for the CLI's summary and the benchmark."""

    folder: Path
    cycles: list[str]
    pages: int = 0
    files: int = 0
    size: int = 0
    published: dict[str, int] = field(default_factory=dict)
    """Cycle → the report version the board shows."""


def public_versions(db: Session, plan_id: str) -> dict[str, list[Report]]:
    """Cycle → its public report versions, oldest first: those the director published (the
    last one is what the public sees now; drafts never reach the board,
    ``tasks.publication.approval``).
    """
    versions: dict[str, list[Report]] = {}
    public = Report.state.in_(("published", "superseded"))
    for report in db.scalars(
        select(Report)
        .where(public, Report.plan_id == plan_id)
        .order_by(Report.cycle_id, Report.version)
    ):
        versions.setdefault(report.cycle_id, []).append(report)
    return versions


def published_cycles(db: Session, plan: Plan) -> list[PublishedCycle]:
    """Every cycle with a public report, oldest first, rebuilt as its shown version published it."""
    found = []
    for cycle_id, versions in public_versions(db, plan.id).items():
        cycle = cycle_of(db, plan.id, cycle_id)
        if cycle is None:
            continue
        shown = versions[-1]
        table = consolidated_table(db, plan, cycle, shown.submissions)
        numbers = figures(plan, table, from_snapshot(shown.institutions))
        found.append(PublishedCycle(cycle, shown, versions, table, numbers))
    return found


def _grouped(rows: Iterable[SimpleNamespace], key: str) -> dict[str, list[SimpleNamespace]]:
    grouped: dict[str, list[SimpleNamespace]] = {}
    for row in rows:
        grouped.setdefault(getattr(row, key), []).append(row)
    return grouped


def _history(cycles: list[PublishedCycle]) -> dict[str, list[tuple[str, str, float | None, str]]]:
    """Milestone code → (cycle id, state, progress, source) in each published cycle, oldest first.

    Read from the tables' columns: the full page rows are built for the latest cycle only.
    """
    history: dict[str, list[tuple[str, str, float | None, str]]] = {}
    for published in cycles:
        t = published.table
        states = t["estado"].where(t["estado"] != "", NO_DATA)
        progress = t["avance_pct"].astype(object).where(t["avance_pct"].notna(), None)
        for code, state, value, source in zip(
            t["codigo_hito"], states, progress, t["fuente"], strict=True
        ):
            history.setdefault(code, []).append((published.cycle.id, state, value, source))
    return history


def _commitment_history(
    cycles: list[PublishedCycle],
) -> dict[str, list[tuple[str, CommitmentFigures]]]:
    history: dict[str, list[tuple[str, CommitmentFigures]]] = {}
    for published in cycles:
        for c in published.figures.commitments:
            history.setdefault(c.codigo, []).append((published.cycle.id, c))
    return history


def _deliveries(cycles: list[PublishedCycle]) -> dict[str, list[tuple[str, InstitutionFigures]]]:
    """Institution code → its delivery in each published cycle, oldest first."""
    record: dict[str, list[tuple[str, InstitutionFigures]]] = {}
    for published in cycles:
        for row in published.figures.institutions:
            record.setdefault(row.codigo, []).append((published.cycle.id, row))
    return record


def _copy_downloads(
    db: Session, plan: Plan, cycles: list[PublishedCycle], folder: Path
) -> dict[tuple[str, int], dict[str, str]]:
    """Each public version's CSV, XLSX and PDF under ``datos/<cycle>/v<n>/``; their paths."""
    offered: dict[tuple[str, int], dict[str, str]] = {}
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


def _page(folder: Path, relative: str, template: str, language: str, **context: Any) -> None:
    """Render one page; ``root`` is the way back to the board's top from where the page sits."""
    depth = relative.count("/")
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    page = render(f"board/{template}", language, root="../" * depth, **context)
    path.write_text(page, "utf-8")


@contextmanager
def _one_build_at_a_time(root: Path, plan_id: str) -> Iterator[None]:
    """Serialise the plan's board builds on this workspace (two ``hitos board`` at once, or a
    publication during one): the second waits for the first, then builds from what it sees."""
    with (root / f".{plan_id}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _swap(built: Path, target: Path) -> None:
    """Point ``target`` (a symbolic link) at the new board in one atomic rename, then remove the
    boards no link points at: a web server serves the old board or the new one, never half of
    one, and never a missing folder in between."""
    link = built.with_name(f".{target.name}.link-{os.getpid()}")
    link.unlink(missing_ok=True)
    link.symlink_to(built.name)
    if target.is_dir() and not target.is_symlink():  # a board built before the links
        target.rename(built.with_name(f".{target.name}-before-links"))
    os.replace(link, target)
    for old in target.parent.glob(f".{target.name}-*"):
        if old.is_dir() and old.name != built.name:
            shutil.rmtree(old, ignore_errors=True)


def _size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def build_board(settings: Settings, plan: Plan) -> BoardResult:
    """Write the plan's public board of every published cycle to ``<workspace>/board/<plan>/``;
    what it wrote (each plan has its own board: its own commitments, its own history).

    Called after each publication (and by ``hitos board``); safe to run at any time, it always
    rebuilds the whole folder from the ledger.
    """
    root = settings.folder("board")
    target = root / plan.id
    with _one_build_at_a_time(root, plan.id):
        built = Path(tempfile.mkdtemp(dir=root, prefix=f".{plan.id}-"))
        built.chmod(0o755)  # mkdtemp's 0700 would hide the board from the web server
        with session(settings.database) as db:
            cycles = published_cycles(db, plan)
            offered = _copy_downloads(db, plan, cycles, built)
        result = BoardResult(target, [p.cycle.id for p in cycles])
        result.published = {p.cycle.id: p.report.version for p in cycles}
        _write_pages(settings, plan, cycles, offered, built, result)
        result.files, result.size = _size(built)
        _swap(built, target)
    return result


def _write_pages(
    settings: Settings,
    plan: Plan,
    cycles: list[PublishedCycle],
    offered: dict[tuple[str, int], dict[str, str]],
    folder: Path,
    result: BoardResult,
) -> None:
    shutil.copyfile(TEMPLATES / "board" / "estilo.css", folder / "estilo.css")
    latest = cycles[-1] if cycles else None
    history = _history(cycles)
    commitment_history = _commitment_history(cycles)
    deliveries = _deliveries(cycles)
    levels = (
        {c.codigo: suggested_completion(c) for c in latest.figures.commitments} if latest else {}
    )
    # Codes and names only: an Institution carries its contacts, which never reach a page.
    names = {i.code: SimpleNamespace(code=i.code, name=i.name) for i in plan.institutions}
    last = max(cycles, key=lambda p: p.report.created_at) if cycles else None
    language = language_of(settings, plan)
    common = {
        "plan": plan,
        "latest": latest,
        "last": last,
        "last_published": local_date(last.report.created_at, plan.timezone) if last else None,
        "license": settings.data_license,
        "cycles": cycles,
        "levels": levels,
        "irm": catalogue(language)["irm_levels"],
        "irm_levels": IRM_LEVELS,
        "substantial_from": SUBSTANTIAL_FROM,
        "formula": text(language, COMMITMENT_FORMULA),
        "expected": {m.code: m.expected_result for m in plan.milestones},
        "clusters": {c.code: c.irm_cluster for c in plan.commitments},
        "commitment_milestones": {c.code: [m.code for m in c.milestones] for c in plan.commitments},
        "deadlines": {p.cycle.id: p.cycle.deadline for p in cycles},
        # The Mesa: civil society's voice, agreements, sessions, communiqués, plan changes.
        "mesa": on_board(
            settings, plan, [p.cycle.id for p in cycles], latest.cycle.id if latest else None
        ),
    }
    published_on = {
        r.id: local_date(r.created_at, plan.timezone) for p in cycles for r in p.versions
    }
    pages: list[tuple[str, str, dict[str, Any]]] = [
        ("index.html", "index.html", {"section": "inicio"}),
        ("ogp.html", "ogp.html", {"section": "ogp"}),
        (
            "datos/index.html",
            "data.html",
            {"section": "datos", "offered": offered, "published_on": published_on},
        ),
        ("mesa/index.html", "mesa.html", {"section": "mesa"}),
    ]
    for cycle_id, body in common["mesa"].communiques.items():
        context = {"section": "mesa", "cycle_id": cycle_id, "body": body}
        pages.append((f"mesa/{cycle_id}.html", "communique.html", context))
    if latest is not None:
        rows = page_rows(latest.table, language)
        by_commitment = _grouped(rows, "codigo_compromiso")
        by_institution = _grouped(rows, "institucion")
        # Each milestone's row is the same on its commitment's and its institution's page:
        # rendered once (20,000 rows twice were most of the board's time at 1,000 institutions).
        row_template = environment(language).get_template("board/_milestone_row.html")
        fragments = {
            r.codigo_hito: Markup(
                row_template.render(r=r, points=history[r.codigo_hito], root="../", **common)
            )
            for r in rows
        }
        for c in latest.figures.commitments:
            commitment = plan.commitment(c.numero)
            pages.append(
                (
                    f"compromisos/{c.codigo}.html",
                    "commitment.html",
                    {
                        "section": "compromisos",
                        "c": c,
                        "commitment": commitment,
                        "leads": [names[code] for code in commitment.leads],
                        "rows": by_commitment.get(c.codigo, []),
                        "fragments": fragments,
                        "progress": commitment_history.get(c.codigo, []),
                    },
                )
            )
        for i in latest.figures.institutions:
            pages.append(
                (
                    f"instituciones/{i.codigo}.html",
                    "institution.html",
                    {
                        "section": "instituciones",
                        "i": i,
                        "rows": by_institution.get(i.codigo, []),
                        "fragments": fragments,
                        "record": deliveries.get(i.codigo, []),
                    },
                )
            )
    for relative, template, context in pages:
        _page(folder, relative, template, language, **common, **context)
    result.pages = len(pages)
    if cycles:
        write_package(
            settings, plan, language, cycles, offered, folder / "datos", common["mesa"].assessments
        )
