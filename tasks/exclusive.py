"""One intake at a time per workspace: a second run waits for the first instead of racing it.

Two intakes reading one Maildir both took the same message: the second crashed renaming a file
the first had already marked seen, or inserting a Message-ID the first had just stored. An
advisory lock on a file in the workspace serialises them (the second then finds nothing new);
on PostgreSQL with workers on several machines the ledger's unique keys still decide.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from tasks.settings import Settings


@contextmanager
def one_at_a_time(settings: Settings, name: str) -> Iterator[None]:
    """Hold the workspace's lock ``name`` for the block, waiting while another run holds it."""
    path = settings.folder("locks") / f"{name}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
