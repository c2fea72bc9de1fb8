"""The automations a Prefect server needs for Hitos' deployments (``hitos server setup``).

A worker killed with its machine leaves its flow run *Running* for ever: nothing in the dead
process can report the crash, and the run keeps its deployment's concurrency slot. Prefect's
own answer ("Detect zombie flows"): every flow run sends a heartbeat event (each
``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` seconds, 180 by default, 30 at least), and an automation
marks a run *Crashed* when its heartbeats stop for longer than a grace period. Automations live
in the server's database, not in ``prefect.yaml``: this module writes them there, by name, so
running it again updates them instead of adding copies.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState
from prefect.events.filters import EventFilter, EventOccurredFilter, EventResourceFilter
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification
from prefect.settings import get_current_settings
from prefect.states import Crashed

from tasks.catalogues import text
from tasks.operations.alerts import OPERATORS

MISSED_HEARTBEATS = 3
"""Heartbeats a run may miss before it counts as dead (Prefect's rule of thumb)."""


def default_grace() -> int:
    """Seconds of silence before a run is crashed: three heartbeats at this machine's frequency."""
    frequency = get_current_settings().flows.heartbeat_frequency or 180
    return MISSED_HEARTBEATS * frequency


def crash_silent_runs(grace: int) -> AutomationCore:
    """After each heartbeat of a flow run, expect another event of that run (a heartbeat or a
    state change) within ``grace`` seconds; if none comes, mark the run Crashed."""
    return AutomationCore(
        name=text(OPERATORS, "automation.silent_runs.name"),
        description=text(OPERATORS, "automation.silent_runs.description", grace=grace),
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.*"},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=grace),
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message=text(OPERATORS, "automation.silent_runs.message", grace=grace),
            )
        ],
    )


def install(automation: AutomationCore, grace: int) -> str:
    """Create the automation on the server of ``PREFECT_API_URL``, or bring the one of the same
    name up to date: ``created``, ``unchanged`` or ``updated``.

    An automation left as it is keeps its trigger, and with it the runs it is already timing;
    a changed one starts timing afresh, so the runs already silent for ``grace`` seconds are
    marked Crashed at once (``crash_runs_already_silent``) rather than forgotten (seen: a run
    whose worker was killed just before a re-setup stayed Running for good).
    """
    with get_client(sync_client=True) as client:
        found = client.read_automations_by_name(automation.name)
        if not found:
            client.create_automation(automation)
            return "created"
        first, *copies = found
        for copy in copies:
            client.delete_automation(copy.id)
        if _same(first, automation):
            return "unchanged"
        client.update_automation(first.id, automation)
        crashed = crash_runs_already_silent(client, grace)
        return f"updated ({crashed} silent run(s) marked Crashed)" if crashed else "updated"


def _same(existing: AutomationCore, wanted: AutomationCore) -> bool:
    """The same trigger, actions and words (the server gives each trigger an id of its own)."""

    def described(automation: AutomationCore) -> object:
        return (
            automation.description,
            automation.trigger.model_dump(mode="json", exclude={"id"}),
            [action.model_dump(mode="json") for action in automation.actions],
        )

    return described(existing) == described(wanted)


def crash_runs_already_silent(client: SyncPrefectClient, grace: int) -> int:
    """Mark Crashed every Running flow run nothing was heard of (a heartbeat or any other event)
    for ``grace`` seconds; how many."""
    since = datetime.now(UTC) - timedelta(seconds=grace)
    running = client.read_flow_runs(
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING]))
        )
    )
    crashed = 0
    for run in running:
        heard = client.read_events(
            filter=EventFilter(
                occurred=EventOccurredFilter(since=since),
                resource=EventResourceFilter(id=[f"prefect.flow-run.{run.id}"]),
            ),
            limit=1,
        )
        if heard.total:
            continue
        message = text(OPERATORS, "automation.silent_runs.message", grace=grace)
        client.set_flow_run_state(run.id, Crashed(message=message), force=True)
        crashed += 1
    return crashed
