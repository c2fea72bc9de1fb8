"""The published report of a cycle: an HTML page, its PDF, and the open data (CSV, XLSX) behind it.

One module per kind of file: ``page`` (what the page shows), ``pdf`` (the page printed),
``xlsx`` (the workbook for people) and ``open_data`` (the CSV, its column names and dictionary,
and the neutralising of formulas that the CSV and XLSX share). ``write_report`` writes a version's
four files once: the XLSX, the longest to write, in a process of its own beside the others when
the plan is large.
"""

from __future__ import annotations

import os
import shutil
import traceback
from collections.abc import Callable
from datetime import date
from multiprocessing import get_context
from pathlib import Path

import pandas as pd

from tasks.core.calendar import local_today
from tasks.plans.plan import Plan
from tasks.publication.consolidation import Figures
from tasks.publication.report.open_data import data_dictionary, neutralise, published, write_csv
from tasks.publication.report.page import (
    evidence_link,
    page_context,
    page_rows,
    render_page,
    state_label,
)
from tasks.publication.report.pdf import everything, print_page, print_pdf, printable
from tasks.publication.report.xlsx import write_xlsx
from tasks.storage.ledger import Cycle

__all__ = [
    "KINDS",
    "data_dictionary",
    "evidence_link",
    "neutralise",
    "page_rows",
    "print_pdf",
    "published",
    "report_name",
    "state_label",
    "write_csv",
    "write_report",
]

KINDS = ("html", "pdf", "csv", "xlsx")
"""The files of every report version, each also copied to ``latest/``."""

PARALLEL_FROM = 2_000
"""Milestones from which the XLSX is written in a forked process while this one writes the
page, the PDF and the CSV. At 20,000 milestones the XLSX is about half of the writing time, so
the two halves overlap on two cores; a fork costs a few milliseconds, but the small plans
whose files take a fraction of a second have nothing to gain."""


def report_name(plan: Plan, cycle_id: str, kind: str) -> str:
    """The Hitos-made name of a report file: ``gt-pan5-2023-03.pdf``."""
    return f"{plan.id}-{cycle_id}.{kind}"


def write_report(
    plan: Plan,
    cycle: Cycle,
    table: pd.DataFrame,
    figures: Figures,
    folder: Path,
    version: int,
    language: str = "es",
    made_on: date | None = None,
) -> dict[str, Path]:
    """Write ``v{version}/{plan}-{cycle}.{html,pdf,csv,xlsx}`` and copy them to ``latest/``,
    in ``language`` (the CSV keeps its column keys; states appear by their label).

    ``made_on`` is the version's date as the page states it (today in the plan's time zone by
    default); ``figures`` from ``report_figures`` give the change since the previous published
    cycle and the chart across cycles.
    """
    versioned = folder / f"v{version}"
    latest = folder / "latest"
    versioned.mkdir(parents=True, exist_ok=True)
    latest.mkdir(parents=True, exist_ok=True)
    day = made_on or local_today(plan.timezone)
    paths = {kind: versioned / report_name(plan, cycle.id, kind) for kind in KINDS}

    def xlsx() -> None:
        write_xlsx(plan, cycle, table, figures, version, day, paths["xlsx"], language)

    forked = _started(xlsx) if len(table) >= PARALLEL_FROM else None
    try:
        context = page_context(plan, cycle, table, figures, version, day, language)
        paths["html"].write_text(render_page(context, language, everything), "utf-8")
        print_page(render_page(context, language, printable), paths["pdf"])
        write_csv(published(table, language), paths["csv"])
    finally:
        if forked is not None:
            forked()  # waited for (and its failure said) even when another file failed
    if forked is None:
        xlsx()
    for kind, path in list(paths.items()):
        paths[f"latest_{kind}"] = Path(shutil.copyfile(path, latest / path.name))
    return paths


def _started(job: Callable[[], None]) -> Callable[[], None]:
    """Run ``job`` in a forked process, now; the function returned waits for it and raises
    when it failed, with the child's traceback.

    Forked, not spawned: the child has the table and the figures already, and needs no imports
    (a fresh interpreter importing pandas, openpyxl and the project took 2 to 3 s here, more
    than the XLSX itself). The child only writes its file and leaves by ``os._exit`` (as every
    forked multiprocessing child does), so the ledger's connections it inherited are never
    touched or closed by it.
    """
    context = get_context("fork")
    receiving, sending = context.Pipe(duplex=False)

    def run() -> None:
        # Leaves at once by os._exit: multiprocessing's own way out runs the finalizers and
        # hooks the child inherited (a test runner's, a library's gc callbacks), and one of
        # them failing turned a written file into a non-zero exit code (seen in CI).
        try:
            job()
        except BaseException:
            sending.send(traceback.format_exc())
            os._exit(1)
        sending.send("")
        sending.close()
        os._exit(0)

    child = context.Process(target=run, name="hitos-report-xlsx", daemon=True)
    child.start()
    sending.close()

    def wait() -> None:
        try:
            failure = receiving.recv()
        except EOFError:  # killed before it could say anything
            failure = "its process ended without a word"
        child.join()
        if failure or child.exitcode != 0:
            failure = failure or f"its process ended with exit code {child.exitcode}"
            raise RuntimeError(f"the report's XLSX could not be written: {failure}")

    return wait
