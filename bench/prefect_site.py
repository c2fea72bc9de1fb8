"""A real Prefect server on PostgreSQL with process workers, set up as docs/server.md ("Running on a
server") says, with its own commands.

``tests/test_server.py`` drives a whole cycle through it; ``bench.server`` times one. Each run
gets a database of its own on the PostgreSQL server, its own ``PREFECT_HOME`` and a free port.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from prefect.client.schemas.objects import StateType

from bench.runner import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
GUIDE = (ROOT / "docs" / "server.md").read_text(encoding="utf-8")
"""The page that says how to run Hitos on a server: its commands are the ones run here."""
POSTGRES = os.environ.get("HITOS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
"""The PostgreSQL server the databases are made on (an admin connection to it)."""
TERMINAL = {
    s.value for s in (StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED)
}
"""Prefect's final states (its names, not Hitos' milestone states)."""
RUN_TIMEOUT = 150.0
HEARTBEAT_SECONDS = 30
"""Workers' flow-run heartbeat (``PREFECT_FLOWS_HEARTBEAT_FREQUENCY``): Prefect's minimum."""
HEARTBEAT_GRACE_SECONDS = 45
"""Silence after which ``hitos server setup``'s automation marks a run Crashed, shortened."""


class SiteFailed(RuntimeError):
    """A command of the guide failed, or the guide no longer gives it."""


def readme(command: str) -> list[str]:
    """A command exactly as the guide gives it, as arguments for the checkout's tools."""
    if command not in GUIDE:
        raise SiteFailed(f"docs/server.md no longer says: {command}")
    program, *arguments = shlex.split(command)
    return [str(BIN / program), *arguments]


