"""Intake in a child process that kills itself (SIGKILL) at a chosen point of the batch.

Used by tests/test_intake_crash.py: the process dies for real, mid-batch, with nothing flushed
or cleaned up; only the moment is chosen, by wrapping one function of the intake or mail module.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from tasks.intake import record as intake_record
from tasks.intake import store as intake_store
from tasks.intake.process import process
from tasks.intake.replies import unanswered
from tasks.intake.store import store_all
from tasks.mail import outgoing as mail
from tasks.mail.outgoing import send_all
from tasks.plans.plan import load_plan
from tasks.settings import Settings

BATCH = 3
"""Messages stored and outcomes recorded per transaction here, so ten messages make four."""

POINTS: dict[str, tuple[Any, str, bool]] = {
    # point: (module or class, function, die before the call instead of after it)
    "stored": (intake_store, "store", False),  # a batch of messages stored, not yet marked done
    "recorded": (intake_record, "record", False),  # a batch of outcomes committed
    "delivering": (mail.Mailer, "deliver", True),
}


def die_at(point: str, calls: int) -> None:
    """Kill this process at the ``calls``-th call of the point's function."""
    owner, name, before = POINTS[point]
    original: Callable[..., Any] = getattr(owner, name)
    count = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal count
        count += 1
        if before and count == calls:
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(*args, **kwargs)
        if not before and count == calls:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(owner, name, wrapper)


def main() -> None:
    intake_store.STORE_BATCH = intake_record.RECORD_BATCH = BATCH
    if len(sys.argv) == 3:
        die_at(sys.argv[1], int(sys.argv[2]))
    settings = Settings()
    plan = load_plan(settings.plan)
    store_all(settings)
    process(settings, plan)
    send_all(settings, unanswered(settings, plan))


if __name__ == "__main__":
    main()
