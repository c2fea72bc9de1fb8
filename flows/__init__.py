"""Prefect flows: one per step of a cycle, each a table of contents of its tasks."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from tasks.plans.plan import Plan
from tasks.settings import Settings

BATCH = 50
"""Institutions per task run where a flow does the same work for each one.

A Prefect task run costs 7–75 ms of orchestration on the project's machines (more while the
local server ingests a big flow's events); two runs per institution were 166 ms of overhead per
institution at 1,000 institutions. One run per 50 institutions keeps that under 2 ms each,
and each run's name still says which institutions it covers.
"""

T = TypeVar("T")

PROGRESS = logging.getLogger("hitos.progress")
"""Each step announces its name here as it starts (INFO); ``hitos`` shows it on its status line
(nothing listens otherwise, and Prefect's logging drops INFO outside a run's logger)."""


def embedded_server_off_hitos_ports(settings: Settings) -> None:
    """Choose the port of Prefect's temporary local server, away from the ports Hitos uses.

    Without ``PREFECT_API_URL`` every process starts a temporary server on a random port in
    8000-8999, which once took 8025, the embedded SMTP server's. Prefect has no setting for that
    port; its own test harness registers the server it wants as the default instance, and so
    does this (only when no server is configured and none is registered yet).
    """
    if os.environ.get("PREFECT_API_URL"):
        return
    from prefect.server.api.server import SubprocessASGIServer

    if SubprocessASGIServer._instances.get(None) is not None:
        return
    taken = {8025, settings.smtp_port, settings.imap_port}
    port = next(p for p in iter(_free_port, 0) if p not in taken)
    SubprocessASGIServer._instances[None] = SubprocessASGIServer(port=port)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


embedded_server_off_hitos_ports(Settings())


class Step:
    """A Prefect task that hands the plan and the settings to its function untouched.

    Prefect walks every argument of a task call, recursively, looking for futures and states
    to wait on; for a plan of 20,000 milestones that walk took 0.5 s per call at 2,000
    milestones and grew with the plan, paid twice per institution when opening a cycle.
    Neither the plan nor the settings ever hold a future, so they are passed ``quote``d:
    Prefect does not look inside them and the function receives them as they are.
    """

    def __init__(self, task: Any) -> None:
        self.task = task

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        PROGRESS.info(self.task.name)
        return self.task(
            *(_opaque(a) for a in args), **{name: _opaque(v) for name, v in kwargs.items()}
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.task, name)


def _opaque(value: Any) -> Any:
    return quote(value) if isinstance(value, Plan | Settings) else value


def settings_on(plan: str) -> Settings:
    """The settings of a run on ``plan`` (its id or its file; empty: ``HITOS_PLAN``'s): every
    flow takes a ``plan`` parameter, so one deployment serves every plan of the ledger."""
    from tasks.checks.boundaries import on_plan

    return on_plan(Settings(), plan)


def batches(items: Sequence[T], size: int = BATCH) -> list[list[T]]:
    """The items in consecutive batches of at most ``size``."""
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def batch_run_name(prefix: str) -> Callable[..., str]:
    """A task-run name for a batch of institutions: ``requests-2023-03-GAE…SESAN``."""

    def name(parameters: dict[str, Any]) -> str:
        codes = [i.code for i in parameters["institutions"]]
        span = f"{codes[0]}…{codes[-1]}" if len(codes) > 1 else "".join(codes)
        return f"{prefix}-{parameters['cycle'].id}-{span}"

    return name


def step(
    fn: Callable[..., Any],
    name: str,
    run_name: str | Callable[..., str] | None = None,
    retries: int = 0,
) -> Any:
    """A plain function from ``tasks/`` as a Prefect task: named for the audit log, never cached.

    Only steps that touch the network get retries (with growing delays); the ledger makes every
    step safe to repeat.
    """
    decorate: Any = task
    return Step(
        decorate(
            fn,
            name=name,
            task_run_name=run_name or name,
            cache_policy=NO_CACHE,
            retries=retries,
            retry_delay_seconds=[2, 10, 30][:retries] or 0,
        )
    )


def notify_operator(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect state hook (``on_failure``, ``on_crashed``): email the operator about the run.

    Runs in the flow run's own process; if mail itself is what failed, Prefect logs this
    hook's error beside the run's.
    """
    from prefect.settings import get_current_settings

    from tasks.mail.outgoing import send_all
    from tasks.operations.alerts import run_failed_email
    from tasks.plans.plan import load_plan

    settings = Settings()
    ui = get_current_settings().ui_url or ""
    mail = run_failed_email(
        settings,
        load_plan(settings.plan),
        flow=flow.name,
        run_id=str(flow_run.id),
        run_name=flow_run.name,
        state=state.type.value,
        message=state.message or "",
        parameters=dict(flow_run.parameters or {}),
        url=f"{ui.rstrip('/')}/runs/flow-run/{flow_run.id}" if ui else "",
    )
    send_all(settings, [mail])


ALERTS: dict[str, Any] = {"on_failure": [notify_operator], "on_crashed": [notify_operator]}
"""State hooks every deployed flow gets: ``@flow(..., **ALERTS)``."""
