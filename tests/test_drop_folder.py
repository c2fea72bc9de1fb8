"""The drop folder: files an operator copies into ``.hitos/drop`` go through intake like mail."""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

from tasks.cycle.requests import open_cycle_record
from tasks.intake.process import process
from tasks.intake.store import store_all
from tasks.mail.inbox import DROP_SETTLE_SECONDS
from tasks.storage.ledger import Submission, session
from tests.test_intake_corpus import Context, plain_xlsx


def drop(settings, name: str, data: bytes, age: float = DROP_SETTLE_SECONDS + 5) -> Path:
    """A file in the drop folder, last changed ``age`` seconds ago."""
    path = settings.folder("drop") / name
    path.write_bytes(data)
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_a_dropped_workbook_is_stored_validated_and_moved_to_processed(settings, plan):
    open_cycle_record(settings, plan, "2023-03", date(2023, 3, 1))
    dropped = drop(settings, "avances-MINGOB.xlsx", plain_xlsx(Context(plan, b"").rows()))

    stored = store_all(settings)
    [outcome] = process(settings, plan)

    assert len(stored) == 1
    assert (outcome.institution, outcome.cycle, outcome.outcome) == (
        "MINGOB",
        "2023-03",
        "accepted",
    )
    assert not dropped.exists()
    assert (dropped.parent / "processed" / dropped.name).exists()
    with session(settings.database) as db:
        [sub] = db.query(Submission).all()
    assert (sub.channel, sub.filename) == ("drop", "avances-MINGOB.xlsx")


def test_a_file_still_being_copied_waits_for_the_next_run(settings):
    copying = drop(settings, "avances.xlsx", b"PK\x03\x04 half of a workbook", age=0)

    assert store_all(settings) == []
    assert copying.exists()

    settled = time.time() - DROP_SETTLE_SECONDS - 1
    os.utime(copying, (settled, settled))
    assert len(store_all(settings)) == 1
    assert not copying.exists()


def test_lock_files_and_partial_copies_are_never_taken(settings):
    names = ["~$avances.xlsx", ".avances.xlsx.swp", "avances.xlsx.part", "descarga.crdownload"]
    for name in names:
        drop(settings, name, b"not finished")

    assert store_all(settings) == []
    assert sorted(p.name for p in settings.folder("drop").iterdir() if p.is_file()) == sorted(names)
