"""A whole cycle on a real Prefect server, as README's "Running on a server" sets it up.

A ``prefect server start`` on a PostgreSQL database of its own (not the test harness), the
deployments made with the README's own commands, and two process workers whose ``HITOS_HOME``
differ (two disks): they share only the PostgreSQL ledger and the mail servers (aiosmtpd
receiving what Hitos sends, Dovecot serving the intake mailbox over IMAP). Every step is
started with ``prefect deployment run``; steps started twice at once must do their work once.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage, Message
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import func, select

from tasks.cycle.deadlines import add_business_days
from tasks.plans.plan import Plan
from tasks.settings import Settings
from tasks.simulation import CARELESS, SILENT, filled_workbook
from tasks.storage.ledger import (
    Cycle,
    Email,
    FindingRow,
    MilestoneValue,
    Report,
    Request,
    Submission,
    engine,
    session,
)
from tests.conftest import RecordingHandler
from tests.dovecot import Dovecot
from tests.network import free_port
from tests.test_ledger_backends import SERVER, postgres_url  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
README = (ROOT / "README.md").read_text(encoding="utf-8")
CYCLE = "2023-03"
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
RUN_TIMEOUT = 150.0


def readme(command: str) -> list[str]:
    """A command exactly as the README gives it, as arguments for the checkout's tools."""
    assert command in README, f"README no longer says: {command}"
    program, *arguments = shlex.split(command)
    return [str(BIN / program), *arguments]


