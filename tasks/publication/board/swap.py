"""How a new board replaces the old one: builds of a plan take turns, and the finished board is
swapped in by renaming a symbolic link, so a web server never serves half a board."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def one_build_at_a_time(root: Path, plan_id: str) -> Iterator[None]:
    """Serialise the plan's board builds on this workspace (two ``hitos board`` at once, or a
    publication during one): the second waits for the first, then builds from what it sees."""
    with (root / f".{plan_id}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def swap(built: Path, target: Path) -> None:
    """Point ``target`` (a symbolic link) at the new board in one atomic rename, then remove the
    boards no link points at: a web server serves the old board or the new one, never half of
    one, and never a missing folder in between."""
    link = built.with_name(f".{target.name}.link-{os.getpid()}")
    link.unlink(missing_ok=True)
    link.symlink_to(built.name)
    if target.is_dir() and not target.is_symlink():  # a board built before the links
        target.rename(built.with_name(f".{target.name}-before-links"))
    os.replace(link, target)
    for old in target.parent.glob(f".{target.name}-*"):
        if old.is_dir() and old.name != built.name:
            shutil.rmtree(old, ignore_errors=True)
