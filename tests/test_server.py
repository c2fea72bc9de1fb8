"""A whole cycle on a real Prefect server, as docs/server.md ("Running on a server") sets it up.

A ``prefect server start`` on a PostgreSQL database of its own (not the test harness), the
deployments made with that page's own commands, and two process workers whose ``HITOS_HOME``
differ (two disks): they share only the PostgreSQL ledger and the mail servers (aiosmtpd
receiving what Hitos sends, Dovecot serving the intake mailbox over IMAP). Every step is
started with ``prefect deployment run``; steps started twice at once must do their work once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage, Message
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import func, select

from bench.prefect_site import (
    HEARTBEAT_GRACE_SECONDS,
    HEARTBEAT_SECONDS,
    POSTGRES,
    PROCESS,
    RUN_TIMEOUT,
    PrefectApi,
    database,
    prefect_server,
    workers,
)
from tasks.core.calendar import add_business_days
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
from tests.test_ledger_backends import postgres_url  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow

CYCLE = "2023-03"


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory) -> Iterator[PrefectApi]:
    """docs/server.md, steps 3 to 5: the server on a PostgreSQL database of its own, the pool, the
    deployments, the automation for silent runs."""
    try:
        psycopg.connect(POSTGRES, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES}: {exc}")
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES}")
    with (
        database("hitos_prefect", "asyncpg") as url,
        prefect_server(tmp_path_factory.mktemp("prefect-home"), url) as api,
    ):
        yield api


@dataclass
class Site:
    """Two worker machines' worth of settings around one ledger and one pair of mail servers."""

    api: PrefectApi
    ledger: Settings
    workers: dict[str, subprocess.Popen[bytes]]
    smtp: RecordingHandler
    dovecot: Dovecot


def machines(ledger: Settings, dovecot: Dovecot, folder: Path) -> dict[str, tuple[Path, dict]]:
    """Two worker machines: each its own workspace (disk), the same ledger and mail servers."""
    return {
        name: (
            folder / name,
            {
                "HITOS_HOME": str(folder / name / "hitos"),
                "HITOS_DATABASE_URL": ledger.database,
                "HITOS_SMTP_PORT": str(ledger.smtp_port),
                "HITOS_INBOX": "imap",
                "HITOS_IMAP_HOST": dovecot.host,
                "HITOS_IMAP_PORT": str(dovecot.port),
                "HITOS_IMAP_SSL": "false",
                "HITOS_IMAP_USER": dovecot.user,
                "HITOS_IMAP_PASSWORD": dovecot.password,
            },
        )
        for name in ("east", "west")
    }


@pytest.fixture
def site(request, prefect_api, settings, postgres_url, smtp, dovecot, tmp_path) -> Iterator[Site]:
    """Two machines with the guide's warm worker each, or (``indirect`` ``{"west": PROCESS}``)
    one of them with Prefect's process worker."""
    ledger = settings.model_copy(update={"database_url": postgres_url})
    engine(ledger.database)  # the tables, before two workers race to make them
    kinds = getattr(request, "param", None)
    with workers(prefect_api, machines(ledger, dovecot, tmp_path), kinds) as running:
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
    # Every run ran inside a warm worker's own process, none in a process started for it.
    pids = {str(worker.pid) for worker in site.workers.values()}
    for run_id in [*intakes, remind, *consolidations]:
        assert run_pid(api, run_id) in pids


def run_pid(api: PrefectApi, run_id: str) -> str:
    """The process a run ran in, as its worker reported it."""
    return str(api.flow_run(run_id)["infrastructure_pid"]).rsplit(":", 1)[-1]


@pytest.mark.parametrize("site", [{"west": PROCESS}], indirect=True)
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
    # East's warm worker runs it in its own process, west's process worker in a child.
    doomed_pid = int(run_pid(api, doomed))
    [worker] = [w for w in site.workers.values() if w.pid in {doomed_pid, *ancestors(doomed_pid)}]
    os.kill(doomed_pid, signal.SIGKILL)  # the machine dies: its worker and the run it started
    with contextlib.suppress(ProcessLookupError):  # a warm worker is gone already
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)
    assert count(site.ledger, Submission.outcome == "received") > 0
    # Started now, the next intake waits for the dead run's slot (one intake at a time).
    following = api.run("hitos.intake/intake")

    # Nobody marks the dead run: the heartbeats stop, hitos server setup's automation crashes it.
    silence = HEARTBEAT_SECONDS + HEARTBEAT_GRACE_SECONDS + 30
    assert api.wait(doomed, timeout=silence) == ["CRASHED"]
    assert "heartbeat" in api.flow_run(doomed)["state"]["message"]
    assert api.wait(following) == ["COMPLETED"]

    assert_validated_once(site, answered)
    assert emails_by_kind(site)["reply"] == len(answered)
    assert_mail_sent_once(site)


def test_setting_up_the_server_again_keeps_one_automation(prefect_api):
    prefect_api.cli("hitos server setup", "--grace", str(HEARTBEAT_GRACE_SECONDS))

    found = httpx.post(f"{prefect_api.url}/automations/filter", json={}, timeout=30).json()
    assert [a["name"] for a in found] == ["hitos: crash flow runs whose heartbeats stopped"]
    assert found[0]["trigger"]["within"] == HEARTBEAT_GRACE_SECONDS
    assert found[0]["actions"][0]["state"] == "CRASHED"
