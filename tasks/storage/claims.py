"""Claims: which run holds a piece of work, and whether that run is still alive.

A run that takes work (a validator taking received files) writes its claim token on the rows.
A second run skips rows with a live claim; a claim whose run died (a worker killed mid-batch)
is taken over at once when the ledger can tell, else after ``claim_timeout_minutes``.

- PostgreSQL: the run holds a session advisory lock named by its token for as long as it
  works. The server drops the lock when the run's connection dies, whichever machine it ran
  on, so a missing lock is a dead run.
- SQLite (one machine by nature): the token names host and process; a process that no longer
  exists on this host is a dead run.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tasks.storage.ledger import engine

_PG = "pg:"


@contextmanager
def hold(url: str) -> Iterator[str]:
    """A claim token, alive until the block ends (or the process dies)."""
    eng = engine(url)
    if eng.dialect.name != "postgresql":
        yield f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(6)}"
        return
    key = secrets.randbits(62)
    with eng.connect() as connection:
        connection.execute(select(func.pg_advisory_lock(key)))
        connection.commit()
        try:
            yield f"{_PG}{key}"
        finally:
            connection.execute(select(func.pg_advisory_unlock(key)))
            connection.commit()


def dead(db: Session, tokens: Iterable[str]) -> set[str]:
    """The tokens among ``tokens`` whose run is known to have ended without releasing them."""
    tokens = {t for t in tokens if t}
    if db.get_bind().dialect.name == "postgresql":
        held = set(
            db.scalars(
                text(
                    "SELECT ((classid::bigint << 32) | objid::bigint) FROM pg_locks"
                    " WHERE locktype = 'advisory' AND objsubid = 1 AND granted"
                )
            )
        )
        return {t for t in tokens if t.startswith(_PG) and int(t[len(_PG) :]) not in held}
    here = socket.gethostname()
    return {t for t in tokens if t.count("/") == 2 and _gone(here, *t.split("/")[:2])}


def _gone(here: str, host: str, pid: str) -> bool:
    if host != here or not pid.isdigit():
        return False  # another machine's process: only the timeout can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
