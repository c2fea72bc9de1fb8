"""The communiqué of a session, in the seed's shape, drafted from the cycle's published version.

What it says follows from the ledger: the session's day and its place among the year's
sessions, the institutions that reported (``tasks.mesa.agenda.reporters`` on the published
version's table: each institution with its commitments and the milestones it reported on), the
next session (scheduled, or the month of the next cycle), and the published XLSX and CSV. The
director may rewrite its three paragraphs of prose (``context``, ``presented``, ``closing``) in
the console; the list and the files are never typed by hand. Once approved, the board publishes
it (``board/mesa/<cycle>.html``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tasks.catalogues import language_of, text
from tasks.mesa import audit
from tasks.mesa.agenda import Reporter, cycle_figures, reporters
from tasks.mesa.pack import folder
from tasks.mesa.refused import MesaRefused
from tasks.mesa.sessions import (
    CANCELLED,
    next_cycle_id,
    session_number_in_year,
    session_of,
)
from tasks.plans.plan import Plan
from tasks.publication.report import report_name
from tasks.rendering import render
from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.ledger import (
    CommuniqueRow,
    MesaSession,
    Report,
    cycle_label,
    session,
    utcnow,
)
from tasks.storage.queries import cycle_of

PROSE = ("context", "presented", "closing")
"""The paragraphs the director may rewrite; defaults: ``mesa.communique.<name>``."""
FILES = ("xlsx", "csv")
"""The published files the communiqué offers, as the seed did («XLS y/o CSV»)."""
NAME = "comunicado"


@dataclass
class Communique:
    """A cycle's communiqué, ready to render (HTML, Markdown) or to print as JSON."""

    plan: Plan
    cycle_id: str
    session: MesaSession
    number: int
    """The session's place in its year (1: «primera»)."""
    report: Report
    reporters: list[Reporter]
    next_cycle: str | None
    """The cycle after this one, None once the plan's period is over (no next session)."""
    next_session: MesaSession | None
    files: dict[str, Path]
    """``xlsx``, ``csv`` → this worker's copy of the published version's file."""
    texts: dict[str, str]
    state: str
    approved_by: str
    approved_at: datetime | None

    def as_json(self, paths: dict[str, Path] | None = None) -> dict[str, Any]:
        """The shape ``hitos communique --json`` prints."""
        scheduled = self.next_session if self.next_session is not None else None
        return {
            "cycle": self.cycle_id,
            "session": self.session.day.isoformat(),
            "report_version": self.report.version,
            "institutions": [
                {
                    "institution": r.code,
                    "commitments": [
                        {"commitment": number, "milestones": codes}
                        for number, codes in r.commitments
                    ],
                }
                for r in self.reporters
            ],
            "next_session": {
                "cycle": self.next_cycle,
                "day": scheduled.day.isoformat() if scheduled else None,
            }
            if self.next_cycle
            else None,
            "files": [str(self.files[kind]) for kind in FILES if kind in self.files],
            "state": self.state,
            **({"written": {k: str(v) for k, v in paths.items()}} if paths else {}),
        }


def default_texts(plan: Plan, found: MesaSession, number: int, language: str) -> dict[str, str]:
    """The three paragraphs as the catalogue words them for this session."""
    values = {
        "plan": plan.name,
        "mesa": plan.mesa.name,
        "day": found.day,
        "number": number,
        "cycle_id": found.cycle_id,
        "director": plan.coordinator.director.name,
    }
    return {name: text(language, f"mesa.communique.{name}", **values) for name in PROSE}


def draft(settings: Settings, plan: Plan, cycle_id: str) -> Communique:
    """The cycle's communiqué from its published version (refused before one exists)."""
    language = language_of(settings, plan)
    found = session_of(settings, plan.id, cycle_id)
    if found is None or found.state == CANCELLED:
        raise MesaRefused(
            "no-session",
            f"cycle {cycle_label(plan.id, cycle_id)} has no session: schedule it first "
            f"(hitos session schedule {cycle_id} --on … --at … --place …)",
        )
    with session(settings.database) as db:
        cycle = cycle_of(db, plan.id, cycle_id)
        assert cycle is not None
        figures = cycle_figures(db, plan, cycle)
        report = figures.report
        if report is None:
            raise MesaRefused(
                "not-published",
                f"cycle {cycle_id} has no published report: the communiqué is drafted from the "
                f"published version (hitos publish {cycle_id})",
            )
        row = db.scalars(
            select(CommuniqueRow).where(
                CommuniqueRow.plan_id == plan.id, CommuniqueRow.cycle_id == cycle_id
            )
        ).first()
        data = filestore.get_many(db, {report.files[k] for k in FILES if k in report.files})
    copies = {
        kind: filestore.local_copy(
            settings,
            data[report.files[kind]],
            "reports",
            plan.id,
            cycle_id,
            f"v{report.version}",
            report_name(plan, cycle_id, kind),
        )
        for kind in FILES
        if kind in report.files
    }
    number = session_number_in_year(settings, plan.id, found)
    texts = default_texts(plan, found, number, language)
    texts.update({k: v for k, v in (row.texts if row else {}).items() if k in PROSE and v})
    following = next_cycle_id(cycle_id)
    within = plan.end is None or f"{following}-01" <= plan.end.isoformat()
    next_cycle = following if within else None  # no session after the plan's period
    upcoming = session_of(settings, plan.id, next_cycle) if next_cycle else None
    if upcoming is not None and row is not None and row.approved_at is not None:
        # An approved communiqué says what was known when it was approved, however often the
        # board is rebuilt: a session scheduled since then does not rewrite it.
        upcoming = upcoming if upcoming.updated_at <= row.approved_at else None
    return Communique(
        plan=plan,
        cycle_id=cycle_id,
        session=found,
        number=number,
        report=report,
        reporters=reporters(plan, figures.table),
        next_cycle=next_cycle,
        next_session=upcoming if upcoming is not None and upcoming.state != CANCELLED else None,
        files={k: copies[k] for k in FILES if k in copies},
        texts=texts,
        state=row.state if row else "draft",
        approved_by=row.approved_by if row else "",
        approved_at=row.approved_at if row else None,
    )


