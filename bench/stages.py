"""One benchmark stage in its own process: ``python -m bench.stages STAGE WORKDIR OUT.json``.

Each stage runs in a fresh interpreter so that its peak memory (``ru_maxrss``: the process's
peak resident set, interpreter and imports included) is its own, and so that no stage warms a
cache for the next. The parent (``bench.runner``) runs the local SMTP server and writes the
synthetic inputs; this process only does what Hitos does, on the workspace in ``HITOS_HOME``.

Plain stages call the same task functions the flows call, with the plan unpickled from the
parent's copy (loading the YAML plan is measured once, as its own stage ``plan-load``). Flow
stages run the real Prefect flows, which load the plan themselves.
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from bench import floors as bare

CYCLE = "2023-03"
OPENED = date(2023, 3, 1)  # the day the requests go out: the deadline counts from it


P = ParamSpec("P")
T = TypeVar("T")


class Clock:
    """Named wall-clock parts of one stage, in seconds."""

    def __init__(self) -> None:
        self.parts: dict[str, float] = {}

    def timed(self, name: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args)``, timed under ``name`` (typed, so a changed signature fails mypy)."""
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.parts[name] = self.parts.get(name, 0.0) + time.perf_counter() - started


def rss_mib() -> float:
    """The process's resident set now, in MiB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_mib() -> float:
    """The process's peak resident set so far (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _plan(workdir: Path) -> Any:
    with (workdir / "plan.pickle").open("rb") as handle:
        return pickle.load(handle)


def plan_load(workdir: Path, clock: Clock) -> dict[str, Any]:
    """The plan as every flow and CLI command reads it: ``load_plan`` on the YAML file."""
    from tasks.plans.plan import load_plan
    from tasks.settings import Settings

    plan = clock.timed("load_plan", load_plan, Settings().plan)
    return {"wall": clock.parts["load_plan"], "items": len(plan.milestones)}


def open_stage(workdir: Path, clock: Clock) -> dict[str, Any]:
    """open-cycle's body: the cycle, each batch's workbooks (one transaction per batch, as the
    flow's ``build-requests``), each institution's email, then sending."""
    from flows import batches
    from tasks.cycle import requests
    from tasks.cycle.requests import build_request_batch, open_cycle_record, request_email
    from tasks.mail.outgoing import send_all
    from tasks.settings import Settings

    settings, plan = Settings(), _plan(workdir)
    # The workbooks' own share of "build" (which also reads and writes the ledger and the store).
    building = requests.build_request_workbook

    def timed_workbook(*args: Any, **kwargs: Any) -> bytes:
        return clock.timed("workbooks", lambda: building(*args, **kwargs))  # type: ignore[no-any-return]

    requests.build_request_workbook = timed_workbook  # type: ignore[assignment]
    started = time.perf_counter()
    cycle = clock.timed("create-cycle", open_cycle_record, settings, plan, CYCLE, OPENED)
    institutions = plan.reporting_institutions()
    paths = [
        path
        for batch in batches(institutions)
        for path in clock.timed("build", build_request_batch, settings, plan, cycle, batch)
    ]
    mails = [
        clock.timed("render", request_email, plan, cycle, i, p)
        for i, p in zip(institutions, paths, strict=True)
    ]
    statuses = clock.timed("send", send_all, settings, mails)
    wall = time.perf_counter() - started
    sent = sum(s == "sent" for s in statuses.values())
    floors = {
        "openpyxl-write": bare.openpyxl_write(plan, institutions),
        "smtp-send": bare_send(settings, mails),
    }
    return {"wall": wall, "items": len(institutions), "emails": sent, "floors": floors}


def bare_send(settings: Any, mails: list[Any]) -> float:
    """The floor of sending ``mails``: their messages, built outside the timing, sent again over
    one plain SMTP connection to the same server (``bench.floors.smtp_send``)."""
    from tasks.mail.outgoing import mailer

    with mailer(settings) as client:
        messages = [client.message(mail, settings.sender) for mail in mails]
    return bare.smtp_send(settings.smtp_host, settings.smtp_port, settings.sender, messages)