def plain_environment() -> dict[str, str]:
    """This process's environment without its Prefect or Hitos settings (a clean machine)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "HITOS_"))}


def stop(process: subprocess.Popen[bytes]) -> None:
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


@dataclass
class PrefectApi:
    url: str
    environment: dict[str, str]
    """What every client and worker needs: PREFECT_HOME and PREFECT_API_URL (README, step 4)."""

    def cli(self, command: str, *extra: str) -> str:
        done = subprocess.run(
            [*readme(command), *extra],
            cwd=ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
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
            assert run.returncode == 0, output
            found = re.search(r"UUID: ([0-9a-f-]{36})", output)
            assert found, output
            ids.append(found.group(1))
        return ids

    def run(self, deployment: str, *parameters: str) -> str:
        return self.started(self.start(deployment, *parameters))[0]

    def flow_run(self, run_id: str) -> dict:
        return httpx.get(f"{self.url}/flow_runs/{run_id}", timeout=30).json()

    def wait(self, *run_ids: str) -> list[str]:
        """Each run's final state type, once all have finished."""
        deadline = time.monotonic() + RUN_TIMEOUT
        states: dict[str, str] = {}
        while time.monotonic() < deadline and len(states) < len(run_ids):
            for run_id in run_ids:
                state = self.flow_run(run_id)["state"]
                if state["type"] in TERMINAL:
                    states[run_id] = state["type"]
            time.sleep(0.5)
        return [states.get(run_id, "TIMED OUT") for run_id in run_ids]

    def crash(self, run_id: str) -> None:
        """What an operator does in the UI for a run whose worker died: mark it Crashed."""
        response = httpx.post(
            f"{self.url}/flow_runs/{run_id}/set_state",
            json={"state": {"type": "CRASHED", "message": "worker killed"}, "force": True},
            timeout=30,
        )
        response.raise_for_status()


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory) -> Iterator[PrefectApi]:
    """README steps 3 to 5: the server on PostgreSQL, the work pool, the deployments."""
    name = f"hitos_prefect_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(SERVER, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {SERVER}: {exc}")
        pytest.skip(f"PostgreSQL is not reachable at {SERVER}")
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    base = {
        **plain_environment(),
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    database = SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    server_environment = {
        **base,
        "PREFECT_API_DATABASE_CONNECTION_URL": f"{database}/{name}",
        # A queued run (ENQUEUE) retries for its slot every 30 s by default: 1 s here.
        "PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS": "1",
        # The test starts every run itself: no scheduled intake joins in every 15 minutes.
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    }
    admin.execute(f'CREATE DATABASE "{name}"')
    log = (home / "server.log").open("wb")
    start = readme("prefect server start --host 0.0.0.0 --port 4200")[:-4]
    server = subprocess.Popen(
        [*start, "--host", "127.0.0.1", "--port", str(port)],  # loopback, a free port
        env=server_environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = PrefectApi(
        f"http://127.0.0.1:{port}/api", {**base, "PREFECT_API_URL": f"http://127.0.0.1:{port}/api"}
    )
    try:
        _wait_healthy(api.url, server)
        api.cli("prefect work-pool create hitos --type process")
        api.cli("prefect --no-prompt deploy --all")
        yield api
    finally:
        stop(server)
        log.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _wait_healthy(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, "prefect server start exited"
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail("the Prefect server did not answer within 120 s")


@dataclass
class Site:
    """Two worker machines' worth of settings around one ledger and one pair of mail servers."""

    api: PrefectApi
    ledger: Settings
    workers: dict[str, subprocess.Popen[bytes]]
    smtp: RecordingHandler
    dovecot: Dovecot


@contextmanager
def workers(
    api: PrefectApi, ledger: Settings, dovecot: Dovecot, folder: Path
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """README step 6, twice: each worker with its own workspace and its own working folder."""
    started: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in ("east", "west"):
            home = folder / name
            home.mkdir()
            environment = {
                **api.environment,
                "HITOS_REPO": str(ROOT),
                "HITOS_HOME": str(home / "hitos"),
                "HITOS_DATABASE_URL": ledger.database,
                "HITOS_SMTP_PORT": str(ledger.smtp_port),
                "HITOS_INBOX": "imap",
                "HITOS_IMAP_HOST": dovecot.host,
                "HITOS_IMAP_PORT": str(dovecot.port),
                "HITOS_IMAP_SSL": "false",
                "HITOS_IMAP_USER": dovecot.user,
                "HITOS_IMAP_PASSWORD": dovecot.password,
                "PREFECT_WORKER_QUERY_SECONDS": "1",  # the default 10 s poll, shortened
            }
            started[name] = subprocess.Popen(
                [*readme("prefect worker start --pool hitos"), "--name", name],
                cwd=home,
                env=environment,
                stdout=(home / "worker.log").open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        yield started
    finally:
        for process in started.values():
            stop(process)


@pytest.fixture
def site(prefect_api, settings, postgres_url, smtp, dovecot, tmp_path) -> Iterator[Site]:  # noqa: F811
    ledger = settings.model_copy(update={"database_url": postgres_url})
    engine(ledger.database)  # the tables, before two workers race to make them
    with workers(prefect_api, ledger, dovecot, tmp_path) as running:
        yield Site(prefect_api, ledger, running, smtp, dovecot)


def attachment(message: Message) -> bytes:
    [part] = [p for p in message.walk() if p.get_filename()]
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return data


def institutions_answer(site: Site, plan: Plan, folder: Path) -> list[str]:
    """Each institution but the silent one mails back its filled request workbook (IMAP)."""
    answered = []
    for institution in plan.reporting_institutions():
        if institution.code == SILENT:
            continue
        [request] = [
            m for m in site.smtp.to(institution.liaison.email) if "Solicitud" in m["Subject"]
        ]
        received = folder / f"{institution.code}.xlsx"
        received.write_bytes(attachment(request))
        answer = EmailMessage()
        answer["From"] = institution.liaison.email
        answer["To"] = site.ledger.sender
        answer["Subject"] = f"RE: {request['Subject']}"
        answer["Message-ID"] = f"<answer-{institution.code}@{institution.code.lower()}.example>"
        answer.set_content("Adjunto el reporte de avances.")
        answer.add_attachment(
            filled_workbook(received, institution.code, careless=institution.code == CARELESS),
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename=f"avances-{institution.code}.xlsx",
        )
        site.dovecot.deliver(answer.as_bytes())
        answered.append(institution.code)
    return answered


def count(settings: Settings, *where) -> int:  # type: ignore[no-untyped-def]
    with session(settings.database) as db:
        return int(db.scalar(select(func.count()).where(*where)) or 0)


def emails_by_kind(site: Site) -> dict[str, int]:
    with session(site.ledger.database) as db:
        return dict(Counter(e.kind for e in db.scalars(select(Email))))


def assert_mail_sent_once(site: Site) -> None:
    """Every email the ledger sent reached the SMTP server once, and nothing else did."""
    with session(site.ledger.database) as db:
        sent = sorted(db.scalars(select(Email.message_id).where(Email.status == "sent")))
    received = sorted(m["Message-ID"] for _, m in site.smtp.messages)
    assert received == sent


def assert_validated_once(site: Site, answered: list[str]) -> None:
    with session(site.ledger.database) as db:
        subs = db.scalars(select(Submission)).all()
        findings = db.execute(
            select(
                FindingRow.submission_id, FindingRow.milestone, FindingRow.column, FindingRow.rule
            )
        ).all()
        values = db.execute(select(MilestoneValue.submission_id, MilestoneValue.milestone)).all()
    assert sorted(str(s.institution) for s in subs) == sorted(answered)
    assert all(s.outcome != "received" and s.version == 1 for s in subs)
    assert findings and len(findings) == len(set(findings)), "a finding recorded twice"
    assert values and len(values) == len(set(values)), "a value recorded twice"


def ancestors(pid: int) -> set[int]:
    """The process's parents, up to init (from /proc)."""
    found = set()
    while pid > 1:
        pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        found.add(pid)
    return found


def reminder_day(site: Site, plan: Plan) -> str:
    with session(site.ledger.database) as db:
        cycle = db.get(Cycle, ("gt-pan5", CYCLE))
        assert cycle is not None
    return add_business_days(cycle.deadline, -2, plan.country).isoformat()


def test_a_cycle_through_deployments_on_two_workers_does_each_thing_once(site, plan, tmp_path):
    api = site.api
    institutions = len(plan.reporting_institutions())

    assert api.wait(api.run("hitos.open-cycle/open-cycle", f"cycle_id={CYCLE}")) == ["COMPLETED"]
    assert count(site.ledger, Request.cycle_id == CYCLE) == institutions

    answered = institutions_answer(site, plan, tmp_path)
    intakes = api.started(api.start("hitos.intake/intake"), api.start("hitos.intake/intake"))
    assert api.wait(*intakes) == ["COMPLETED", "COMPLETED"]

    remind = api.run("hitos.remind/remind", f"today={reminder_day(site, plan)}")
    assert api.wait(remind) == ["COMPLETED"]

    consolidations = api.started(
        api.start("hitos.consolidate/consolidate"), api.start("hitos.consolidate/consolidate")
    )
    assert api.wait(*consolidations) == ["COMPLETED", "COMPLETED"]

    assert_validated_once(site, answered)
    with session(site.ledger.database) as db:
        assert db.scalars(select(Report.version).where(Report.cycle_id == CYCLE)).all() == [1]
    assert emails_by_kind(site) == {
        "request": institutions,
        "reply": len(answered),
        "reminder": 2,  # the silent institution and the one whose file was rejected
        "notice": 1,  # a draft awaits the director's approval (published only by hitos publish)
    }
    assert_mail_sent_once(site)
    assert len(site.smtp.to(plan.coordinator.director.email)) == 1
    assert site.dovecot.message_ids("INBOX") == []


def test_a_worker_killed_during_intake_leaves_the_work_to_the_next_run(site, plan, tmp_path):
    api = site.api
    assert api.wait(api.run("hitos.open-cycle/open-cycle", f"cycle_id={CYCLE}")) == ["COMPLETED"]
    answered = institutions_answer(site, plan, tmp_path)

    doomed = api.run("hitos.intake/intake")
    claimed = (Submission.claim != "", Submission.outcome == "received")
    deadline = time.monotonic() + RUN_TIMEOUT
    while count(site.ledger, *claimed) == 0:  # the files are stored and being validated
        assert time.monotonic() < deadline, "the intake never claimed its files"
        time.sleep(0.05)
    run_pid = int(str(api.flow_run(doomed)["infrastructure_pid"]).rsplit(":", 1)[-1])
    [worker] = [w for w in site.workers.values() if w.pid in ancestors(run_pid)]
    os.kill(run_pid, signal.SIGKILL)  # the machine dies: its worker and the run it started
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)
    api.crash(doomed)
    assert count(site.ledger, Submission.outcome == "received") > 0

    assert api.wait(api.run("hitos.intake/intake")) == ["COMPLETED"]

    assert_validated_once(site, answered)
    assert emails_by_kind(site)["reply"] == len(answered)
    assert_mail_sent_once(site)
