"""Prefect flows: one per step of a cycle, each a table of contents of its tasks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE


def step(fn: Callable[..., Any], name: str, run_name: str | None = None, retries: int = 0) -> Any:
    """A plain function from ``tasks/`` as a Prefect task: named for the audit log, never cached.

    Only steps that touch the network get retries (with growing delays); the ledger makes every
    step safe to repeat.
    """
    decorate: Any = task
    return decorate(
        fn,
        name=name,
        task_run_name=run_name or name,
        cache_policy=NO_CACHE,
        retries=retries,
        retry_delay_seconds=[2, 10, 30][:retries] or 0,
    )
