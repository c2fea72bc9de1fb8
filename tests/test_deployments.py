"""prefect.yaml: every entrypoint exists and every schedule runs when we say, in Guatemala time."""

from __future__ import annotations

import asyncio
import importlib
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from prefect.server.schemas.schedules import CronSchedule

from tasks.cycle.requests import is_opening_day

ROOT = Path(__file__).resolve().parent.parent
GUATEMALA = ZoneInfo("America/Guatemala")


def deployments() -> dict[str, dict]:
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    return {d["name"]: d for d in config["deployments"]}


def next_runs(name: str, count: int, start: datetime) -> list[datetime]:
    """The schedule's next runs as Prefect's scheduler computes them."""
    spec = deployments()[name]["schedules"][0]
    schedule = CronSchedule(cron=spec["cron"], timezone=spec["timezone"])
    return list(asyncio.run(schedule.get_dates(count, start=start)))


def test_every_entrypoint_is_an_importable_flow():
    for deployment in deployments().values():
        path, name = deployment["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, name)
        assert flow.name.startswith("hitos."), deployment["name"]


def test_the_warm_worker_runs_every_deployment_in_memory_and_anything_else_in_a_process():
    from flows.warm_worker import FLOWS, module_of

    for deployment in deployments().values():
        found = module_of(deployment["entrypoint"])
        assert found is not None and found[0] in FLOWS, deployment["name"]
    assert module_of("../elsewhere/flows/intake.py:intake") is None
    assert module_of("flows/missing.py:intake") is None
    assert module_of("flows/intake.py") is None


def test_the_warm_worker_leaves_prefects_process_worker_registered_as_process():
    from prefect.workers.base import BaseWorker
    from prefect.workers.process import ProcessWorker

    from flows.warm_worker import WarmWorker

    assert WarmWorker.type == "process"
    assert BaseWorker.get_worker_class_from_type("process") is ProcessWorker


def test_every_schedule_is_in_guatemala_time():
    for deployment in deployments().values():
        for schedule in deployment["schedules"]:
            assert schedule["timezone"] == "America/Guatemala"


def test_open_cycle_is_scheduled_the_first_week_of_march_and_august_at_8_guatemala_time():
    runs = next_runs("open-cycle", 8, datetime(2023, 1, 15, tzinfo=GUATEMALA))
    assert runs[0] == datetime(2023, 3, 1, 8, 0, tzinfo=GUATEMALA)
    assert runs[6] == datetime(2023, 3, 7, 8, 0, tzinfo=GUATEMALA)
    assert runs[7] == datetime(2023, 8, 1, 8, 0, tzinfo=GUATEMALA)
    assert str(runs[0].utcoffset()) == "-1 day, 18:00:00"
    assert deployments()["open-cycle"]["schedules"][0]["parameters"] == {
        "opening_day_only": True,
        "plan": "gt-pan5",
    }


def test_scheduled_open_cycle_acts_only_on_the_first_business_day_of_march_and_august(plan):
    opening = [
        day
        for month in (3, 8)
        for day in (date(2026, month, n) for n in range(1, 8))
        if is_opening_day(plan, day)
    ]
    assert opening == [date(2026, 3, 2), date(2026, 8, 3)]  # 1 March: Sunday; 1 August: Saturday
    assert not is_opening_day(plan, date(2026, 4, 1))


def test_every_deployment_runs_one_at_a_time_and_queues_the_next():
    for deployment in deployments().values():
        assert deployment["concurrency_limit"] == {"limit": 1, "collision_strategy": "ENQUEUE"}


def test_the_pull_step_names_the_checkout_without_jinja_filters():
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    [step] = config["pull"]
    directory = step["prefect.deployments.steps.set_working_directory"]["directory"]
    assert directory == "{{ $HITOS_REPO }}"  # placeholders take no filters (STACK.md)


def test_consolidation_defaults_to_the_cycle_being_reported():
    assert deployments()["consolidate"]["parameters"] == {"cycle_id": "", "plan": ""}


def test_every_flow_takes_a_plan_and_every_scheduled_plan_has_its_file():
    for deployment in deployments().values():
        path, name = deployment["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert "plan" in getattr(module, name).parameters.properties, deployment["name"]
        for schedule in deployment["schedules"]:
            if plan := schedule.get("parameters", {}).get("plan"):
                assert (ROOT / "plans" / f"{plan}.yaml").is_file(), deployment["name"]
    scheduled = {
        d["name"]: {s["parameters"]["plan"] for s in d["schedules"]}
        for d in deployments().values()
        if d["name"] in ("open-cycle", "remind")
    }
    assert scheduled == {"open-cycle": {"gt-pan5"}, "remind": {"gt-pan5"}}


def test_reminders_run_on_business_mornings_of_reporting_months():
    friday_noon = datetime(2023, 3, 3, 12, 0, tzinfo=GUATEMALA)
    monday, tuesday = next_runs("remind", 2, friday_noon)
    assert monday == datetime(2023, 3, 6, 9, 0, tzinfo=GUATEMALA)
    assert tuesday == datetime(2023, 3, 7, 9, 0, tzinfo=GUATEMALA)
    (may_first,) = next_runs("remind", 1, datetime(2023, 4, 29, tzinfo=GUATEMALA))
    assert may_first == datetime(2023, 8, 1, 9, 0, tzinfo=GUATEMALA)


def test_intake_runs_every_15_minutes_and_consolidation_only_on_demand():
    assert deployments()["intake"]["schedules"][0]["interval"] == 900
    assert deployments()["consolidate"]["schedules"] == []