def plain_environment() -> dict[str, str]:
    """This process's environment without its Prefect or Hitos settings (a clean machine)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "HITOS_"))}


def stop(process: subprocess.Popen[Any]) -> None:
    """Stop a process group politely (a worker may need a second SIGTERM), else kill it."""
    for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def database(prefix: str, driver: str) -> Iterator[str]:
    """A fresh PostgreSQL database, its URL for ``driver`` (asyncpg, psycopg); dropped after."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = POSTGRES.rsplit("/", 1)[0].replace("postgresql://", f"postgresql+{driver}://")
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class PrefectApi:
    url: str
    environment: dict[str, str]
    """What every client and worker needs: PREFECT_HOME and PREFECT_API_URL (the guide, step 4)."""

    def cli(self, command: str, *extra: str) -> str:
        """A command of the guide with this server's environment; its output."""
        done = subprocess.run(
            [*readme(command), *extra],
            cwd=ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise SiteFailed(f"{command} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def start(self, deployment: str, *parameters: str) -> subprocess.Popen[str]:
        """``prefect deployment run`` in the background, so several start together."""
        arguments = [a for p in parameters for a in ("-p", p)]
        return subprocess.Popen(
            [str(BIN / "prefect"), "deployment", "run", deployment, *arguments],
            cwd=ROOT,
            env=self.environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def started(self, *runs: subprocess.Popen[str]) -> list[str]:
        """The flow-run ids the ``prefect deployment run`` commands created."""
        ids = []
        for run in runs:
            output, _ = run.communicate(timeout=120)
            found = re.search(r"UUID: ([0-9a-f-]{36})", output)
            if run.returncode != 0 or not found:
                raise SiteFailed(f"prefect deployment run failed:\n{output}")
            ids.append(found.group(1))
        return ids

    def run(self, deployment: str, *parameters: str) -> str:
        return self.started(self.start(deployment, *parameters))[0]

    def create_run(self, deployment: str, parameters: Mapping[str, Any]) -> str:
        """What ``prefect deployment run`` does, straight through the API (no CLI start-up)."""
        flow, name = deployment.split("/")
        found = httpx.get(f"{self.url}/deployments/name/{flow}/{name}", timeout=30)
        found.raise_for_status()
        created = httpx.post(
            f"{self.url}/deployments/{found.json()['id']}/create_flow_run",
            json={"parameters": dict(parameters)},
            timeout=30,
        )
        created.raise_for_status()
        return str(created.json()["id"])

    def wait_for_workers(self, names: set[str], since: datetime, timeout: float = 180) -> None:
        """Until every named worker has told the server, after ``since``, that it polls the pool
        (a warm worker does once it has imported the flows and built the checks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = httpx.post(f"{self.url}/work_pools/hitos/workers/filter", json={}, timeout=30)
            beats = {
                w["name"]: datetime.fromisoformat(w["last_heartbeat_time"])
                for w in (found.json() if found.status_code == 200 else [])
                if w.get("last_heartbeat_time")
            }
            if all(name in beats and beats[name] >= since for name in names):
                return
            time.sleep(0.5)
        raise SiteFailed(f"workers {sorted(names)} did not start polling within {timeout:.0f} s")

    def flow_run(self, run_id: str) -> dict[str, Any]:
        found: dict[str, Any] = httpx.get(f"{self.url}/flow_runs/{run_id}", timeout=30).json()
        return found

    def wait(self, *run_ids: str, timeout: float = RUN_TIMEOUT, poll: float = 0.5) -> list[str]:
        """Each run's final state type, once all have finished (``TIMED OUT`` if not)."""
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline and len(states) < len(run_ids):
            for run_id in run_ids:
                state = self.flow_run(run_id)["state"]
                if state["type"] in TERMINAL:
                    states[run_id] = state["type"]
            time.sleep(poll)
        return [states.get(run_id, "TIMED OUT") for run_id in run_ids]


def _wait_healthy(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SiteFailed("prefect server start exited")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SiteFailed("the Prefect server did not answer within 120 s")


@contextmanager
def prefect_server(home: Path, database_url: str) -> Iterator[PrefectApi]:
    """The guide's steps 3 to 5: the server on PostgreSQL (loopback, a free port), the pool, the
    deployments and the automation that crashes silent runs."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = {
        **plain_environment(),
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    server_environment = {
        **base,
        "PREFECT_API_DATABASE_CONNECTION_URL": database_url,
        # A queued run (ENQUEUE) retries for its slot every 30 s by default: 1 s here.
        "PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS": "1",
        # Runs are started by hand here: no scheduled intake joins in every 15 minutes.
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    }
    start = readme("prefect server start --host 0.0.0.0 --port 4200")[:-4]
    with (home / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [*start, "--host", "127.0.0.1", "--port", str(port)],
            env=server_environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}/api"
        api = PrefectApi(url, {**base, "PREFECT_API_URL": url})
        try:
            _wait_healthy(url, server)
            api.cli("prefect work-pool create hitos --type process")
            api.cli("prefect --no-prompt deploy --all")
            api.cli("hitos server setup", "--grace", str(HEARTBEAT_GRACE_SECONDS))
            yield api
        finally:
            stop(server)


WARM = "hitos server worker --pool hitos"
"""The guide's worker: Hitos' flows in one warm process (``flows/warm_worker.py``)."""
PROCESS = "prefect worker start --pool hitos"
"""Prefect's process worker, a new interpreter per run (the guide's alternative)."""


@contextmanager
def workers(
    api: PrefectApi,
    machines: Mapping[str, tuple[Path, Mapping[str, str]]],
    kinds: Mapping[str, str] | None = None,
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """The guide's step 6 once per machine: ``name: (working folder, its HITOS_* settings)``;
    ``kinds`` gives a machine's worker command (default ``WARM``)."""
    started: dict[str, subprocess.Popen[bytes]] = {}
    since = datetime.now(UTC)
    try:
        for name, (folder, settings) in machines.items():
            folder.mkdir(parents=True, exist_ok=True)
            environment = {
                **api.environment,
                "HITOS_REPO": str(ROOT),
                **settings,
                "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_SECONDS),
                "PREFECT_WORKER_QUERY_SECONDS": "1",  # the process worker's 10 s poll, shortened
            }
            command = (kinds or {}).get(name, WARM)
            poll = ["--poll", "1"] if command == WARM else []
            started[name] = subprocess.Popen(
                [*readme(command), "--name", name, *poll],
                cwd=folder,
                env=environment,
                stdout=(folder / "worker.log").open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        api.wait_for_workers(set(started), since)
        yield started
    finally:
        for process in started.values():
            stop(process)
