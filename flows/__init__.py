"""Prefect flows: one per step of a cycle, each a table of contents of its tasks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from tasks.plans import Plan
from tasks.settings import Settings


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
        return self.task(
            *(_opaque(a) for a in args), **{name: _opaque(v) for name, v in kwargs.items()}
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.task, name)


def _opaque(value: Any) -> Any:
    return quote(value) if isinstance(value, Plan | Settings) else value


def step(fn: Callable[..., Any], name: str, run_name: str | None = None, retries: int = 0) -> Any:
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
