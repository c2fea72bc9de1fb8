"""A worker that keeps its process warm: ``hitos server worker``.

A process worker starts a new interpreter for every flow run (``python -m prefect.engine``),
which imports Prefect, pandas, SQLAlchemy and, for intake, Great Expectations again: 30 s or
more of every run on a loaded 2-core machine, seconds of work after it (BENCHMARKS.md, issue
#26). This worker is Prefect's own process worker (same pool type, same claiming, heartbeats,
events and logs) with one change: a run of one of Hitos' own flows runs in the worker's memory,
on a thread of its own, with the flows, the catalogues and Great Expectations' checkpoint
imported and built once when the worker starts. Anything else (a flow from another checkout)
runs in a new process exactly as the process worker would run it.

What a fresh process gave for free, and how it is kept: one run at a time per worker (``limit``
1; a second run waits for it or is taken by another worker); settings read per run from the
environment (each flow builds its own ``Settings``); the deployments' pull step (``cd
$HITOS_REPO``) done once at start. What it does not give: a run already *Running* in a warm
worker cannot be cancelled from the UI (nothing can stop a thread); it ends by itself, and a
killed worker's run is crashed by the heartbeat automation as any other.
"""

from __future__ import annotations

import abc
import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
from prefect.workers.process import ProcessJobConfiguration, ProcessWorker, ProcessWorkerResult

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun
    from prefect.flows import Flow

CHECKOUT = Path(__file__).resolve().parent.parent
"""The checkout these flows were imported from; only its entry points run warm."""

FLOWS = ("flows.open_cycle", "flows.intake", "flows.remind", "flows.consolidate")
"""The deployments' modules (``prefect.yaml``), imported when the worker starts."""


def module_of(entrypoint: str) -> tuple[str, str] | None:
    """``flows/intake.py:intake`` → ``("flows.intake", "intake")`` when the file is one of this
    checkout's modules; ``None`` for anything else (it runs in a process of its own)."""
    path, _, name = entrypoint.rpartition(":")
    if not path.endswith(".py") or not name:
        return None
    file = (CHECKOUT / path).resolve()
    if not file.is_file() or not file.is_relative_to(CHECKOUT):
        return None
    return ".".join(file.relative_to(CHECKOUT).with_suffix("").parts), name


def warm_up() -> None:
    """What every run would otherwise pay first: the flows' imports and the checkpoint in each
    language (a worker may serve plans in either)."""
    from tasks.catalogues import LANGUAGES
    from tasks.checks.validation import checkpoint

    for module in FLOWS:
        importlib.import_module(module)
    for language in LANGUAGES:
        checkpoint(language)


def run_here(flow_run: FlowRun, module: str, name: str) -> int:
    """Run one flow run in this process, as ``python -m prefect.engine`` would in a new one.

    The engine reports every state itself (Running, then Completed, Failed or Crashed); the
    exit code only tells the worker whether a run ended without the engine saying so.
    """
    from prefect.client.schemas.objects import State
    from prefect.flow_engine import flow_run_logger, run_flow

    logger = flow_run_logger(flow_run=flow_run)
    flow: Flow[..., Any] = getattr(importlib.import_module(module), name)
    try:
        state = run_flow(  # the run's logger, as prefect.engine passes it
            flow,
            flow_run=flow_run,
            return_type="state",
            error_logger=logger,  # type: ignore[arg-type]
        )
    except BaseException:  # the engine has already reported the state it could
        logger.exception("The flow run ended without a final state")
        return 1
    return 0 if isinstance(state, State) and state.is_final() else 1


class WarmWorker(ProcessWorker, abc.ABC):
    """Prefect's process worker, running this checkout's flows in its own memory.

    ``abc.ABC`` among its bases keeps it out of Prefect's registry of worker types, where it
    would replace the process worker under the pool type ``process`` for the whole process.
    """

    _description = "Runs Hitos' flows in a warm process (one run at a time)."

    def __init__(self, work_pool_name: str, name: str | None = None) -> None:
        # One run at a time: the worker claims no second run while one is in its memory.
        super().__init__(
            work_pool_name=work_pool_name, name=name, limit=1, create_pool_if_not_found=False
        )

    async def run(
        self,
        flow_run: FlowRun,
        configuration: ProcessJobConfiguration,
        task_status: anyio.abc.TaskStatus[int] | None = None,
    ) -> ProcessWorkerResult:
        target = await self._entrypoint(flow_run)
        if target is None:
            return await super().run(flow_run, configuration, task_status)
        if task_status is not None:
            task_status.started(os.getpid())
        code = await anyio.to_thread.run_sync(run_here, flow_run, *target)
        return ProcessWorkerResult(status_code=code, identifier=str(os.getpid()))

    async def _entrypoint(self, flow_run: FlowRun) -> tuple[str, str] | None:
        if flow_run.deployment_id is None:
            return None
        deployment = await self.client.read_deployment(flow_run.deployment_id)
        return module_of(deployment.entrypoint or "")


async def serve(pool: str, name: str | None) -> None:
    """Poll ``pool`` until stopped, one run at a time (Ctrl-C or SIGTERM stops it)."""
    await WarmWorker(pool, name).start(printer=lambda *_: None)