def intake_stage(workdir: Path, clock: Clock) -> dict[str, Any]:
    """The reader alone over the returned files, then intake: store and validate them all."""
    from tasks.checks.validation import checkpoint
    from tasks.intake.process import process
    from tasks.intake.store import store_all
    from tasks.settings import Settings
    from tasks.workbooks.reading import UnreadableFile, read_submission

    settings, plan = Settings(), _plan(workdir)
    files = sorted((workdir / "answers").iterdir())
    limit = settings.max_file_mb * 1024 * 1024

    def read_all() -> int:
        read = 0
        for path in files:
            try:
                read_submission(path.read_bytes(), path.name, limit)
                read += 1
            except UnreadableFile:
                pass
        return read

    # Great Expectations' context is built once per process; a worker pays it once, not per run.
    clock.timed("gx-context (once per process)", checkpoint, "es")
    clock.timed("read-only", read_all)
    started = time.perf_counter()
    stored = clock.timed("store", store_all, settings)
    outcomes = clock.timed("validate", process, settings, plan)
    wall = time.perf_counter() - started
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    return {
        "wall": wall,
        "items": len(stored),
        "read_only": clock.parts["read-only"],
        "outcomes": counts,
        "floors": {
            "calamine-read": bare.calamine_read(files)[0],
            "openpyxl-read": bare.openpyxl_read(files)[0],
        },
    }


def reply_stage(workdir: Path, clock: Clock) -> dict[str, Any]:
    """intake's last steps: the evidence links of the accepted files checked (their warnings
    reach the replies), the reply owed to each sender (rejections with the marked file) and the
    notice owed to each liaison whose file came from a stranger. The intake flow does all of
    it; the links are timed apart (``check-links``, outside the stage's wall, whose target is
    the replies') and counted on the plain side of Prefect's overhead, where they were missing."""
    from tasks.evidence.checking import check_new_links
    from tasks.intake.replies import unanswered
    from tasks.intake.strangers import stranger_notices
    from tasks.mail.outgoing import send_all
    from tasks.settings import Settings

    settings, plan = Settings(), _plan(workdir)
    clock.timed("check-links", check_new_links, settings, plan)
    started = time.perf_counter()
    mails = clock.timed("render", unanswered, settings, plan)
    mails += clock.timed("render-notices", stranger_notices, settings, plan)
    statuses = clock.timed("send", send_all, settings, mails)
    wall = time.perf_counter() - started
    sent = sum(s == "sent" for s in statuses.values())
    floors = {"smtp-send": bare_send(settings, mails)}
    return {"wall": wall, "items": len(mails), "emails": sent, "floors": floors}


def reminder_day(settings: Any, plan: Any) -> Any:
    """Two business days before the cycle's deadline: a day a reminder is due to whoever waits."""
    from tasks.core.calendar import add_business_days
    from tasks.storage.ledger import Cycle, session

    with session(settings.database) as db:
        cycle = db.get(Cycle, (plan.id, CYCLE))
        assert cycle is not None, f"cycle {CYCLE} was never opened"
    return add_business_days(cycle.deadline, -2, plan.country)


def remind_stage(workdir: Path, clock: Clock) -> dict[str, Any]:
    """remind's body on its busiest kind of day: each institution still waiting gets one."""
    from flows.remind import render_reminders
    from tasks.cycle.reminders import waiting_institutions
    from tasks.mail.outgoing import send_all
    from tasks.settings import Settings
    from tasks.storage.ledger import session
    from tasks.storage.queries import require_cycle

    settings, plan = Settings(), _plan(workdir)
    today = reminder_day(settings, plan)
    started = time.perf_counter()
    with session(settings.database) as db:
        cycle = require_cycle(db, plan.id, CYCLE)
    waiting = clock.timed("select", waiting_institutions, settings, plan, CYCLE)
    mails = clock.timed("render", render_reminders, settings, plan, cycle, waiting, today)
    statuses = clock.timed("send", send_all, settings, mails)
    wall = time.perf_counter() - started
    sent = sum(s == "sent" for s in statuses.values())
    return {"wall": wall, "items": len(waiting), "emails": sent}


