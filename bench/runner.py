"""The benchmark run: for each size, a fresh workspace, each stage in its own process, one table.

The parent process writes the synthetic plan and answers (set-up, not measured) and runs the
embedded SMTP server (aiosmtpd, as ``tasks/mail/local_server.py``) on loopback, so that receiving
and
filing mail does not count against the stage that sends it.
"""

from __future__ import annotations

import json
import os
import pickle
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import synthetic
from tasks.mail.local_server import local_smtp_server
from tasks.plans.plan import Plan
from tasks.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PLAIN_STAGES = ("open", "intake", "reply", "consolidate")


class StageFailed(RuntimeError):
    """A stage process exited with an error; its log says why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SizeRun:
    """Everything measured at one size (N institutions × M milestones)."""

    institutions: int
    milestones: int
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    setup: dict[str, float] = field(default_factory=dict)
    answers: dict[str, int] = field(default_factory=dict)


def child_environment(workspace: Path, plan: Path, port: int, prefect_home: Path) -> dict[str, str]:
    """The stage process's environment: Hitos' settings, and a Prefect home of the bench's own."""
    env = dict(os.environ)
    env.update(
        HITOS_HOME=str(workspace),
        HITOS_PLAN=str(plan),
        HITOS_SMTP_PORT=str(port),
        HITOS_DATABASE_URL="",
        PREFECT_HOME=str(prefect_home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=env.get(
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180"
        ),
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
    )
    return env


def run_stage(name: str, workdir: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run ``bench.stages`` for one stage in a fresh interpreter; its measures."""
    out = workdir / f"{name}.json"
    log = workdir / f"{name}.log"
    with log.open("w", encoding="utf-8") as handle:
        done = subprocess.run(
            [sys.executable, "-m", "bench.stages", name, str(workdir), str(out)],
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise StageFailed(f"stage {name} failed (exit {done.returncode}); {log}:\n{tail}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def prepare_plan(workdir: Path, institutions: int, milestones: int) -> tuple[Path, Plan]:
    """The plan as YAML (what ``HITOS_PLAN`` names) and pickled (what plain stages load)."""
    path = synthetic.write_plan(workdir / "plan.yaml", institutions, milestones)
    plan = Plan.model_validate(synthetic.plan_data(institutions, milestones))
    with (workdir / "plan.pickle").open("wb") as handle:
        pickle.dump(plan, handle)
    return path, plan


def run_size(
    workdir: Path,
    institutions: int,
    milestones: int,
    flows: bool,
    say: Any = print,
    prefect_api_url: str = "",
) -> SizeRun:
    """Every stage at one size, plain functions first, then (``flows``) the real Prefect flows:
    on Prefect's temporary local server, or on the server at ``prefect_api_url`` (the tests' own,
    already started: a temporary server costs each flow process about 25 s to start)."""
    run = SizeRun(institutions, milestones)
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    plan_path, plan = prepare_plan(workdir, institutions, milestones)
    run.setup["plan"] = time.perf_counter() - started
    prefect_home = workdir / "prefect"
    workspace = workdir / "ws"
    port = free_port()
    env = child_environment(workspace, plan_path, port, prefect_home)
    settings = Settings(home=workspace, plan=plan_path, smtp_port=port)

    say(f"N={institutions}: plan-load")
    run.stages["plan-load"] = run_stage("plan-load", workdir, env)
    inbox, outbox = settings.folder("mail", "inbox"), settings.folder("mail", "outbox")
    with local_smtp_server(inbox, outbox, settings.sender, port):
        say(f"N={institutions}: open (build and send {institutions} requests)")
        run.stages["open"] = run_stage("open", workdir, env)
        started = time.perf_counter()
        answers = synthetic.answers(settings, plan, workers=os.cpu_count() or 1)
        synthetic.write_answers(workdir / "answers", answers)
        synthetic.deliver_to_inbox(settings, answers)
        run.setup["answers"] = time.perf_counter() - started
        for answer in answers:
            run.answers[answer.kind] = run.answers.get(answer.kind, 0) + 1
        for name in ("intake", "reply", "consolidate"):
            say(f"N={institutions}: {name}")
            run.stages[name] = run_stage(name, workdir, env)
    if not flows:
        return run

    flow_workspace = workdir / "flows-ws"
    port = free_port()
    env = child_environment(flow_workspace, plan_path, port, prefect_home)
    if prefect_api_url:
        env["PREFECT_API_URL"] = prefect_api_url
    flow_settings = Settings(home=flow_workspace, plan=plan_path, smtp_port=port)
    inbox = flow_settings.folder("mail", "inbox")
    outbox = flow_settings.folder("mail", "outbox")
    with local_smtp_server(inbox, outbox, flow_settings.sender, port):
        say(f"N={institutions}: flow hitos.open-cycle")
        run.stages["flow-open"] = run_stage("flow-open", workdir, env)
        synthetic.deliver_to_inbox(flow_settings, answers)
        say(f"N={institutions}: flows hitos.intake, hitos.consolidate")
        run.stages["flow-rest"] = run_stage("flow-rest", workdir, env)
    return run


def orchestration_overhead(run: SizeRun) -> float | None:
    """Prefect's cost per institution, in ms: the flows' time minus the same plain functions'.

    The flows load the YAML plan themselves (each of the three), the plain stages get it
    unpickled, so three plan loads are added to the plain side; so are Great Expectations'
    context, which the plain intake stage builds before its timer starts, and the evidence
    links' check, which the reply stage times apart from its wall.
    """
    stages = run.stages
    if "flow-open" not in stages or "flow-rest" not in stages:
        return None
    flows = stages["flow-open"]["wall"] + stages["flow-rest"]["wall"]
    plain = (
        sum(stages[name]["wall"] for name in PLAIN_STAGES)
        + 3 * stages["plan-load"]["wall"]
        + stages["intake"]["parts"]["gx-context (once per process)"]
        + stages["reply"]["parts"].get("check-links", 0.0)
    )
    return 1000 * (flows - plain) / run.institutions
