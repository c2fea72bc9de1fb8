"""What an operator relies on around the deployments: alerts, closing cycles, ports, make."""

from __future__ import annotations

import importlib
import os
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from hitos_cli import app
from tasks.cycle.closing import close_due_cycles, closing_day
from tasks.cycle.reminders import reminder_email, reminder_points
from tasks.cycle.requests import build_request, open_cycle_record
from tasks.publication.publishing import current_cycle
from tasks.settings import Settings
from tasks.storage.ledger import Cycle, session

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cycle(settings, plan):
    """The March 2023 cycle, opened on Wednesday 1 March: the deadline is Wednesday 15 March."""
    cycle = open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    for institution in plan.reporting_institutions():
        build_request(settings, plan, cycle, institution)
    return cycle


def state(settings, cycle_id: str) -> str:
    with session(settings.database) as db:
        found = db.get(Cycle, (settings.plan_id, cycle_id))
        assert found is not None
        return found.state


def deployed_flows():
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    for deployment in config["deployments"]:
        path, name = deployment["entrypoint"].split(":")
        yield getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), name)


def test_every_deployed_flow_tells_the_operator_when_it_fails_or_crashes():
    from flows import notify_operator

    for flow in deployed_flows():
        assert flow.on_failure_hooks == [notify_operator], flow.name
        assert flow.on_crashed_hooks == [notify_operator], flow.name


@pytest.mark.slow
def test_a_failed_flow_run_emails_the_operator_in_english(
    prefect_server, settings, smtp, monkeypatch
):
    from flows.consolidate import consolidate

    monkeypatch.setenv("HITOS_HOME", str(settings.home))
    monkeypatch.setenv("HITOS_SMTP_PORT", str(settings.smtp_port))
    monkeypatch.setenv("HITOS_OPERATOR_EMAIL", "operaciones@gae.example")
    with pytest.raises(ValueError, match="cycle gt-pan5/2099-03 does not exist"):
        consolidate("2099-03")

    [alert] = smtp.to("operaciones@gae.example")
    assert alert["Subject"].startswith("[Hitos] hitos.consolidate failed: ")
    text = next(p for p in alert.walk() if p.get_content_type() == "text/plain").get_content()
    assert "cycle gt-pan5/2099-03 does not exist" in text
    assert "Parameters: cycle_id=2099-03" in text
    assert len(smtp.messages) == 1  # the director heard nothing


def test_closing_a_cycle_by_hand_stops_its_reminders(settings, plan, cycle, monkeypatch):
    from flows.remind import open_cycles

    monkeypatch.setenv("HITOS_HOME", str(settings.home))
    result = CliRunner().invoke(app, ["cycle", "close", "2023-03"])

    assert result.exit_code == 0, result.output
    assert "Cycle gt-pan5/2023-03 closed" in result.output
    assert state(settings, "2023-03") == "closed"
    assert open_cycles(settings, plan, "") == []  # what the remind flow reminds


def test_closing_a_cycle_that_does_not_exist_says_so_without_a_traceback(settings, monkeypatch):
    monkeypatch.setenv("HITOS_HOME", str(settings.home))
    result = CliRunner().invoke(app, ["cycle", "close", "2031-03"])

    assert result.exit_code == 2
    assert "cycle gt-pan5/2031-03 does not exist" in result.output
    assert "Traceback" not in result.output


def test_late_reminders_end_before_the_closing_day_and_the_cycle_then_closes(settings, plan, cycle):
    closes = closing_day(settings, plan, cycle)
    assert closes == date(2023, 4, 5)  # 15 business days after Wednesday 15 March
    year_later = date(2024, 3, 1)

    points = reminder_points(settings, plan, cycle, year_later)
    assert points[-1] < closes
    assert points == reminder_points(settings, plan, cycle, closes)
    assert close_due_cycles(settings, plan, date(2023, 4, 4)) == []
    assert close_due_cycles(settings, plan, closes) == ["2023-03"]
    assert state(settings, "2023-03") == "closed"


def test_no_reminder_is_due_on_or_after_the_closing_day(settings, plan, cycle):
    closes = closing_day(settings, plan, cycle)
    marn = plan.institution("MARN")
    before = reminder_email(settings, plan, cycle, marn, closes)
    later = reminder_email(settings, plan, cycle, marn, date(2024, 3, 1))
    assert before is not None and later is not None
    assert before.key == later.key  # the last reminder is never followed by another