def consolidate_stage(workdir: Path, clock: Clock) -> dict[str, Any]:
    """consolidate's body: the report (table, figures, HTML, PDF, XLSX, CSV) and the director's
    email; then, outside the timing, the report's parts once more to say which dominates."""
    from tasks.mail.outgoing import send_all
    from tasks.publication.consolidation import (
        consolidated_table,
        institution_figures,
        report_figures,
    )
    from tasks.publication.notices import report_email
    from tasks.publication.publishing import consolidate
    from tasks.publication.report import write_report
    from tasks.settings import Settings
    from tasks.storage.ledger import Cycle, session

    settings, plan = Settings(), _plan(workdir)
    approved = approve_all(settings, plan)
    started = time.perf_counter()
    publication = clock.timed("publish", consolidate, settings, plan, CYCLE)
    mail = clock.timed("notice", report_email, settings, plan, publication)
    clock.timed("send", send_all, settings, [mail])
    wall = time.perf_counter() - started
    rows = publication.figures.milestones
    breakdown = Clock()
    with session(settings.database) as db:
        cycle = db.get(Cycle, (plan.id, CYCLE))
        assert cycle is not None
        table = breakdown.timed("table", consolidated_table, db, plan, cycle)
        institutions = breakdown.timed("deliveries", institution_figures, db, plan, cycle)
        numbers = breakdown.timed("figures", report_figures, db, plan, cycle, table, institutions)
    folder = workdir / "report-breakdown"
    breakdown.timed("write-files", write_report, plan, cycle, table, numbers, folder, 1)
    return {"wall": wall, "items": rows, "approved": approved, "breakdown": breakdown.parts}


def approve_all(settings: Any, plan: Any) -> int:
    """Set-up, not measured: the reviewers approve every accepted file, as before a real
    consolidation (only approved files feed a report: without this it would report nothing)."""
    from tasks.people.review import approve, pending_reviews

    pending = pending_reviews(settings)
    for item in pending:
        approve(settings, plan, item.submission_id, actor="bench")
    return len(pending)


def _warm_prefect(clock: Clock) -> None:
    """Start Prefect's local server with a trivial flow, so flow timings exclude its start-up."""
    from prefect import flow

    @flow(name="bench.warm-up")
    def warm_up() -> None:
        return None

    clock.timed("prefect-start", warm_up)


def flow_open(workdir: Path, clock: Clock) -> dict[str, Any]:
    """The real hitos.open-cycle flow (it loads the plan itself)."""
    from flows.open_cycle import open_cycle

    _warm_prefect(clock)
    started = time.perf_counter()
    statuses = open_cycle(CYCLE)
    wall = time.perf_counter() - started
    return {"wall": wall, "items": len(statuses)}


def flow_rest(workdir: Path, clock: Clock) -> dict[str, Any]:
    """The real hitos.intake and hitos.consolidate flows, timed apart."""
    from flows.consolidate import consolidate
    from flows.intake import intake

    _warm_prefect(clock)
    started = time.perf_counter()
    outcomes = clock.timed("intake", intake)
    clock.timed("consolidate", consolidate, CYCLE)
    wall = time.perf_counter() - started
    return {"wall": wall, "items": len(outcomes)}


STAGES: dict[str, Callable[[Path, Clock], dict[str, Any]]] = {
    "plan-load": plan_load,
    "open": open_stage,
    "intake": intake_stage,
    "reply": reply_stage,
    "remind": remind_stage,
    "consolidate": consolidate_stage,
    "flow-open": flow_open,
    "flow-rest": flow_rest,
}


def main(argv: list[str]) -> None:
    """Run one stage and write its measures as JSON."""
    name, workdir, out = argv[0], Path(argv[1]), Path(argv[2])
    clock = Clock()
    started = time.perf_counter()
    result = STAGES[name](workdir, clock)
    result.setdefault("wall", time.perf_counter() - started)
    result.update(
        stage=name,
        parts=clock.parts,
        peak_mib=peak_mib(),
        rss_end_mib=rss_mib(),
        pid=os.getpid(),
    )
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
