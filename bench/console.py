"""``python -m bench.console [--institutions 1000] [--users 20] [--seconds 60] [--json FILE]``.

The console under load: a workspace of N synthetic institutions (each with one accepted file of
20 milestones and two warnings, reviews half done), uvicorn on loopback, and ``--users`` signed-in
users that each request, one after another for ``--seconds``, the cycle dashboard and a random
submission page. Prints p50 and p95 latency per page, requests per second and errors.

Rows are written straight to the ledger (intake at this size is ``make bench``'s job); the
sessions are opened through ``tasks.people.accounts.sign_in``, the function the sign-in page calls.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bench.runner import free_port
from bench.synthetic import CYCLE, write_plan
from console.app import SESSION_COOKIE, create_app
from tasks.cycle.requests import open_cycle_record
from tasks.people.accounts import add_user, sign_in
from tasks.plans.plan import Plan, load_plan
from tasks.settings import Settings
from tasks.storage.ledger import FindingRow, MilestoneValue, Submission, session
from tasks.workbooks.contract import IN_PROGRESS

PASSWORD = "una clave de carga larga"


def workspace(folder: Path, institutions: int, milestones: int) -> tuple[Settings, Plan, list[int]]:
    """The synthetic workspace: cycle open, one accepted file per institution; submission ids."""
    plan_path = write_plan(folder / "plan.yaml", institutions, milestones)
    settings = Settings(home=folder / "ws", plan=plan_path)
    plan = load_plan(plan_path)
    open_cycle_record(settings, plan, CYCLE)
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


def user(
    port: int, token: str, ids: list[int], until: float, seed: int, found: list[Measure]
) -> None:
    """One signed-in user: dashboard, then a random file's page, until the time is up."""
    rng = random.Random(seed)
    headers = {"Cookie": f"{SESSION_COOKIE}={token}"}  # the cookie is Secure; loopback is HTTP
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:
        turn = 0
        while turn < 2 or time.monotonic() < until:  # each page at least once
            page, path = (
                ("dashboard", "/")
                if turn % 2 == 0
                else (
                    "submission",
                    f"/envios/{rng.choice(ids)}",
                )
            )
            started = time.perf_counter()
            try:
                status = client.get(path).status_code
            except httpx.HTTPError:
                status = 0
            found.append((page, time.perf_counter() - started, status))
            turn += 1


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(institutions: int, milestones: int, users: int, seconds: float) -> dict[str, Any]:
    """Build the workspace, serve it, load it; the measures."""
    with tempfile.TemporaryDirectory(prefix="hitos-console-bench-") as folder:
        settings, plan, ids = workspace(Path(folder), institutions, milestones)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings, plan), host="127.0.0.1", port=port, log_level="error"
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            tokens = [
                sign_in(settings, "directora@carga.example", PASSWORD, f"bench-{n}")[1]
                for n in range(users)
            ]
            found: list[Measure] = []
            until = time.monotonic() + seconds
            workers = [
                threading.Thread(target=user, args=(port, token, ids, until, n, found))
                for n, token in enumerate(tokens)
            ]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    pages: dict[str, Any] = {}
    for page in ("dashboard", "submission"):
        times = [t for p, t, _ in found if p == page]
        pages[page] = {
            "requests": len(times),
            "p50_ms": round(1000 * statistics.median(times), 1) if times else None,
            "p95_ms": round(1000 * percentile(times, 0.95), 1) if times else None,
            "errors": sum(1 for p, _, status in found if p == page and status != 200),
        }
    return {
        "institutions": institutions,
        "milestones": institutions * milestones,
        "users": users,
        "seconds": seconds,
        "requests_per_second": round(len(found) / seconds, 1),
        "pages": pages,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__)
    parser.add_argument("--institutions", type=int, default=1000)
    parser.add_argument("--milestones", type=int, default=20, help="milestones per institution")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--json", type=Path, help="also write the measures to this file")
    args = parser.parse_args(argv)
    result = run(args.institutions, args.milestones, args.users, args.seconds)
    print(
        f"Console at {result['institutions']} institutions, {result['users']} users, "
        f"{result['seconds']:.0f} s: {result['requests_per_second']} requests/s"
    )
    for page, measure in result["pages"].items():
        print(
            f"  {page:<11} {measure['requests']:>6} requests  p50 {measure['p50_ms']} ms  "
            f"p95 {measure['p95_ms']} ms  errors {measure['errors']}"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    errors = sum(m["errors"] for m in result["pages"].values())
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