def links(communique: Communique, settings: Settings, where: Path) -> list[tuple[str, str]]:
    """(kind, href) of each file: the public URL under ``HITOS_REPORT_BASE_URL``, else a path
    relative to the page at ``where``."""
    base = settings.report_base_url.rstrip("/")
    found = []
    for kind, path in communique.files.items():
        if base:
            name = report_name(communique.plan, communique.cycle_id, kind)
            href = f"{base}/{communique.plan.id}/{communique.cycle_id}/latest/{name}"
        else:
            href = Path(os.path.relpath(path, where.parent)).as_posix()
        found.append((kind, href))
    return found


def context(communique: Communique, files: list[tuple[str, str]]) -> dict[str, Any]:
    return {"c": communique, "plan": communique.plan, "files": files}


def write(settings: Settings, communique: Communique) -> dict[str, Path]:
    """The communiqué as HTML and Markdown under ``mesa/<plan>/<cycle>/``; their paths."""
    language = language_of(settings, communique.plan)
    target = folder(settings, communique.plan, communique.cycle_id)
    paths = {"html": target / f"{NAME}.html", "markdown": target / f"{NAME}.md"}
    for kind, template in (("html", "mesa/communique.html"), ("markdown", "mesa/communique.md")):
        files = links(communique, settings, paths[kind])
        paths[kind].write_text(render(template, language, **context(communique, files)), "utf-8")
    return paths


def _row(db: Any, plan_id: str, cycle_id: str) -> CommuniqueRow:
    row = db.scalars(
        select(CommuniqueRow).where(
            CommuniqueRow.plan_id == plan_id, CommuniqueRow.cycle_id == cycle_id
        )
    ).first()
    if row is None:
        row = CommuniqueRow(plan_id=plan_id, cycle_id=cycle_id, texts={}, state="draft")
        db.add(row)
    return row


def edit(settings: Settings, plan: Plan, cycle_id: str, texts: dict[str, str]) -> Communique:
    """Keep the director's own paragraphs; an approved communiqué edited is a draft again."""
    current = draft(settings, plan, cycle_id)
    changed = {k: v.strip() for k, v in texts.items() if k in PROSE and v.strip()}
    with session(settings.database) as db:
        row = _row(db, plan.id, cycle_id)
        if {**current.texts, **changed} != current.texts:
            row.texts = {**(row.texts or {}), **changed}
            row.state, row.approved_by, row.approved_at = "draft", "", None
    return draft(settings, plan, cycle_id)


def approve(settings: Settings, plan: Plan, cycle_id: str, by: str) -> Communique:
    """The director approves the communiqué as it reads now: its text is kept as approved and
    the board publishes it, beside the session's files (``board/mesa/<cycle>.html``)."""
    from tasks.publication.board import build_board

    current = draft(settings, plan, cycle_id)
    current.state = "approved"
    with session(settings.database) as db:
        row = _row(db, plan.id, cycle_id)
        row.state, row.approved_by, row.approved_at = "approved", by, utcnow()
        row.report_version = current.report.version
        row.published_html = _on_board(settings, current)
        audit.decided(db, by, audit.COMMUNIQUE, plan.id, cycle_id)
    build_board(settings, plan)
    return draft(settings, plan, cycle_id)


def _on_board(settings: Settings, communique: Communique) -> str:
    """The communiqué's text for its board page, ``mesa/<cycle>.html``: its files are the
    version's downloads one folder up (``datos/<cycle>/v<n>/``, ``tasks.publication.board``)."""
    report, plan = communique.report, communique.plan
    folder = f"../datos/{report.cycle_id}/v{report.version}"
    files = [
        (kind, f"{folder}/{report_name(plan, report.cycle_id, kind)}")
        for kind in FILES
        if kind in report.files
    ]
    language = language_of(settings, plan)
    return render("mesa/_communique_body.html", language, **context(communique, files))
