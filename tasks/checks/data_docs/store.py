"""A cycle's Data Docs site in the shared store: each page and asset a ledger row, its bytes in
the file store, made the first time someone asks for it and kept for every later reader.

A run's page is the ``page`` of its ``ValidationRun``; the index, the suite's page and the static
assets are ``DocsFile`` rows, remade when what they were made from changed (a new run for the
index). Whichever worker or console asks first renders the page, on any machine; the ledger
never holds a path. ``local_site`` writes the whole site into the workspace, for people to open
in a browser without a server.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tasks.catalogues import language_of, text
from tasks.checks.data_docs.offline import static_files
from tasks.checks.data_docs.results import SUITE_PAGE, Run
from tasks.checks.validation import SUITE
from tasks.core.cycles import cycle_label
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.storage import filestore
from tasks.storage.ledger import (
    DocsFile,
    Submission,
    ValidationRun,
    of_cycle,
    session,
    utcnow,
)

INDEX = "index.html"
STATIC = "static/"


def runs(db: Session, plan_id: str, cycle_id: str) -> list[Run]:
    """The cycle's runs, one per submission validated with Data Docs, newest first."""
    rows = db.execute(
        select(ValidationRun, Submission.institution, Submission.filename)
        .join(Submission, Submission.id == ValidationRun.submission_id)
        .where(of_cycle(ValidationRun, plan_id, cycle_id))
        .order_by(ValidationRun.run_time.desc(), ValidationRun.submission_id.desc())
    )
    return [_run(row, institution, filename) for row, institution, filename in rows]


def run_of(settings: Settings, plan: Plan, submission_id: int) -> Run | None:
    """The run that validated a submission of the plan, if one was kept."""
    with session(settings.database) as db:
        found = db.execute(
            select(ValidationRun, Submission.institution, Submission.filename)
            .join(Submission, Submission.id == ValidationRun.submission_id)
            .where(ValidationRun.submission_id == submission_id, ValidationRun.plan_id == plan.id)
        ).first()
    return _run(*found) if found is not None else None


def run_page(settings: Settings, plan: Plan, submission_id: int) -> tuple[Run, bytes] | None:
    """A submission's run and its page, rendered now if nobody asked for it before; None when
    no run of the plan kept it."""
    run = run_of(settings, plan, submission_id)
    if run is None:
        return None
    with session(settings.database) as db:
        if run.page is not None:
            return run, filestore.get(db, run.page)
        result = json.loads(filestore.get(db, run.result))
    from tasks.checks.data_docs import pages  # Great Expectations' renderers: seconds to import

    data = pages.run_page(result, run, plan.timezone).encode()
    with session(settings.database) as db:
        key = filestore.put(db, data)
        # Only the page of the result it was made from: a file validated again meanwhile keeps
        # its own (None, until asked for).
        db.execute(
            update(ValidationRun)
            .where(
                ValidationRun.submission_id == submission_id,
                ValidationRun.result == run.result,
            )
            .values(page=key)
        )
    return run, data


def site_file(settings: Settings, plan: Plan, cycle_id: str, name: str) -> bytes | None:
    """A file of the cycle's site that is no run's page, by its name there (``index.html``, the
    suite's page, ``static/…``), made now if it is missing or stale; None when there is no such
    file or the cycle has no run yet."""
    language = language_of(settings, plan)
    listed: list[Run] = []
    with session(settings.database) as db:
        if name == INDEX:
            listed = runs(db, plan.id, cycle_id)
            source = _digest(language, plan.timezone, *(_listed(run) for run in listed))
        elif name == SUITE_PAGE:
            source = _digest(language, SUITE.read_text(encoding="utf-8"))
        elif name.startswith(STATIC) and name.removeprefix(STATIC) in static_files():
            source = ""
        else:
            return None
        kept = db.get(DocsFile, (plan.id, cycle_id, name))
        if kept is not None and kept.source == source:
            return filestore.get(db, kept.sha256)
        if not (listed or has_runs(db, plan.id, cycle_id)):
            return None
    from tasks.checks.data_docs import pages  # Great Expectations' renderers: seconds to import

    if name == INDEX:
        site_name = text(language, "data_docs.site", cycle=cycle_label(plan.id, cycle_id))
        made = {name: pages.index_page(listed, site_name, language, plan.timezone).encode()}
    elif name == SUITE_PAGE:
        made = {name: pages.suite_page(language).encode()}
    else:
        made = {STATIC + path: data for path, data in static_files().items()}
    with session(settings.database) as db:
        for made_name, data in made.items():
            _keep(db, plan.id, cycle_id, made_name, data, source)
    return made[name]


def site_names() -> list[str]:
    """Every file of a cycle's site that is no run's page, by its name there."""
    return [INDEX, SUITE_PAGE, *(STATIC + path for path in static_files())]


def local_site(settings: Settings, plan: Plan, cycle_id: str) -> Path:
    """The cycle's whole site written into the workspace (``data-docs/<plan>/<cycle>/``), every
    page made that nobody asked for yet: open its ``index.html`` in a browser, no server and
    no network needed. Its folder."""
    folder = settings.folder("data-docs", plan.id, cycle_id)
    with session(settings.database) as db:
        listed = runs(db, plan.id, cycle_id)
    for name in site_names():
        data = site_file(settings, plan, cycle_id, name)
        if data is not None:
            filestore.local_copy(settings, data, "data-docs", plan.id, cycle_id, *name.split("/"))
    for run in listed:
        found = run_page(settings, plan, run.submission_id)
        if found is not None:
            parts = found[0].page_name.split("/")
            filestore.local_copy(settings, found[1], "data-docs", plan.id, cycle_id, *parts)
    return folder


def _run(row: ValidationRun, institution: str | None, filename: str) -> Run:
    return Run(
        submission_id=row.submission_id,
        plan_id=row.plan_id,
        cycle_id=row.cycle_id,
        institution=institution or "",
        filename=filename,
        run_time=row.run_time,
        status=row.status,
        language=row.language,
        result=row.result,
        page=row.page,
    )


def has_runs(db: Session, plan_id: str, cycle_id: str) -> bool:
    """Whether any run of the cycle kept Data Docs (a site exists)."""
    first = select(ValidationRun.submission_id).where(of_cycle(ValidationRun, plan_id, cycle_id))
    return db.scalar(first.limit(1)) is not None


def _listed(run: Run) -> str:
    """What the index shows of a run: it is remade when any of it changes."""
    return f"{run.submission_id}|{run.result}|{run.status}|{run.institution}|{run.filename}"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _keep(db: Session, plan_id: str, cycle_id: str, name: str, data: bytes, source: str) -> None:
    """The file in the store under its name in the site (replacing what was there: two
    consoles making the same stale page at once both write the same bytes)."""
    dialect = db.get_bind().dialect.name
    insert: Any = postgresql_insert if dialect == "postgresql" else sqlite_insert
    values = {"sha256": filestore.put(db, data), "source": source, "written_at": utcnow()}
    db.execute(
        insert(DocsFile)
        .values(plan_id=plan_id, cycle_id=cycle_id, name=name, **values)
        .on_conflict_do_update(index_elements=["plan_id", "cycle_id", "name"], set_=values)
    )
