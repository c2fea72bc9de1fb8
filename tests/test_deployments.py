"""prefect.yaml: every entrypoint exists and every schedule runs when we say, in Guatemala time."""

from __future__ import annotations

import asyncio
import importlib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from prefect.server.schemas.schedules import CronSchedule

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


def test_every_schedule_is_in_guatemala_time():
    for deployment in deployments().values():
        for schedule in deployment["schedules"]:
            assert schedule["timezone"] == "America/Guatemala"


def test_open_cycle_runs_on_1_march_and_1_august_at_8_guatemala_time():
    first, second, third = next_runs("open-cycle", 3, datetime(2023, 1, 15, tzinfo=GUATEMALA))
    assert first == datetime(2023, 3, 1, 8, 0, tzinfo=GUATEMALA)
    assert second == datetime(2023, 8, 1, 8, 0, tzinfo=GUATEMALA)
    assert third == datetime(2024, 3, 1, 8, 0, tzinfo=GUATEMALA)
    assert str(first.utcoffset()) == "-1 day, 18:00:00"


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
