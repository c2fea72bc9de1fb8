"""``python -m bench.console [--institutions 1000] [--users 20] [--seconds 60] [--think 3]``.

The console under load: a workspace of N synthetic institutions (each with one accepted file of
20 milestones and two warnings, reviews half done), served by ``hitos serve --workers`` in its own
processes, and ``--users`` signed-in reviewers driven from this process. Each reviewer, turn after
turn, opens a page of the cycle dashboard (now and then filtered to the files awaiting review),
then a random file's page, and approves one file in ten (each approval changes the dashboard's
rows). Two runs of ``--seconds`` each: *people*, who pause a random time of mean ``--think``
seconds before their first request and after each one, then *stress*, the same users with no
pause at all. Prints p50 and p95 latency per request kind, requests per second and errors.

Rows are written straight to the ledger (intake at this size is ``make bench``'s job); the
sessions are opened through ``tasks.people.accounts.sign_in``, the function the sign-in page calls.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.runner import free_port
from bench.synthetic import CYCLE, write_plan
from console.site import SESSION_COOKIE
from tasks.core.contract import IN_PROGRESS
from tasks.cycle.requests import open_cycle_record
from tasks.people.accounts import add_user, sign_in
from tasks.plans.plan import Plan, load_plan
from tasks.settings import Settings
from tasks.storage.ledger import FindingRow, MilestoneValue, Submission, session

PASSWORD = "una clave de carga larga"


def workspace(folder: Path, institutions: int, milestones: int) -> tuple[Settings, Plan, list[int]]:
    """The synthetic workspace: cycle open, one accepted file per institution; submission ids."""
    plan_path = write_plan(folder / "plan.yaml", institutions, milestones)
    settings = Settings(home=folder / "ws", plan=plan_path)
    plan = load_plan(plan_path)
    open_cycle_record(settings, plan, CYCLE, date(2023, 3, 1))
    rng = random.Random(0)
    with session(settings.database) as db:
        subs = []
        for index, institution in enumerate(plan.reporting_institutions()):
            sub = Submission(
                sha256=f"{index:064d}",
                filename=f"avances-{institution.code}.xlsx",
                sender=institution.liaison.email,
                channel="mail",
                received_at=datetime(2023, 3, 8, 16),
                plan_id=plan.id,
                cycle_id=CYCLE,
                institution=institution.code,
                version=1,
                outcome="accepted_with_warnings",
                review=rng.choice(["pending", "approved"]),
            )
            for milestone in plan.milestones_of(institution.code):
                sub.values.append(
                    MilestoneValue(
                        milestone=milestone.code,
                        estado=IN_PROGRESS,
                        avance_pct=50,
                        descripcion_avance="Avance.",
                        evidencia_url=f"https://{institution.code.lower()}.example/{milestone.code}",
                    )
                )
            for milestone in plan.milestones_of(institution.code)[:2]:
                sub.findings.append(
                    FindingRow(
                        milestone=milestone.code,
                        column="estado",
                        row=2,
                        rule="overdue-not-completed",
                        severity="warning",
                        message=f"El hito {milestone.code} debía terminar y sigue «Iniciado».",
                    )
                )
            subs.append(sub)
        db.add_all(subs)
        db.flush()
        ids = [s.id for s in subs]
    add_user(settings, "directora@carga.example", "director", PASSWORD)
    return settings, plan, ids


Measure = tuple[str, float, int]
"""Page, seconds, HTTP status (0: no answer)."""
PAGES = ("dashboard", "submission", "approve")


def user(
    base: str,
    account: tuple[str, str],
    ids: list[int],
    until: float,
    think: float,
    seed: int,
    found: list[Measure],
    failures: list[str],
) -> None:
    """One signed-in reviewer, turn after turn until the time is up: a page of the dashboard
    (one of its pages, now and then filtered to the files awaiting review), then a random file's
    page; one file in ten is approved. Between requests the person reads for a random time of
    mean ``think`` seconds (0: no pause, a stress test rather than people). People also begin
    after such a pause, as twenty people at work do not all click in the same millisecond; the
    stress run starts everyone at once."""
    rng = random.Random(seed)
    if think:
        time.sleep(rng.expovariate(1 / think))
    token, csrf = account
    headers = {"Cookie": f"{SESSION_COOKIE}={token}"}  # the cookie is Secure; loopback is HTTP
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:

        def timed(page: str, method: str, path: str, **data: Any) -> None:
            started = time.perf_counter()
            try:
                status = client.request(method, path, data=data or None).status_code
            except httpx.HTTPError as exc:
                status = 0
                failures.append(f"{page}: {type(exc).__name__}")
            found.append((page, time.perf_counter() - started, 200 if status == 303 else status))
            if status not in (0, 200, 303):
                failures.append(f"{page}: HTTP {status}")
            if think:
                time.sleep(rng.expovariate(1 / think))

        turn = 0
        while turn < 1 or time.monotonic() < until:  # each page at least once
            state = "pending" if rng.random() < 0.2 else ""
            timed("dashboard", "GET", f"/?estado={state}&pagina={rng.randint(1, 4)}")
            sub = rng.choice(ids)
            timed("submission", "GET", f"/envios/{sub}")
            if turn == 0 or rng.random() < 0.1:
                timed("approve", "POST", f"/envios/{sub}/aprobar", csrf=csrf, note="Revisado.")
            turn += 1


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@contextmanager
def console_server(settings: Settings, workers: int) -> Iterator[str]:
    """``hitos serve`` in its own process group (the load generator must not share its CPU
    time); its base URL once it answers."""
    port = free_port()
    env = {
        **os.environ,
        "HITOS_HOME": str(settings.home),
        "HITOS_PLAN": str(settings.plan),
    }
    command = [sys.executable, "-c", "from hitos_cli import main; main()", "serve"]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--workers", str(workers)],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{base}/login", timeout=5)
                break
            except httpx.HTTPError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the console did not start (hitos serve)") from None
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # uvicorn's workers with it
        server.wait(timeout=30)


def load(
    base: str, settings: Settings, ids: list[int], users: int, seconds: float, think: float
) -> dict[str, Any]:
    """``users`` people (or, with ``think`` 0, a stress test) for ``seconds``: the measures."""
    accounts = []
    for n in range(users):
        account, token = sign_in(settings, "directora@carga.example", PASSWORD, f"bench-{n}")
        accounts.append((token, account.csrf))
    found: list[Measure] = []
    failures: list[str] = []
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(target=user, args=(base, account, ids, until, think, n, found, failures))
        for n, account in enumerate(accounts)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    pages: dict[str, Any] = {}
    for page in PAGES:
        times = [t for p, t, _ in found if p == page]
        pages[page] = {
            "requests": len(times),
            "p50_ms": round(1000 * statistics.median(times), 1) if times else None,
            "p95_ms": round(1000 * percentile(times, 0.95), 1) if times else None,
            "errors": sum(1 for p, _, status in found if p == page and status != 200),
        }
    return {
        "think_s": think,
        "requests_per_second": round(len(found) / elapsed, 1),
        "pages": pages,
        "failures": dict(Counter(failures)),
    }


def run(
    institutions: int,
    milestones: int,
    users: int,
    seconds: float,
    think: float = 3.0,
    workers: int = 2,
) -> dict[str, Any]:
    """Build the workspace, serve it, load it with people, then stress it; the measures."""
    with tempfile.TemporaryDirectory(prefix="hitos-console-bench-") as folder:
        settings, _, ids = workspace(Path(folder), institutions, milestones)
        with console_server(settings, workers) as base:
            people = load(base, settings, ids, users, seconds, think)
            stress = load(base, settings, ids, users, seconds, 0)
    return {
        "institutions": institutions,
        "milestones": institutions * milestones,
        "users": users,
        "seconds": seconds,
        "workers": workers,
        "people": people,
        "stress": stress,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__)
    parser.add_argument("--institutions", type=int, default=1000)
    parser.add_argument("--milestones", type=int, default=20, help="milestones per institution")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60, help="of each of the two runs")
    parser.add_argument("--think", type=float, default=3.0, help="people's mean pause, seconds")
    parser.add_argument("--workers", type=int, default=2, help="hitos serve --workers")
    parser.add_argument("--json", type=Path, help="also write the measures to this file")
    args = parser.parse_args(argv)
    result = run(
        args.institutions, args.milestones, args.users, args.seconds, args.think, args.workers
    )
    print(
        f"Console at {result['institutions']} institutions, {result['users']} users, "
        f"{result['workers']} workers, {result['seconds']:.0f} s each:"
    )
    errors = 0
    for mode in ("people", "stress"):
        found = result[mode]
        print(
            f"  {mode} (mean pause {found['think_s']} s): {found['requests_per_second']} requests/s"
        )
        if found["failures"]:
            print(f"    failures: {found['failures']}")
        for page, measure in found["pages"].items():
            errors += measure["errors"]
            print(
                f"    {page:<11} {measure['requests']:>6} requests  p50 {measure['p50_ms']} ms  "
                f"p95 {measure['p95_ms']} ms  errors {measure['errors']}"
            )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