def test_consolidation_without_a_cycle_takes_the_newest_one(settings, plan, cycle):
    with pytest.raises(ValueError, match="plan gt-pan5 has no cycle yet"):
        current_cycle(Settings(home=settings.home / "empty", plan=settings.plan))
    assert current_cycle(settings) == "2023-03"
    open_cycle_record(settings, plan, "2023-08", date(2023, 8, 1))
    assert current_cycle(settings) == "2023-08"


def test_the_temporary_prefect_server_never_takes_a_port_hitos_uses(settings, monkeypatch):
    from prefect.server.api.server import SubprocessASGIServer

    from flows import embedded_server_off_hitos_ports

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setattr(SubprocessASGIServer, "_port_range", range(8025, 8026))
    monkeypatch.setattr(SubprocessASGIServer, "_instances", {})
    embedded_server_off_hitos_ports(settings)

    chosen = SubprocessASGIServer()  # what Prefect's clients ask for
    assert chosen.port is not None
    assert chosen.port not in {8025, settings.smtp_port, settings.imap_port}


def test_make_demo_keeps_prefects_state_in_the_given_workspace_and_creates_it(tmp_path):
    anywhere = tmp_path / "anywhere"
    environment = {k: v for k, v in os.environ.items() if k != "PREFECT_HOME"}
    environment["HITOS_HOME"] = str(anywhere)

    def make(*arguments: str) -> str:
        done = subprocess.run(
            ["make", "-s", "-C", str(ROOT), *arguments],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    planned = make("-n", "demo").splitlines()
    assert planned[-2:] == [f'mkdir -p "{anywhere}/prefect"', ".venv/bin/hitos demo"]
    make("prefect-home")
    assert (anywhere / "prefect").is_dir()


def test_the_silent_run_automation_waits_three_heartbeats_before_crashing_a_run(monkeypatch):
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger
    from prefect.settings import temporary_settings
    from prefect.settings.models.root import Settings as PrefectSettings

    from flows.automations import crash_silent_runs, default_grace

    monkeypatch.delenv("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", raising=False)
    monkeypatch.delenv("PREFECT_RUNNER_HEARTBEAT_FREQUENCY", raising=False)
    assert PrefectSettings().flows.heartbeat_frequency == 180  # Prefect's default
    assert default_grace() == 540
    with temporary_settings(updates={"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": 30}):
        assert default_grace() == 90
    automation = crash_silent_runs(90)
    trigger = automation.trigger
    assert isinstance(trigger, EventTrigger)
    assert trigger.within == timedelta(seconds=90)
    assert trigger.after == {"prefect.flow-run.heartbeat"}
    [action] = automation.actions
    assert isinstance(action, ChangeFlowRunState)
    assert action.state.value == "CRASHED"
    assert "90 s" in (action.message or "")


def test_server_setup_refuses_without_a_server_address(monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)

    result = CliRunner().invoke(app, ["server", "setup"])

    assert result.exit_code == 2
    assert "PREFECT_API_URL" in result.output


@pytest.mark.slow
def test_server_setup_again_keeps_its_trigger_and_marks_runs_already_silent(prefect_server):
    """`hitos server setup` run again (as the README says to, whenever the heartbeat changes):
    an unchanged automation keeps its trigger; a changed one crashes the runs already silent
    instead of forgetting them."""
    import time

    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.states import Running

    from flows.automations import crash_silent_runs, install

    @flow(name="hitos.test-silent")
    def silent() -> None:
        """A run whose worker will be "killed": it reaches Running and is never heard again."""

    assert install(crash_silent_runs(600), 600) in ("created", "unchanged", "updated")
    assert install(crash_silent_runs(600), 600) == "unchanged"
    with get_client(sync_client=True) as client:
        run = client.create_flow_run(silent)
        client.set_flow_run_state(run.id, Running(), force=True)
        time.sleep(11)  # Prefect's shortest grace for a proactive trigger is 10 s

        assert install(crash_silent_runs(10), 10) == "updated (1 silent run(s) marked Crashed)"
        crashed = client.read_flow_run(run.id)
        assert crashed.state is not None and crashed.state.type == StateType.CRASHED
        assert install(crash_silent_runs(10), 10) == "unchanged"
